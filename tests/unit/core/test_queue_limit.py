"""The per-service queue limit (issue #9): a call that would wait behind max_queued_per_service
others is refused by the engine: the switch is told to hang it up with QUEUE_FULL (486 Busy
Here) and the store gets a call record with the outcome refused, but no ticket."""

from __future__ import annotations

from ringdesk.core.events import CallEnded, CallOffered, CallQueued, TicketOpened
from ringdesk.core.model import CallOutcome, CtiSettings
from ringdesk.core.telephony import QUEUE_FULL, HangUp, StartQueueMusic

from .harness import ALICE, SALES, SUPPORT, Desk


def test_a_call_beyond_the_queue_limit_is_refused_and_recorded_without_a_ticket() -> None:
    desk = Desk(CtiSettings(max_queued_per_service=2))
    first, _ = desk.arrive("5550001")
    second, _ = desk.arrive("5550002")
    assert len(desk.engine.queues()[0].waiting) == 2
    music_before = len([a for a in desk.phone.actions if isinstance(a, StartQueueMusic)])
    third, leg = desk.arrive("5550003")
    assert desk.phone.last(HangUp) == HangUp(third, leg, reason=QUEUE_FULL)
    # No music and no queue place for the refused call.
    assert len([a for a in desk.phone.actions if isinstance(a, StartQueueMusic)]) == music_before
    assert [c.call_id for c in desk.engine.queues()[0].waiting] == [first, second]
    assert third not in [q.call_id for q in desk.of(CallQueued)]
    ended = desk.of(CallEnded)[-1]
    assert (ended.call_id, ended.outcome, ended.cause) == (third, CallOutcome.REFUSED, QUEUE_FULL)
    assert (ended.service_id, ended.customer_number, ended.agent_id) == (1, "5550003", None)
    assert desk.of(TicketOpened) == []
    assert third not in [c.call_id for c in desk.engine.calls()]


def test_the_limit_is_per_service_and_frees_up_when_a_caller_is_taken() -> None:
    desk = Desk(CtiSettings(max_queued_per_service=1), services=[SUPPORT, SALES])
    waiting, _ = desk.arrive("5550001")
    other, _ = desk.arrive("5550009", service_id=SALES.id)  # another service's queue is its own
    assert {c.call_id for q in desk.engine.queues() for c in q.waiting} == {waiting, other}
    refused, _ = desk.arrive("5550002")
    assert desk.of(CallEnded)[-1].call_id == refused
    desk.ready(ALICE)  # Alice takes the waiting call: the queue has room again
    assert desk.of(CallOffered)[-1].call_id == waiting
    later, _ = desk.arrive("5550003")
    assert later in [c.call_id for c in desk.engine.calls()]
    assert desk.of(CallEnded)[-1].call_id == refused  # nothing else was refused


def test_a_full_queue_does_not_refuse_a_call_a_ready_agent_takes_at_once() -> None:
    desk = Desk(CtiSettings(max_queued_per_service=0))  # 0: only when an agent is Ready
    refused, _ = desk.arrive("5550001")
    assert desk.of(CallEnded)[-1].call_id == refused
    desk.ready(ALICE)
    taken, _ = desk.arrive("5550002")
    assert desk.offered(ALICE) == taken
    assert [e.call_id for e in desk.of(CallEnded)] == [refused]


def test_raising_the_limit_takes_effect_for_the_next_call() -> None:
    desk = Desk(CtiSettings(max_queued_per_service=0))
    desk.arrive()
    assert len(desk.of(CallEnded)) == 1
    desk.settings(max_queued_per_service=5)
    call, _ = desk.arrive()
    assert [c.call_id for c in desk.engine.queues()[0].waiting] == [call]
    assert len(desk.of(CallEnded)) == 1
