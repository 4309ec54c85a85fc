"""Phone registration reported by the switch as a telephony event (PhoneRegistered by CTI id)."""

from __future__ import annotations

from dataclasses import replace

from ringdesk.core.commands import CtiLogin, SetStatus
from ringdesk.core.engine import Outcome
from ringdesk.core.events import CallOffered, OfferWithdrawn, PhoneReachabilityChanged
from ringdesk.core.model import AgentConfig, AgentStatus
from ringdesk.core.telephony import PhoneRegistered

from .harness import AGENTS, ALICE, BOB, Desk

ALICE_PHONE = "1001"  # Alice's CTI id in the harness


def register(desk: Desk, cti_id: str, registered: bool = True) -> Outcome:
    return desk.tel(PhoneRegistered(cti_id, registered))


def ready_by_event(desk: Desk, agent_id: int, cti_id: str) -> None:
    register(desk, cti_id)
    desk.do(CtiLogin(agent_id))
    desk.do(SetStatus(agent_id, AgentStatus.READY))


def test_a_registration_makes_the_agent_with_that_cti_id_reachable() -> None:
    desk = Desk()
    assert not desk.engine.agent(ALICE).phone_reachable
    out = register(desk, ALICE_PHONE)
    assert out.events == [PhoneReachabilityChanged(ALICE, True, desk.now)]
    assert out.actions == []
    assert desk.engine.agent(ALICE).phone_reachable
    assert not desk.engine.agent(BOB).phone_reachable


def test_an_unknown_cti_id_is_ignored() -> None:
    desk = Desk(agents=[*AGENTS, AgentConfig(9, "Dan Novak", None, None, frozenset({1}))])
    for cti_id in ("9999", ""):
        for registered in (True, False):
            out = register(desk, cti_id, registered)
            assert (out.events, out.actions) == ([], [])
    assert not any(view.phone_reachable for view in desk.engine.agents())


def test_registration_then_expiry_takes_the_offer_back() -> None:
    desk = Desk()
    ready_by_event(desk, ALICE, ALICE_PHONE)
    assert [v.agent_id for v in desk.engine.ready_agents()] == [ALICE]
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == call

    out = register(desk, ALICE_PHONE, registered=False)

    # The reachability change comes first: it is why the offer is withdrawn.
    assert out.events[:2] == [
        PhoneReachabilityChanged(ALICE, False, desk.now),
        OfferWithdrawn(call, ALICE, "phone_unreachable", desk.now),
    ]
    view = desk.engine.agent(ALICE)
    assert not view.phone_reachable
    assert view.offer is None
    assert view.status == "ready"  # her choice stands; she is just not offered calls
    assert desk.engine.ready_agents() == []
    assert [c.call_id for c in desk.engine.queues()[0].waiting] == [call]
    assert desk.engine.call(call).state == "queued"


def test_the_expiry_gives_the_call_to_a_colleague_whose_phone_is_up() -> None:
    desk = Desk()
    ready_by_event(desk, ALICE, ALICE_PHONE)
    call, _ = desk.arrive()
    ready_by_event(desk, BOB, "1002")
    assert desk.offered(ALICE) == call
    register(desk, ALICE_PHONE, registered=False)
    assert desk.offered(BOB) == call


def test_the_view_flag_follows_either_path() -> None:
    desk = Desk()
    desk.reachable(ALICE)
    assert desk.engine.agent(ALICE).phone_reachable
    register(desk, ALICE_PHONE, registered=False)
    assert not desk.engine.agent(ALICE).phone_reachable
    register(desk, ALICE_PHONE)
    assert desk.engine.agent(ALICE).phone_reachable
    desk.reachable(ALICE, False)
    assert not desk.engine.agent(ALICE).phone_reachable


def test_the_domain_event_only_on_a_real_change() -> None:
    desk = Desk()
    changes: list[list[bool]] = []
    steps = [
        lambda: register(desk, ALICE_PHONE),
        lambda: register(desk, ALICE_PHONE),  # a repeat
        lambda: desk.reachable(ALICE, True),  # the same fact by the other path
        lambda: register(desk, ALICE_PHONE, registered=False),
        lambda: desk.reachable(ALICE, False),
        lambda: register(desk, ALICE_PHONE, registered=False),
        lambda: desk.reachable(ALICE, True),
    ]
    for step in steps:
        out = step()
        changes.append([e.reachable for e in out.events if isinstance(e, PhoneReachabilityChanged)])
    assert changes == [[True], [], [], [False], [], [], [True]]
    assert all(e.agent_id == ALICE for e in desk.of(PhoneReachabilityChanged))


def test_routing_resumes_when_the_phone_of_a_ready_agent_comes_back() -> None:
    desk = Desk()
    ready_by_event(desk, ALICE, ALICE_PHONE)
    register(desk, ALICE_PHONE, registered=False)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) is None
    assert desk.engine.call(call).state == "queued"

    desk.now += 30
    out = register(desk, ALICE_PHONE)

    assert out.events[0] == PhoneReachabilityChanged(ALICE, True, desk.now)
    offers = [e for e in out.events if isinstance(e, CallOffered)]
    assert [(e.call_id, e.agent_id) for e in offers] == [(call, ALICE)]
    assert desk.status(ALICE) == "ringing"


def test_the_cti_id_index_follows_an_agent_update() -> None:
    desk = Desk()
    alice = replace(AGENTS[0], cti_id="2001")
    desk._record(desk.engine.upsert_agent(alice, desk.now))

    assert register(desk, ALICE_PHONE).events == []  # her old phone is nobody's now
    register(desk, "2001")
    assert desk.engine.agent(ALICE).phone_reachable

    # The old id given to a colleague is theirs from then on.
    bob = replace(AGENTS[1], cti_id=ALICE_PHONE)
    desk._record(desk.engine.upsert_agent(bob, desk.now))
    assert register(desk, ALICE_PHONE).events == [PhoneReachabilityChanged(BOB, True, desk.now)]
