"""Routing strategies, maximum queue wait with overflow, and the Ready agents list."""

from __future__ import annotations

from dataclasses import replace

from ringdesk.core.commands import Answer, CtiLogin, SetStatus
from ringdesk.core.events import CallEnded, OfferWithdrawn
from ringdesk.core.model import (
    AgentConfig,
    AgentStatus,
    CallOutcome,
    FailureReason,
    OverflowAction,
    Strategy,
)
from ringdesk.core.telephony import Bridge, HangUp, Originate, PlayThenHangUp

from .harness import ALICE, BOB, CAROL, SALES, SUPPORT, Desk

READY = AgentStatus.READY


def _finish(desk: Desk, agent_id: int, call: str, cust: str) -> None:
    desk.connect(agent_id, call)
    desk.tel(desk.phone.hung_up(cust))
    desk.do(SetStatus(agent_id, READY))


def test_longest_idle_offers_the_call_to_the_agent_idle_longest() -> None:
    desk = Desk()
    desk.ready(ALICE, BOB)
    call, cust = desk.arrive()
    first = ALICE if desk.offered(ALICE) else BOB
    desk.now += 10
    _finish(desk, first, call, cust)  # `first` just finished a call; the other idles longer
    nxt, _ = desk.arrive()
    other = BOB if first == ALICE else ALICE
    assert desk.offered(other) == nxt


def test_longest_idle_counts_from_login_for_agents_without_calls() -> None:
    desk = Desk()
    desk.ready(BOB)
    desk.now += 5
    desk.ready(ALICE)
    call, _ = desk.arrive()
    assert desk.offered(BOB) == call


def test_round_robin_rotates_through_ready_agents() -> None:
    desk = Desk(services=[replace(SUPPORT, strategy=Strategy.ROUND_ROBIN)])
    desk.ready(ALICE, BOB, CAROL)
    got = []
    for _ in range(6):
        call, cust = desk.arrive()
        agent = next(a for a in (ALICE, BOB, CAROL) if desk.offered(a) == call)
        got.append(agent)
        _finish(desk, agent, call, cust)
    assert sorted(got[:3]) == [ALICE, BOB, CAROL]
    assert got[3:] == got[:3]


def test_fewest_calls_prefers_the_agent_with_fewest_calls() -> None:
    desk = Desk(services=[replace(SUPPORT, strategy=Strategy.FEWEST_CALLS)])
    desk.ready(ALICE)
    for _ in range(2):
        call, cust = desk.arrive()
        desk.now += 1
        _finish(desk, ALICE, call, cust)
    desk.ready(BOB)  # Bob idles shorter but has taken no call
    call, _ = desk.arrive()
    assert desk.offered(BOB) == call


def test_ring_all_offers_every_ready_agent_and_the_first_answer_wins() -> None:
    desk = Desk(services=[replace(SUPPORT, strategy=Strategy.RING_ALL)])
    desk.ready(ALICE, BOB, CAROL)
    call, _ = desk.arrive()
    assert [desk.offered(a) for a in (ALICE, BOB, CAROL)] == [call, call, call]
    desk.do(Answer(BOB, call))
    withdrawn = {(w.agent_id, w.reason) for w in desk.of(OfferWithdrawn)}
    assert withdrawn == {(ALICE, "answered_elsewhere"), (CAROL, "answered_elsewhere")}
    assert desk.status(ALICE) == "ready" and desk.status(CAROL) == "ready"
    assert desk.engine.call(call).agent_id == BOB


def test_ring_all_call_stays_offered_while_someone_still_rings() -> None:
    desk = Desk(services=[replace(SUPPORT, strategy=Strategy.RING_ALL)])
    desk.ready(ALICE, BOB)
    call, _ = desk.arrive()
    desk.do(SetStatus(ALICE, AgentStatus.REST))
    assert desk.offered(BOB) == call
    assert desk.engine.call(call).state == "offered"


def test_agent_becoming_ready_joins_a_ring_all_call_already_ringing() -> None:
    desk = Desk(services=[replace(SUPPORT, strategy=Strategy.RING_ALL)])
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.ready(BOB)
    assert desk.offered(BOB) == call
    desk.do(Answer(BOB, call))
    assert desk.of(OfferWithdrawn)[-1] == OfferWithdrawn(
        call, ALICE, "answered_elsewhere", desk.now
    )
    desk.ready(CAROL)  # the call is taken: nothing rings for Carol
    assert desk.offered(CAROL) is None


def test_ring_all_pickup_timeout_takes_the_call_back_from_everyone() -> None:
    desk = Desk(services=[replace(SUPPORT, strategy=Strategy.RING_ALL)])
    desk.ready(ALICE, BOB)
    call, _ = desk.arrive()
    desk.tick(20)
    assert desk.status(ALICE) == "rest" and desk.status(BOB) == "rest"
    assert desk.engine.call(call).state == "queued"


