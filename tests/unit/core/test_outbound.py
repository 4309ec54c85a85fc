"""Making calls (manual 2-3): Dial up checks, Dialing, failures, ticket creation timing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ringdesk.core.commands import Answer, CtiLogin, Dial, EndCall, SetStatus
from ringdesk.core.errors import CoreError, IllegalAction
from ringdesk.core.events import CallConnected, CallDialed, CallEnded, CallFailed, TicketOpened
from ringdesk.core.model import AgentStatus, CallOutcome, CtiSettings, FailureReason
from ringdesk.core.telephony import Bridge, HangUp, Originate, RingAgent

from .harness import ALICE, SUPPORT, Desk


def _dial(desk: Desk, number: str = "5551234", calling: str = "5550199") -> str:
    desk.do(Dial(ALICE, 1, number, calling))
    return desk.of(CallDialed)[-1].call_id


def _logged_in(desk: Desk) -> None:
    desk.reachable(ALICE)
    desk.do(CtiLogin(ALICE))


def test_dial_rings_the_agent_phone_then_the_customer_then_bridges() -> None:
    desk = Desk()
    _logged_in(desk)
    call = _dial(desk)
    assert desk.status(ALICE) == "dialing"
    ring = desk.phone.last(RingAgent)
    assert (ring.call_id, ring.auto_answer) == (call, True)
    assert desk.phone.of_type(Originate) == []  # the customer is called once the agent is on
    desk.tel(desk.phone.answered(ring.leg_id))
    out = desk.phone.last(Originate)
    assert (out.number, out.calling_number) == ("5551234", "5550199")
    assert desk.status(ALICE) == "dialing"
    desk.now += 3
    desk.tel(desk.phone.answered(out.leg_id))
    assert desk.phone.last(Bridge) == Bridge(call, ring.leg_id, out.leg_id)
    assert desk.status(ALICE) == "on_call"
    connected = desk.of(CallConnected)[-1]
    assert (connected.direction, connected.wait_seconds) == ("outbound", 3.0)


def test_outbound_ticket_opens_on_connect_by_default() -> None:
    desk = Desk()
    _logged_in(desk)
    call = _dial(desk)
    assert desk.of(TicketOpened) == []
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    desk.tel(desk.phone.answered(desk.phone.last(Originate).leg_id))
    assert [t.call_id for t in desk.of(TicketOpened)] == [call]


def test_outbound_ticket_opens_on_dial_when_automatic_creation_is_enabled() -> None:
    desk = Desk(CtiSettings(outbound_ticket_on_dial=True))
    _logged_in(desk)
    call = _dial(desk)
    assert [(t.call_id, t.direction) for t in desk.of(TicketOpened)] == [(call, "outbound")]
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    desk.tel(desk.phone.answered(desk.phone.last(Originate).leg_id))
    assert len(desk.of(TicketOpened)) == 1  # not a second one on connect


def test_dial_is_refused_when_outbound_is_off_for_the_service() -> None:
    desk = Desk(services=[replace(SUPPORT, outbound_enabled=False)])
    _logged_in(desk)
    with pytest.raises(CoreError) as err:
        _dial(desk)
    assert err.value.code == "outbound_disabled"
    assert desk.status(ALICE) == "business"


def test_dial_is_refused_with_an_unregistered_calling_number() -> None:
    desk = Desk()
    _logged_in(desk)
    with pytest.raises(CoreError) as err:
        _dial(desk, calling="5550999")
    assert err.value.code == "calling_number_not_registered"
    assert desk.phone.actions == []


def test_dial_is_refused_when_the_phone_is_not_registered() -> None:
    desk = Desk()
    desk.do(CtiLogin(ALICE))
    with pytest.raises(CoreError) as err:
        _dial(desk)
    assert err.value.code == "phone_not_registered"


def test_dial_is_refused_when_logged_out_or_in_a_call() -> None:
    desk = Desk()
    desk.reachable(ALICE)
    with pytest.raises(IllegalAction, match="Dial up is not possible while Logged out"):
        _dial(desk)
    desk.do(CtiLogin(ALICE))
    _dial(desk)
    with pytest.raises(CoreError, match="outbound call in progress") as err:
        _dial(desk)
    assert err.value.code == "outbound_call_in_progress"


def test_dial_needs_phone_permission_on_the_service() -> None:
    desk = Desk(services=[SUPPORT, replace(SUPPORT, id=2, name="Sales")])
    _logged_in(desk)
    with pytest.raises(CoreError) as err:
        desk.do(Dial(ALICE, 2, "5551234", "5550199"))
    assert err.value.code == "phone_permission_missing"


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        (FailureReason.BUSY, CallOutcome.BUSY),
        (FailureReason.NO_ANSWER, CallOutcome.NO_ANSWER),
        (FailureReason.REJECTED, CallOutcome.REJECTED),
        (FailureReason.UNREACHABLE, CallOutcome.UNREACHABLE),
    ],
)
def test_customer_failure_ends_the_call_with_the_reason(
    reason: FailureReason, outcome: CallOutcome
) -> None:
    desk = Desk()
    _logged_in(desk)
    call = _dial(desk)
    agent_leg = desk.phone.last(RingAgent).leg_id
    desk.tel(desk.phone.answered(agent_leg))
    desk.tel(desk.phone.failed(desk.phone.last(Originate).leg_id, reason))
    failed = desk.of(CallFailed)[-1]
    assert (failed.call_id, failed.agent_id, failed.reason) == (call, ALICE, reason.value)
    assert desk.of(CallEnded)[-1].outcome == outcome
    assert desk.phone.last(HangUp).leg_id == agent_leg
    assert desk.status(ALICE) == "business"  # no ticket: back to the chosen status


def test_failed_dial_with_a_ticket_goes_to_ticket_processing() -> None:
    desk = Desk(CtiSettings(outbound_ticket_on_dial=True))
    _logged_in(desk)
    _dial(desk)
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    desk.tel(desk.phone.failed(desk.phone.last(Originate).leg_id, FailureReason.BUSY))
    assert desk.status(ALICE) == "ticket_processing"


def test_agent_phone_failing_on_dial_ends_the_call_before_the_customer_is_called() -> None:
    desk = Desk()
    _logged_in(desk)
    _dial(desk)
    desk.tel(desk.phone.failed(desk.phone.last(RingAgent).leg_id, FailureReason.NO_ANSWER))
    assert desk.of(CallFailed)[-1].reason == "no_answer"
    assert desk.phone.of_type(Originate) == []
    assert desk.status(ALICE) == "business"


def test_end_while_dialing_cancels_the_call() -> None:
    desk = Desk()
    _logged_in(desk)
    call = _dial(desk)
    agent_leg = desk.phone.last(RingAgent).leg_id
    desk.tel(desk.phone.answered(agent_leg))
    customer_leg = desk.phone.last(Originate).leg_id
    desk.do(EndCall(ALICE, call))
    assert {a.leg_id for a in desk.phone.of_type(HangUp)} == {agent_leg, customer_leg}
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.ended_by) == (CallOutcome.CANCELLED, "agent")


def test_outbound_call_ended_after_connect_goes_to_ticket_processing() -> None:
    desk = Desk()
    _logged_in(desk)
    call = _dial(desk)
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    desk.tel(desk.phone.answered(desk.phone.last(Originate).leg_id))
    desk.do(EndCall(ALICE, call))
    assert desk.of(CallEnded)[-1].outcome == CallOutcome.ANSWERED
    assert desk.status(ALICE) == "ticket_processing"


def test_ready_agent_dialing_is_not_offered_inbound_calls() -> None:
    desk = Desk()
    desk.ready(ALICE)
    _dial(desk)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) is None
    assert desk.engine.call(call).state == "queued"


def test_dial_from_ticket_processing_ends_the_wrap_up() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.do(Answer(ALICE, call))
    desk.tel(desk.phone.answered(desk.agent_leg(call)))
    desk.tel(desk.phone.hung_up(cust))
    assert desk.status(ALICE) == "ticket_processing"
    second = _dial(desk)
    desk.tel(desk.phone.failed(desk.phone.last(RingAgent).leg_id, FailureReason.BUSY))
    assert second != call
    view = desk.engine.agent(ALICE)
    assert (view.status, view.chosen) == ("ready", "ready")
    desk.do(SetStatus(ALICE, AgentStatus.REST))
    assert desk.status(ALICE) == "rest"
