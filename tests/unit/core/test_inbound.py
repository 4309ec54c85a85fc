"""Answering calls (manual 2-2): queue, offer, Answer, pickup timeout, caller hang-ups."""

from __future__ import annotations

import pytest

from ringdesk.core.commands import Answer, SetStatus
from ringdesk.core.errors import CoreError
from ringdesk.core.events import (
    AgentPaused,
    AgentStatusChanged,
    CallConnected,
    CallEnded,
    CallOffered,
    CallQueued,
    OfferWithdrawn,
    TicketOpened,
)
from ringdesk.core.model import AgentStatus, CallOutcome, CtiSettings, FailureReason
from ringdesk.core.telephony import (
    Bridge,
    HangUp,
    RingAgent,
    StartQueueMusic,
)

from .harness import ALICE, BOB, CAROL, SALES, SUPPORT, Desk


def test_inbound_call_waits_in_queue_with_music_when_no_agent_is_ready() -> None:
    desk = Desk()
    call, cust = desk.arrive("5551234")
    assert desk.phone.last(StartQueueMusic) == StartQueueMusic(call, cust)
    queued = desk.of(CallQueued)[-1]
    assert (queued.call_id, queued.caller, queued.position) == (call, "5551234", 1)
    assert [c.call_id for c in desk.engine.queues()[0].waiting] == [call]
    assert desk.engine.queues()[0].longest_wait_since == desk.now


def test_call_to_service_with_inbound_off_is_rejected() -> None:
    desk = Desk(services=[SUPPORT.__class__(id=1, name="Support", inbound_enabled=False)])
    desk.ready(ALICE)
    call, cust = desk.arrive()
    assert desk.phone.last(HangUp).leg_id == cust
    ended = desk.of(CallEnded)[-1]
    assert (ended.call_id, ended.outcome) == (call, CallOutcome.REJECTED)
    assert desk.offered(ALICE) is None
    assert desk.engine.calls() == []


def test_call_is_offered_to_ready_agent_who_rings_until_pickup_deadline() -> None:
    desk = Desk(CtiSettings(pickup_seconds=20))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    offered = desk.of(CallOffered)[-1]
    assert (offered.call_id, offered.agent_id, offered.expires_at) == (call, ALICE, desk.now + 20)
    view = desk.engine.agent(ALICE)
    assert view.status == "ringing"
    assert view.offer is not None and view.offer.caller == "5551234"
    assert desk.engine.next_deadline() == desk.now + 20


def test_answer_rings_agent_phone_with_auto_answer_then_bridges_and_opens_ticket() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.do(Answer(ALICE, call))
    ring = desk.phone.last(RingAgent)
    assert (ring.agent_id, ring.cti_id, ring.auto_answer) == (ALICE, "1001", True)
    assert desk.engine.call(call).state == "connecting"
    assert desk.of(TicketOpened) == []  # the ticket opens when the call connects
    desk.now += 1
    desk.tel(desk.phone.answered(ring.leg_id))
    assert desk.phone.last(Bridge) == Bridge(call, cust, ring.leg_id)
    assert desk.engine.call(call).state == "talking"
    assert desk.status(ALICE) == "on_call"
    connected = desk.of(CallConnected)[-1]
    assert (connected.agent_id, connected.wait_seconds) == (ALICE, 1.0)
    ticket = desk.of(TicketOpened)[-1]
    assert (ticket.call_id, ticket.customer_number, ticket.direction) == (
        call,
        "5551234",
        "inbound",
    )


def test_answer_after_the_offer_expired_is_refused() -> None:
    desk = Desk(CtiSettings(pickup_seconds=10))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.tick(10)
    with pytest.raises(CoreError) as err:
        desk.do(Answer(ALICE, call))
    assert err.value.code == "offer_expired"


def test_pickup_timeout_offers_call_to_next_ready_agent() -> None:
    desk = Desk(CtiSettings(pickup_seconds=20))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.ready(BOB)
    desk.tick(20)
    withdrawn = desk.of(OfferWithdrawn)[-1]
    assert (withdrawn.agent_id, withdrawn.reason) == (ALICE, "pickup_timeout")
    assert desk.offered(BOB) == call
    assert desk.offered(ALICE) is None


