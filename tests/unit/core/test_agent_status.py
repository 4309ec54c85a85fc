"""CTI login/logout and the status button (manual 2-1, 4) and the chosen-vs-driven rules."""

from __future__ import annotations

import pytest

from ringdesk.core.commands import Answer, CtiLogin, CtiLogout, EndCall, Hold, SetStatus
from ringdesk.core.errors import CoreError, IllegalAction, InvalidInput, NotFound
from ringdesk.core.events import AgentStatusChanged, OfferWithdrawn
from ringdesk.core.model import AgentConfig, AgentStatus, CtiSettings

from .harness import AGENTS, ALICE, BOB, Desk

BUSINESS, READY, REST = AgentStatus.BUSINESS, AgentStatus.READY, AgentStatus.REST


def test_cti_login_sets_default_login_status() -> None:
    desk = Desk()
    desk.do(CtiLogin(ALICE))
    assert desk.status(ALICE) == "business"
    changed = desk.of(AgentStatusChanged)[-1]
    assert (changed.agent_id, changed.status, changed.reason) == (ALICE, BUSINESS, "login")


def test_default_login_status_is_a_setting() -> None:
    desk = Desk(CtiSettings(default_login_status=READY))
    desk.reachable(ALICE)
    desk.do(CtiLogin(ALICE))
    assert desk.status(ALICE) == "ready"
    assert [a.agent_id for a in desk.engine.ready_agents()] == [ALICE]


def test_cti_login_without_cti_assignment_is_refused() -> None:
    desk = Desk(agents=[AgentConfig(ALICE, "Alice", None, None, frozenset({1}))])
    with pytest.raises(CoreError) as err:
        desk.do(CtiLogin(ALICE))
    assert err.value.code == "cti_not_assigned"
    assert type(err.value) is CoreError  # a refusal by the rules, not bad input
    assert desk.status(ALICE) == "logged_out"


def test_cti_login_without_phone_permission_is_refused() -> None:
    desk = Desk(agents=[AgentConfig(ALICE, "Alice", "1001", "1001", frozenset())])
    with pytest.raises(CoreError) as err:
        desk.do(CtiLogin(ALICE))
    assert err.value.code == "phone_permission_missing"
    assert desk.status(ALICE) == "logged_out"


def test_cti_login_twice_is_illegal_and_names_the_status() -> None:
    desk = Desk()
    desk.do(CtiLogin(ALICE))
    with pytest.raises(IllegalAction, match="CTI Login is not possible while Business"):
        desk.do(CtiLogin(ALICE))


@pytest.mark.parametrize("status", [BUSINESS, READY, REST])
def test_status_button_sets_business_ready_or_rest(status: AgentStatus) -> None:
    desk = Desk()
    desk.reachable(ALICE)
    desk.do(CtiLogin(ALICE))
    desk.do(SetStatus(ALICE, status))
    view = desk.engine.agent(ALICE)
    assert (view.status, view.chosen) == (status.value, status.value)


def test_status_change_reports_since() -> None:
    desk = Desk()
    desk.do(CtiLogin(ALICE))
    desk.now += 30
    desk.do(SetStatus(ALICE, REST))
    assert desk.engine.agent(ALICE).since == desk.now


def test_only_ready_agents_are_offered_calls() -> None:
    desk = Desk()
    desk.reachable(ALICE)
    desk.reachable(BOB)
    desk.do(CtiLogin(ALICE))  # Business
    desk.do(CtiLogin(BOB))
    desk.do(SetStatus(BOB, REST))
    call, _ = desk.arrive()
    assert desk.offered(ALICE) is None and desk.offered(BOB) is None
    assert desk.engine.call(call).state == "queued"


def test_status_change_while_logged_out_is_illegal() -> None:
    desk = Desk()
    with pytest.raises(IllegalAction, match="Ready is not possible while Logged out"):
        desk.do(SetStatus(ALICE, READY))


def test_driven_status_cannot_be_chosen() -> None:
    desk = Desk()
    desk.do(CtiLogin(ALICE))
    with pytest.raises(InvalidInput) as err:
        desk.do(SetStatus(ALICE, AgentStatus.ON_CALL))
    assert err.value.code == "invalid_input"
    assert desk.status(ALICE) == "business"


def test_logout_returns_agent_to_logged_out() -> None:
    desk = Desk()
    desk.ready(ALICE)
    desk.do(CtiLogout(ALICE))
    assert desk.status(ALICE) == "logged_out"
    assert desk.engine.ready_agents() == []


def test_logout_while_ringing_withdraws_offer_and_reroutes() -> None:
    desk = Desk()
    desk.ready(ALICE, BOB)
    call, _ = desk.arrive()
    ringing = ALICE if desk.offered(ALICE) else BOB
    other = BOB if ringing == ALICE else ALICE
    desk.do(CtiLogout(ringing))
    assert desk.of(OfferWithdrawn)[-1].reason == "agent_logged_out"
    assert desk.offered(other) == call
    assert desk.status(ringing) == "logged_out"


def test_logout_during_call_is_refused() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.connect(ALICE, call)
    with pytest.raises(IllegalAction, match="CTI Logout is not possible while On Call"):
        desk.do(CtiLogout(ALICE))
    assert desk.status(ALICE) == "on_call"


def test_rest_while_ringing_withdraws_offer_and_reroutes_call() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.ready(BOB)
    desk.do(SetStatus(ALICE, REST))
    assert desk.status(ALICE) == "rest"
    assert desk.of(OfferWithdrawn)[-1].reason == "agent_status_changed"
    assert desk.offered(BOB) == call
    # the click raced the offer: Answer now fails cleanly, nothing is stuck
    with pytest.raises(CoreError) as err:
        desk.do(Answer(ALICE, call))
    assert err.value.code == "offer_expired"


