"""An inbound caller's way to the queue: the service's opening hours, its menu, and joining the
queue (or being refused when it is full).

    call arrives -> service closed?  -> the closed message, or forwarded
                 -> service has a menu? -> ivr.py (a choice may lead to another service: here
                                           again, its hours checked)
                 -> queue full?      -> refused (486)
                 -> queued, announced (announce.py), routed (offers.py)
"""

from __future__ import annotations

from . import announce, endings, ivr, offers, state, voicemail, waiting
from .events import CallEnded, CallQueued, CallRouted
from .hours import is_open
from .model import CallOutcome, CallState, ClosedAction, Direction, ServiceConfig
from .prompts import per
from .records import CallRecord, LegRole, Relay
from .snapshots import Outcome
from .state import EngineState
from .telephony import QUEUE_FULL, CallArrived, HangUp, Originate, StartQueueMusic


def call_arrived(s: EngineState, ev: CallArrived, now: float, out: Outcome) -> None:
    if ev.call_id in s.calls:
        return  # reported twice
    service = s.services.get(ev.service_id)
    if service is None or not service.inbound_enabled:
        _turn_away(ev, now, out, reason="inbound_disabled", outcome=CallOutcome.REJECTED)
        return
    call = CallRecord(
        id=ev.call_id,
        service_id=service.id,
        direction=Direction.INBOUND,
        customer_number=ev.caller,
        called=ev.called,
        calling_number=None,
        state=CallState.QUEUED,
        arrived_at=now,
        seq=state.next_seq(s),
        customer_leg=ev.leg_id,
    )
    if service.menu_id is not None and service.menu_id in s.menus and is_open(service.hours, now):
        s.calls[call.id] = call
        state.add_leg(s, ev.leg_id, call.id, LegRole.CUSTOMER)
        ivr.enter(s, call, service.menu_id, now, out)
        return
    to_service(s, call, service, now, out, arrived=ev)


def to_service(
    s: EngineState,
    call: CallRecord,
    service: ServiceConfig,
    now: float,
    out: Outcome,
    *,
    arrived: CallArrived | None = None,
) -> None:
    """The caller goes to the service's queue (from arrival, or chosen in a menu), unless the
    service is closed or its queue full."""
    call.service_id = service.id
    if not is_open(service.hours, now):
        _closed(s, call, service, now, out, arrived=arrived)
        return
    if _queue_full(s, service.id):
        if arrived is not None:
            _turn_away(
                arrived,
                now,
                out,
                reason=QUEUE_FULL,
                outcome=CallOutcome.REFUSED,
                cause=QUEUE_FULL,
            )
        else:  # answered by a menu already: no 486 to send, the overflow message instead
            endings.end_call(
                s, call, CallOutcome.REFUSED, "system", now, out, customer_sound="overflow"
            )
        return
    if arrived is not None:
        s.calls[call.id] = call
        state.add_leg(s, arrived.leg_id, call.id, LegRole.CUSTOMER)
    call.state = CallState.QUEUED
    # The wait is counted from joining the queue: the minutes in a menu are not queue time.
    call.arrived_at = now
    call.seq = state.next_seq(s)
    position = len(state.queue(s, service.id)) + 1
    out.events.append(
        CallQueued(call.id, service.id, call.customer_number, call.called, position, now)
    )
    assert call.customer_leg is not None
    out.actions.append(StartQueueMusic(call.id, call.customer_leg))
    waiting.schedule_max_wait(s, call)
    announce.joined(s, call, service, position, now, out)
    offers.route_call(s, call, now, out)


def _closed(
    s: EngineState,
    call: CallRecord,
    service: ServiceConfig,
    now: float,
    out: Outcome,
    *,
    arrived: CallArrived | None,
) -> None:
    """Outside opening hours or on a holiday: forwarded, or the closed message and goodbye.
    Recorded (outcome closed or closed_forwarded), without a ticket: nobody took the call."""
    leg = call.customer_leg
    assert leg is not None
    if arrived is not None:
        s.calls[call.id] = call
        state.add_leg(s, leg, call.id, LegRole.CUSTOMER)
    note = f"{service.name} closed"
    call.path.append((now, note))
    out.events.append(CallRouted(call.id, service.id, call.customer_number, call.called, note, now))
    if service.closed_action is ClosedAction.FORWARD and service.closed_number:
        forward(
            s,
            call,
            service.closed_number,
            now,
            out,
            cause="closed",
            outcome=CallOutcome.CLOSED_FORWARDED,
        )
        return
    if service.closed_action is ClosedAction.VOICEMAIL:
        voicemail.start(s, call, service, now, out)
        return
    endings.end_call(
        s,
        call,
        CallOutcome.CLOSED,
        "system",
        now,
        out,
        customer_sound=per("closed", service.id),
    )


def forward(
    s: EngineState,
    call: CallRecord,
    number: str,
    now: float,
    out: Outcome,
    *,
    cause: str,
    outcome: CallOutcome = CallOutcome.FORWARDED,
) -> None:
    """Send the caller on to an outside number: a relay the engine only watches (the call
    itself ends here, outcome forwarded, or closed_forwarded while closed)."""
    customer = call.customer_leg
    assert customer is not None
    leg = s.new_id()
    out.actions.append(Originate(call.id, leg, number, state.outside_calling_number(s, call)))
    s.relays[leg] = Relay(call.id, customer, pending=True)
    s.relays[customer] = Relay(call.id, leg, pending=True)
    endings.end_call(s, call, outcome, "system", now, out, keep={customer}, cause=cause)


def _queue_full(s: EngineState, service_id: int) -> bool:
    """Whether a new call would have to wait behind the most the settings allow. A call a Ready
    agent takes at once never waits, so it is not refused however long the queue is."""
    waiting_now = len(state.queue(s, service_id))
    return waiting_now >= s.settings.max_queued_per_service and not state.pool(s, service_id)


def _turn_away(
    ev: CallArrived,
    now: float,
    out: Outcome,
    *,
    reason: str,
    outcome: CallOutcome,
    cause: str = "",
) -> None:
    """A call hung up before it was queued: the hang-up and its call record."""
    out.actions.append(HangUp(ev.call_id, ev.leg_id, reason=reason))
    out.events.append(
        CallEnded(
            call_id=ev.call_id,
            service_id=ev.service_id,
            direction=Direction.INBOUND,
            agent_id=None,
            outcome=outcome,
            wait_seconds=0.0,
            talk_seconds=0.0,
            ended_by="system",
            at=now,
            cause=cause,
            customer_number=ev.caller,
        )
    )