def test_pickup_timeout_moves_agent_to_the_configured_status_with_reason() -> None:
    desk = Desk(CtiSettings(pickup_timeout_status=AgentStatus.BUSINESS))
    desk.ready(ALICE)
    desk.arrive()
    desk.tick(20)
    view = desk.engine.agent(ALICE)
    assert (view.status, view.chosen, view.reason) == ("business", "business", "pickup_timeout")
    assert view.missed_offers == 1


def test_pickup_timeout_puts_call_back_in_queue_when_nobody_else_is_ready() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.tick(20)
    assert desk.status(ALICE) == "rest"
    assert desk.engine.call(call).state == "queued"
    desk.ready(CAROL)
    assert desk.offered(CAROL) == call


def test_missed_offers_in_a_row_pause_the_agent() -> None:
    desk = Desk(
        CtiSettings(pickup_timeout_status=AgentStatus.READY, max_missed_offers=2, pickup_seconds=5)
    )
    desk.ready(ALICE)
    desk.arrive()
    desk.tick(5)  # first miss: back to Ready (the setting), offered again
    assert desk.status(ALICE) == "ringing"
    desk.tick(5)
    paused = desk.of(AgentPaused)[-1]
    assert (paused.agent_id, paused.missed, paused.status) == (ALICE, 2, AgentStatus.REST)
    view = desk.engine.agent(ALICE)
    assert (view.status, view.reason) == ("rest", "missed_offers")


def test_a_zero_pickup_time_cannot_make_the_timer_loop() -> None:
    desk = Desk(
        CtiSettings(pickup_seconds=0, pickup_timeout_status=AgentStatus.READY, max_missed_offers=0)
    )
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.tick(1)  # returns: the re-offer rings for at least a second
    assert desk.offered(ALICE) == call
    assert desk.engine.agent(ALICE).missed_offers == 1


def test_answering_resets_missed_offers() -> None:
    desk = Desk(CtiSettings(pickup_seconds=5))
    desk.ready(ALICE)
    desk.arrive()
    desk.tick(5)
    assert desk.engine.agent(ALICE).missed_offers == 1
    desk.do(SetStatus(ALICE, AgentStatus.READY))
    call = desk.offered(ALICE)
    assert call is not None
    desk.do(Answer(ALICE, call))
    assert desk.engine.agent(ALICE).missed_offers == 0


def test_waiting_call_is_offered_when_an_agent_becomes_ready() -> None:
    desk = Desk()
    call, _ = desk.arrive()
    desk.ready(BOB)
    assert desk.offered(BOB) == call


def test_queue_is_first_come_first_served_per_service() -> None:
    desk = Desk()
    first, _ = desk.arrive("5550001")
    second, _ = desk.arrive("5550002")
    third, _ = desk.arrive("5550003")
    assert [c.call_id for c in desk.engine.queues()[0].waiting] == [first, second, third]
    assert [q.position for q in desk.of(CallQueued)] == [1, 2, 3]
    desk.ready(ALICE)
    desk.ready(BOB)
    assert (desk.offered(ALICE), desk.offered(BOB)) == (first, second)


def test_a_call_taken_back_keeps_its_place_in_the_queue() -> None:
    desk = Desk()
    first, _ = desk.arrive()
    desk.ready(ALICE)  # offered `first`
    second, _ = desk.arrive()
    desk.tick(20)  # Alice lets it ring out; `first` goes back ahead of `second`
    desk.ready(BOB)
    assert desk.offered(BOB) == first
    assert desk.engine.call(second).state == "queued"


def test_calls_are_offered_only_to_agents_of_the_called_service() -> None:
    desk = Desk(services=[SUPPORT, SALES])
    desk.ready(ALICE)
    call, _ = desk.arrive(service_id=2)
    assert desk.offered(ALICE) is None
    assert desk.engine.call(call).state == "queued"


def test_caller_hanging_up_in_the_queue_abandons_the_call() -> None:
    desk = Desk()
    _call, cust = desk.arrive()
    desk.now += 7
    desk.tel(desk.phone.hung_up(cust))
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.ended_by, ended.wait_seconds) == (
        CallOutcome.ABANDONED,
        "customer",
        7.0,
    )
    assert desk.engine.queues()[0].waiting == ()
    desk.ready(ALICE)
    assert desk.offered(ALICE) is None


