"""A caller waiting for an agent: back to routing when an offer is lost, the maximum wait, and
the overflow (a message, or a forward to another number) when it passes."""

from __future__ import annotations

from . import endings, offers, state
from .deadlines import TimerKind
from .model import CallOutcome, CallState, OverflowAction
from .records import CallRecord, Relay
from .snapshots import Outcome
from .state import EngineState
from .telephony import Originate

# The states of a caller not yet talking to an agent.
WAITING = (CallState.QUEUED, CallState.OFFERED, CallState.CONNECTING)


def offer_lost(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    """After a withdrawal: a call no longer ringing anyone goes back to routing."""
    if call.state is CallState.OFFERED and not call.offered_to:
        requeue(s, call, now, out)


def requeue(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    offers.stop_ringing_all(s, call)
    if call.overflow_due:
        overflow(s, call, now, out)
        return
    call.state = CallState.QUEUED
    offers.route_call(s, call, now, out)


def schedule_max_wait(s: EngineState, call: CallRecord) -> None:
    s.timers.cancel(call.wait_timer)
    call.wait_timer = 0
    service = s.services.get(call.service_id)
    if (
        service is not None
        and call.callback is None  # nobody on the line: a callback never overflows
        and service.max_wait_seconds is not None
        and service.overflow_action is not OverflowAction.NONE
    ):
        call.wait_timer = s.timers.schedule(
            call.arrived_at + service.max_wait_seconds, TimerKind.MAX_WAIT, call.id
        )


def overflow(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    """The caller waited the maximum: play the overflow message, or forward the call."""
    service = s.services.get(call.service_id)
    customer = call.customer_leg
    if (
        service is not None
        and service.overflow_action is OverflowAction.FORWARD
        and service.overflow_number
        and customer is not None
    ):
        leg = s.new_id()
        out.actions.append(
            Originate(call.id, leg, service.overflow_number, state.outside_calling_number(s, call))
        )
        s.relays[leg] = Relay(call.id, customer, pending=True)
        s.relays[customer] = Relay(call.id, leg, pending=True)
        endings.end_call(s, call, CallOutcome.OVERFLOWED, "system", now, out, keep={customer})
    else:
        endings.end_call(
            s, call, CallOutcome.OVERFLOWED, "system", now, out, customer_sound="overflow"
        )
