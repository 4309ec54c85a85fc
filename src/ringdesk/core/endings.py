"""Ending a call, or only its consultation: offers, queue, timers, legs and agents let go."""

from __future__ import annotations

from . import announce, dispositions, offers, state, status
from .events import CallbackClosed, CallEnded, ConsultationEnded
from .model import CallOutcome, CallState
from .records import AgentRecord, CallRecord
from .snapshots import Outcome
from .state import EngineState
from .telephony import HangUp, PlayThenHangUp, StopHoldMusic


def end_consultation(
    s: EngineState, call: CallRecord, reason: str, now: float, out: Outcome, *, hang_up: bool
) -> None:
    """The consultation leg is gone: the customer stays on hold, the agent is On Hold."""
    consult = call.consult
    if consult is None:
        return
    s.legs.pop(consult.leg_id, None)
    if hang_up:
        out.actions.append(HangUp(call.id, consult.leg_id))
    if consult.held and call.agent_leg is not None:
        # The consulted agent held her end: the handling agent's leg stops hearing the music
        # (after the hang-up, so it is not joined with the consultation leg again).
        out.actions.append(StopHoldMusic(call.id, call.agent_leg))
    call.consult = None
    # The customer keeps the hold music and the agent stays On Hold: they choose what next
    # (Resume, or another transfer); the view says why the consultation ended.
    call.consult_ended = (consult, reason)
    call.state = CallState.ON_HOLD
    agent_id = call.agent_id if call.agent_id is not None else 0
    out.events.append(ConsultationEnded(call.id, agent_id, reason, now, consult.agent_id))
    if call.agent_id is not None:
        offers.refresh(s, s.agents[call.agent_id], now, out)
    if consult.agent_id is not None:
        target = s.agents[consult.agent_id]
        target.call_id = None
        target.idle_since = now
        offers.refresh(s, target, now, out)


def end_call(
    s: EngineState,
    call: CallRecord,
    outcome: CallOutcome,
    ended_by: str,
    now: float,
    out: Outcome,
    *,
    keep: set[str] | None = None,
    customer_sound: str | None = None,
    withdraw_reason: str = "caller_hung_up",
    cause: str = "",
) -> None:
    """End the call everywhere: offers, queue, timers, legs (except `keep`), agents."""
    touched: list[tuple[AgentRecord, str]] = []
    for agent_id in list(call.offered_to):
        a = s.agents[agent_id]
        offers.withdraw(s, a, withdraw_reason, now, out)
        touched.append((a, ""))
    state.queue(s, call.service_id).discard(call.id)
    offers.stop_ringing_all(s, call)
    s.timers.cancel(call.wait_timer)
    s.timers.cancel(call.connect_timer)
    s.timers.cancel(call.flow_timer)
    keep = keep or set()
    consult = call.consult
    legs = [call.customer_leg, call.agent_leg, consult.leg_id if consult else None]
    for leg in legs:
        if leg is None:
            continue
        s.legs.pop(leg, None)
        if leg in keep:
            continue
        if leg == call.customer_leg and customer_sound is not None:
            out.actions.append(PlayThenHangUp(call.id, leg, customer_sound))
        else:
            out.actions.append(HangUp(call.id, leg))
    if consult is not None and consult.agent_id is not None:
        target = s.agents[consult.agent_id]
        target.call_id = None
        target.idle_since = now
        touched.append((target, ""))
    if call.agent_id is not None:
        a = s.agents[call.agent_id]
        a.call_id = None
        a.idle_since = now
        if call.ticket:
            status.start_wrap_up(s, a, now)
            dispositions.start(a, call)
        else:
            a.picked_in_call = False  # no ticket work: the chosen status applies at once
        touched.append((a, ""))
    connected = call.connected_at
    if connected is not None and outcome is CallOutcome.ANSWERED:
        announce.answered(s, call.service_id, now - connected)
    out.events.append(
        CallEnded(
            call_id=call.id,
            service_id=call.service_id,
            direction=call.direction,
            agent_id=call.agent_id,
            outcome=outcome,
            wait_seconds=max(0.0, (connected if connected is not None else now) - call.arrived_at),
            talk_seconds=max(0.0, now - connected) if connected is not None else 0.0,
            ended_by=ended_by,
            at=now,
            cause=cause,
        )
    )
    if call.callback is not None:
        out.events.append(CallbackClosed(call.id, outcome, now))
    call.state = CallState.ENDED
    del s.calls[call.id]
    for a, reason in touched:
        offers.refresh(s, a, now, out, reason)