def test_ready_while_ringing_keeps_the_offer() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.do(SetStatus(ALICE, READY))
    assert desk.offered(ALICE) == call
    assert desk.status(ALICE) == "ringing"


def test_call_end_moves_agent_to_ticket_processing() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.connect(ALICE, call)
    desk.tel(desk.phone.hung_up(cust))
    assert desk.status(ALICE) == "ticket_processing"
    desk.arrive()
    assert desk.offered(ALICE) is None  # no calls during ticket processing


def test_choosing_ready_leaves_ticket_processing_and_takes_waiting_call() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.connect(ALICE, call)
    desk.tel(desk.phone.hung_up(cust))
    waiting, _ = desk.arrive()
    desk.do(SetStatus(ALICE, READY))
    assert desk.offered(ALICE) == waiting
    assert desk.status(ALICE) == "ringing"


def test_rest_chosen_during_call_is_kept_for_after_ticket_processing() -> None:
    desk = Desk(CtiSettings(wrap_up_seconds=60))
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.connect(ALICE, call)
    desk.do(SetStatus(ALICE, REST))
    view = desk.engine.agent(ALICE)
    assert (view.status, view.chosen) == ("on_call", "rest")
    desk.tel(desk.phone.hung_up(cust))
    assert desk.status(ALICE) == "ticket_processing"
    desk.tick(60)
    view = desk.engine.agent(ALICE)
    assert (view.status, view.reason) == ("rest", "wrap_up_limit")


def test_wrap_up_limit_returns_agent_to_ready_and_offers_waiting_call() -> None:
    desk = Desk(CtiSettings(wrap_up_seconds=30))
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.connect(ALICE, call)
    desk.tel(desk.phone.hung_up(cust))
    waiting, _ = desk.arrive()
    assert desk.engine.next_deadline() == desk.now + 30
    desk.tick(29)
    assert desk.status(ALICE) == "ticket_processing"
    desk.tick(1)
    assert desk.offered(ALICE) == waiting


def test_without_wrap_up_limit_ticket_processing_lasts_until_the_agent_chooses() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.connect(ALICE, call)
    desk.tel(desk.phone.hung_up(cust))
    assert desk.engine.next_deadline() is None
    desk.tick(3600)
    assert desk.status(ALICE) == "ticket_processing"
    desk.do(SetStatus(ALICE, BUSINESS))
    assert desk.status(ALICE) == "business"


def test_logout_from_ticket_processing_is_allowed() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.connect(ALICE, call)
    desk.tel(desk.phone.hung_up(cust))
    desk.do(CtiLogout(ALICE))
    assert desk.status(ALICE) == "logged_out"


def test_illegal_action_names_the_status_that_forbids_it() -> None:
    desk = Desk()
    desk.ready(ALICE)
    with pytest.raises(IllegalAction) as err:
        desk.do(Hold(ALICE, "nope"))
    assert err.value.code == "illegal_in_status"
    assert err.value.message == "Hold is not possible while Ready."
    with pytest.raises(IllegalAction, match="End is not possible while Ready"):
        desk.do(EndCall(ALICE, "nope"))


def test_unregistered_phone_is_never_offered_calls() -> None:
    desk = Desk()
    desk.do(CtiLogin(ALICE))
    desk.do(SetStatus(ALICE, READY))
    call, _ = desk.arrive()
    assert desk.offered(ALICE) is None
    desk.reachable(ALICE)
    assert desk.offered(ALICE) == call  # offered the moment the phone registers


def test_phone_unregistering_while_ringing_reroutes_the_call() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.ready(BOB)
    desk.reachable(ALICE, False)
    assert desk.of(OfferWithdrawn)[-1].reason == "phone_unreachable"
    assert desk.offered(BOB) == call
    assert desk.status(ALICE) == "ready"  # still their choice; just not routable


def test_restore_agent_after_restart_keeps_chosen_status() -> None:
    desk = Desk()
    desk.engine.restore_agent(ALICE, "rest", 500.0)
    desk.engine.restore_agent(BOB, "on_call", 400.0)
    alice, bob = desk.engine.agent(ALICE), desk.engine.agent(BOB)
    assert (alice.status, alice.since) == ("rest", 500.0)
    assert (bob.status, bob.reason) == ("business", "restart")
    desk.do(SetStatus(ALICE, READY))  # logged in: the status button works
    assert desk.status(ALICE) == "ready"


def test_restored_ready_agent_gets_calls_once_phone_registers() -> None:
    desk = Desk()
    desk.engine.restore_agent(ALICE, "ready", 500.0)
    desk.reachable(ALICE)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == call


def test_unknown_agent_is_not_found() -> None:
    desk = Desk()
    with pytest.raises(NotFound):
        desk.do(CtiLogin(99))
    with pytest.raises(NotFound):
        desk.engine.agent(99)


def test_agent_config_change_updates_routing() -> None:
    desk = Desk()
    desk.ready(ALICE)
    moved = AgentConfig(ALICE, "Alice Martin", "1001", "1001", frozenset({2}))
    desk.engine.upsert_agent(moved, desk.now)
    desk.arrive()  # service 1: Alice no longer serves it
    assert desk.offered(ALICE) is None
    assert desk.engine.ready_agents(frozenset({2}))[0].agent_id == ALICE
    assert desk.engine.upsert_agent(AGENTS[0], desk.now).events  # back: takes the waiting call
    assert desk.status(ALICE) == "ringing"