def test_strategy_change_applies_to_agents_already_ready() -> None:
    desk = Desk()
    desk.ready(ALICE, BOB)
    desk.service(replace(SUPPORT, strategy=Strategy.RING_ALL))
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == call and desk.offered(BOB) == call


def test_switching_to_ring_all_rings_free_agents_for_a_call_already_ringing() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.ready(BOB)
    assert desk.offered(BOB) is None
    desk.service(replace(SUPPORT, strategy=Strategy.RING_ALL))
    assert desk.offered(BOB) == call and desk.offered(ALICE) == call


def test_agent_of_two_services_is_offered_the_oldest_waiting_call() -> None:
    both = AgentConfig(ALICE, "Alice Martin", "1001", "1001", frozenset({1, 2}))
    desk = Desk(services=[SUPPORT, SALES], agents=[both])
    sales_call, _ = desk.arrive(service_id=2)
    desk.arrive(service_id=1)
    desk.ready(ALICE)
    assert desk.offered(ALICE) == sales_call


def test_max_wait_overflow_hangs_up_with_a_message() -> None:
    service = replace(
        SUPPORT, max_wait_seconds=60, overflow_action=OverflowAction.HANG_UP_WITH_MESSAGE
    )
    desk = Desk(services=[service])
    call, cust = desk.arrive()
    assert desk.engine.next_deadline() == desk.now + 60
    desk.tick(60)
    assert desk.phone.last(PlayThenHangUp) == PlayThenHangUp(call, cust, "overflow")
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.ended_by) == (CallOutcome.OVERFLOWED, "system")
    assert desk.engine.calls() == []


def test_max_wait_overflow_forwards_to_the_overflow_number() -> None:
    service = replace(
        SUPPORT,
        max_wait_seconds=30,
        overflow_action=OverflowAction.FORWARD,
        overflow_number="5559000",
    )
    desk = Desk(services=[service])
    call, cust = desk.arrive()
    desk.tick(30)
    forward = desk.phone.last(Originate)
    assert (forward.number, forward.calling_number) == ("5559000", "5550100")
    assert desk.of(CallEnded)[-1].outcome == CallOutcome.OVERFLOWED
    desk.tel(desk.phone.answered(forward.leg_id))
    assert desk.phone.last(Bridge) == Bridge(call, cust, forward.leg_id)
    desk.tel(desk.phone.hung_up(cust))  # the caller hangs up: the forward leg goes too
    assert desk.phone.last(HangUp).leg_id == forward.leg_id


def test_failed_overflow_forward_plays_the_overflow_message() -> None:
    service = replace(
        SUPPORT,
        max_wait_seconds=30,
        overflow_action=OverflowAction.FORWARD,
        overflow_number="5559000",
    )
    desk = Desk(services=[service])
    call, cust = desk.arrive()
    desk.tick(30)
    desk.tel(desk.phone.failed(desk.phone.last(Originate).leg_id, FailureReason.BUSY))
    assert desk.phone.last(PlayThenHangUp) == PlayThenHangUp(call, cust, "overflow")


def test_max_wait_reached_while_ringing_overflows_only_if_that_offer_fails() -> None:
    service = replace(
        SUPPORT, max_wait_seconds=10, overflow_action=OverflowAction.HANG_UP_WITH_MESSAGE
    )
    desk = Desk(services=[service])
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.tick(10)
    assert desk.offered(ALICE) == call  # still ringing
    desk.tick(10)  # pickup timeout: instead of going back to the queue, it overflows
    assert desk.of(CallEnded)[-1].outcome == CallOutcome.OVERFLOWED


def test_max_wait_without_overflow_action_keeps_the_caller_waiting() -> None:
    desk = Desk(services=[replace(SUPPORT, max_wait_seconds=10)])
    call, _ = desk.arrive()
    desk.tick(100)
    assert desk.engine.call(call).state == "queued"


def test_ready_agents_filters_by_service_and_name_or_cti_number() -> None:
    desk = Desk()
    desk.ready(ALICE, BOB)
    desk.reachable(CAROL)
    desk.do(CtiLogin(CAROL))  # Business: not listed
    assert [a.name for a in desk.engine.ready_agents()] == ["Alice Martin", "Bob Chen"]
    assert [a.agent_id for a in desk.engine.ready_agents(query="chen")] == [BOB]
    assert [a.agent_id for a in desk.engine.ready_agents(query="1001")] == [ALICE]
    assert desk.engine.ready_agents(frozenset({2})) == []
    assert len(desk.engine.ready_agents(frozenset({1}))) == 2