def test_caller_hanging_up_while_ringing_withdraws_the_offer() -> None:
    desk = Desk()
    desk.ready(ALICE)
    _call, cust = desk.arrive()
    desk.tel(desk.phone.hung_up(cust))
    assert desk.of(OfferWithdrawn)[-1].reason == "caller_hung_up"
    assert desk.status(ALICE) == "ready"
    assert desk.engine.agent(ALICE).missed_offers == 0


def test_caller_hanging_up_while_connecting_frees_the_agent_without_ticket() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.do(Answer(ALICE, call))
    leg = desk.agent_leg(call)
    desk.tel(desk.phone.hung_up(cust))
    assert desk.phone.last(HangUp).leg_id == leg
    assert desk.of(CallEnded)[-1].outcome == CallOutcome.ABANDONED
    assert desk.of(TicketOpened) == []
    assert desk.status(ALICE) == "ready"


def test_caller_hanging_up_while_talking_ends_the_call() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    leg = desk.connect(ALICE, call)
    desk.now += 42
    desk.tel(desk.phone.hung_up(cust))
    assert desk.phone.last(HangUp).leg_id == leg
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.ended_by, ended.talk_seconds, ended.agent_id) == (
        CallOutcome.ANSWERED,
        "customer",
        42.0,
        ALICE,
    )
    assert desk.engine.calls() == []


def test_agent_phone_hanging_up_while_talking_ends_the_call() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    leg = desk.connect(ALICE, call)
    desk.tel(desk.phone.hung_up(leg))
    assert desk.phone.last(HangUp).leg_id == cust
    assert desk.of(CallEnded)[-1].ended_by == "agent"
    assert desk.status(ALICE) == "ticket_processing"


def test_agent_phone_not_picking_up_after_answer_reroutes_the_call() -> None:
    desk = Desk(CtiSettings(pickup_seconds=20))
    desk.ready(ALICE, BOB)
    call, _ = desk.arrive()
    first = ALICE if desk.offered(ALICE) else BOB
    other = BOB if first == ALICE else ALICE
    desk.do(Answer(first, call))
    leg = desk.agent_leg(call)
    desk.tick(20)
    assert desk.phone.last(HangUp).leg_id == leg
    assert desk.of(OfferWithdrawn)[-1].reason == "phone_no_answer"
    assert desk.status(first) == "rest"
    assert desk.offered(other) == call


def test_agent_phone_failing_after_answer_reroutes_the_call() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.do(Answer(ALICE, call))
    desk.tel(desk.phone.failed(desk.agent_leg(call), FailureReason.BUSY))
    assert desk.of(OfferWithdrawn)[-1].reason == "phone_busy"
    assert desk.engine.call(call).state == "queued"
    assert desk.status(ALICE) == "rest"


def test_the_same_call_reported_twice_is_taken_once() -> None:
    desk = Desk()
    desk.tel(desk.phone.call_arrives("c", "l", 1, "5551234", "5550100"))
    desk.tel(desk.phone.call_arrives("c", "l", 1, "5551234", "5550100"))
    assert len(desk.of(CallQueued)) == 1


def test_reports_about_unknown_legs_are_ignored() -> None:
    desk = Desk()
    for event in (
        desk.phone.answered("nope"),
        desk.phone.hung_up("nope"),
        desk.phone.failed("nope", FailureReason.BUSY),
        desk.phone.ringing("nope"),
        desk.phone.playback_finished("nope"),
    ):
        out = desk.tel(event)
        assert (out.events, out.actions) == ([], [])


def test_leg_hung_up_report_for_a_leg_the_engine_hung_up_is_ignored() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    leg = desk.connect(ALICE, call)
    desk.tel(desk.phone.hung_up(cust))
    out = desk.tel(desk.phone.hung_up(leg))  # the switch confirms the BYE it sent
    assert (out.events, out.actions) == ([], [])
    assert len(desk.of(CallEnded)) == 1


def test_status_events_carry_the_chosen_status() -> None:
    desk = Desk()
    desk.ready(ALICE)
    _call, _ = desk.arrive()
    ringing = desk.of(AgentStatusChanged)[-1]
    assert (ringing.status, ringing.chosen) == (AgentStatus.RINGING, AgentStatus.READY)
