"""What the switch reports: calls arriving, legs answering, hanging up or failing; call deadlines.

Events about legs the engine no longer knows (it hung them up itself, or the call is over) are
ignored: the switch reports every leg's end, including the ones the engine asked for.
"""

from __future__ import annotations

from typing import assert_never

from . import callback, endings, ivr, offers, state, status, voicemail, waiting
from .events import (
    CallConnected,
    CallFailed,
    ConsultationAnswered,
    OfferWithdrawn,
    RecordingStarted,
    TicketOpened,
)
from .model import CallOutcome, CallState, Direction, FailureReason
from .records import AgentRecord, CallRecord, LegRole
from .snapshots import Outcome
from .state import EngineState
from .telephony import (
    LOST_CAUSES,
    Bridge,
    CallRecording,
    DigitPressed,
    HangUp,
    LegAnswered,
    LegFailed,
    LegHungUp,
    Originate,
    PlaybackFinished,
    PlayThenHangUp,
    VoicemailRecorded,
)

_FAILURE_OUTCOME = {
    FailureReason.BUSY: CallOutcome.BUSY,
    FailureReason.NO_ANSWER: CallOutcome.NO_ANSWER,
    FailureReason.REJECTED: CallOutcome.REJECTED,
    FailureReason.UNREACHABLE: CallOutcome.UNREACHABLE,
    FailureReason.NOT_REGISTERED: CallOutcome.FAILED,
}


def digit_pressed(s: EngineState, ev: DigitPressed, now: float, out: Outcome) -> None:
    """A key the caller pressed: a menu choice, a callback asked for in the queue or set up;
    ignored anywhere else (an agent's phone keys go to the far end as they are, not to us)."""
    entry = s.legs.get(ev.leg_id)
    if entry is None or entry[1] is not LegRole.CUSTOMER:
        return
    call = s.calls[entry[0]]
    if call.state is CallState.IN_MENU:
        ivr.digit(s, call, ev.digit, now, out)
    elif call.state is CallState.QUEUED:
        callback.key_in_queue(s, call, ev.digit, now, out)
    elif call.state is CallState.CALLBACK_SETUP:
        callback.setup_key(s, call, ev.digit, now, out)


def voicemail_recorded(s: EngineState, ev: VoicemailRecorded, now: float, out: Outcome) -> None:
    entry = s.legs.get(ev.leg_id)
    if entry is not None and entry[1] is LegRole.CUSTOMER:
        voicemail.recorded(s, s.calls[entry[0]], ev, now, out)


def call_recording(s: EngineState, ev: CallRecording, now: float, out: Outcome) -> None:
    """Nothing to decide: the recording is the call's, for the store to keep with its ticket."""
    entry = s.legs.get(ev.leg_id)
    if entry is not None:
        out.events.append(RecordingStarted(entry[0], ev.path, now))


def playback_finished(s: EngineState, ev: PlaybackFinished, now: float) -> None:
    entry = s.legs.get(ev.leg_id)
    if entry is None or entry[1] is not LegRole.CUSTOMER:
        return
    call = s.calls[entry[0]]
    if call.state is CallState.IN_MENU:
        ivr.prompt_finished(s, call, now)
    elif call.state is CallState.CALLBACK_SETUP:
        callback.setup_prompt_finished(s, call, now)


def _connected(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    assert call.agent_id is not None
    a = s.agents[call.agent_id]
    s.timers.cancel(call.wait_timer)
    s.timers.cancel(call.connect_timer)
    call.wait_timer = call.connect_timer = 0
    call.overflow_due = False
    call.state = CallState.TALKING
    call.connected_at = now
    a.calls_taken += 1
    out.events.append(
        CallConnected(
            call.id,
            a.config.id,
            call.service_id,
            call.direction,
            call.customer_number,
            now - call.arrived_at,
            now,
        )
    )
    if not call.ticket or call.callback is not None:
        # A callback's ticket is open already (nobody's): the agent who called back gets it.
        call.ticket = True
        out.events.append(
            TicketOpened(
                call.id,
                a.config.id,
                call.service_id,
                call.direction,
                call.customer_number,
                now,
                tuple(call.path),
            )
        )
    offers.refresh(s, a, now, out)


def leg_answered(s: EngineState, ev: LegAnswered, now: float, out: Outcome) -> None:
    relay = s.relays.get(ev.leg_id)
    if relay is not None:
        if relay.pending:  # the overflow number answered: connect the waiting caller
            relay.pending = False
            peer = s.relays.get(relay.peer)
            if peer is not None:
                peer.pending = False
            out.actions.append(Bridge(relay.call_id, relay.peer, ev.leg_id))
        return
    entry = s.legs.get(ev.leg_id)
    if entry is None:
        return
    call = s.calls[entry[0]]
    role = entry[1]
    match role:
        case LegRole.AGENT:
            if call.state is CallState.CONNECTING and call.callback is not None:
                callback.agent_answered(s, call, now, out)  # now the customer is called
            elif call.state is CallState.CONNECTING and call.customer_leg is not None:
                out.actions.append(_bridge(s, call, call.customer_leg, ev.leg_id))
                _connected(s, call, now, out)
            elif call.state is CallState.DIALING and call.customer_leg is None:
                leg = s.new_id()
                call.customer_leg = leg
                state.add_leg(s, leg, call.id, LegRole.CUSTOMER)
                out.actions.append(
                    Originate(call.id, leg, call.customer_number, call.calling_number or "")
                )
        case LegRole.CUSTOMER:
            if (
                (call.direction is Direction.OUTBOUND or call.callback is not None)
                and call.state is CallState.DIALING
                and call.agent_leg is not None
            ):
                out.actions.append(_bridge(s, call, call.agent_leg, ev.leg_id))
                _connected(s, call, now, out)
        case LegRole.OFFER:
            a = _offer_agent(s, call, ev.leg_id)
            if a is not None and a.call_id is None and call.callback is not None:
                # A callback's offer picked up on the phone: the customer is called now.
                offers.accept(s, a, call, now, out, answered_leg=ev.leg_id)
                callback.agent_answered(s, call, now, out)
            elif a is not None and a.call_id is None and call.customer_leg is not None:
                # Picked up while it rang with the offer: answered as the widget's Answer.
                offers.accept(s, a, call, now, out, answered_leg=ev.leg_id)
                out.actions.append(_bridge(s, call, call.customer_leg, ev.leg_id))
                _connected(s, call, now, out)
            else:  # not this agent's offer any more: the phone hangs up again
                s.legs.pop(ev.leg_id, None)
                if a is not None:
                    a.offer_leg = None
                out.actions.append(HangUp(call.id, ev.leg_id))
        case LegRole.CONSULT:
            consult = call.consult
            if consult is not None and consult.leg_id == ev.leg_id and not consult.answered:
                consult.answered = True
                if call.agent_leg is not None:
                    out.actions.append(Bridge(call.id, call.agent_leg, ev.leg_id))
                out.events.append(
                    ConsultationAnswered(call.id, call.agent_id or 0, now, consult.agent_id)
                )
        case _:
            assert_never(role)


def _bridge(s: EngineState, call: CallRecord, leg_a: str, leg_b: str) -> Bridge:
    """The customer and the agent joined: recorded as the call's service says."""
    return Bridge(call.id, leg_a, leg_b, record=state.records(s, call.service_id))


def _relay_gone(s: EngineState, leg_id: str, failed: bool, out: Outcome) -> bool:
    """A leg of a relay ended: end the other one. False if the leg is not a relay's."""
    relay = s.relays.pop(leg_id, None)
    if relay is None:
        return False
    peer = s.relays.pop(relay.peer, None)
    if peer is not None:
        if failed and relay.pending:  # the forward failed: the caller hears the message
            out.actions.append(PlayThenHangUp(relay.call_id, relay.peer, "overflow"))
        else:
            out.actions.append(HangUp(relay.call_id, relay.peer))
    return True


def _ended_leg(
    s: EngineState, leg_id: str, failed: bool, out: Outcome
) -> tuple[CallRecord, LegRole] | None:
    """The call and role of a leg that is gone; None when there is nothing left to decide (a
    relayed leg, handled here, or a leg the engine no longer knows)."""
    if _relay_gone(s, leg_id, failed, out):
        return None
    entry = s.legs.get(leg_id)
    if entry is None:
        return None
    return s.calls[entry[0]], entry[1]


def leg_hung_up(s: EngineState, ev: LegHungUp, now: float, out: Outcome) -> None:
    found = _ended_leg(s, ev.leg_id, False, out)
    if found is None:
        return
    call, role = found
    gone = {ev.leg_id}
    # A phone that went silent or stopped refreshing (gone off the network) did not hang up:
    # the switch did.
    lost = ev.cause in LOST_CAUSES
    cause = ev.cause if lost else ""
    match role:
        case LegRole.CUSTOMER:
            if call.state is CallState.VOICEMAIL:
                voicemail.ended(s, call, "system" if lost else "customer", now, out, ev.leg_id)
            elif call.connected_at is not None:
                by = "system" if lost else "customer"
                endings.end_call(
                    s, call, CallOutcome.ANSWERED, by, now, out, keep=gone, cause=cause
                )
            elif call.callback is not None:  # the customer declined the callback's call
                callback.attempt_failed(s, call, "rejected", now, out, gone=ev.leg_id)
            elif call.direction is Direction.OUTBOUND:
                _fail_call(s, call, FailureReason.REJECTED, ev.leg_id, now, out)
            else:
                endings.end_call(s, call, CallOutcome.ABANDONED, "customer", now, out, keep=gone)
        case LegRole.AGENT:
            if call.state is CallState.CONNECTING:
                _connect_failed(s, call, "phone_hung_up", now, out, leg_gone=True)
            elif call.connected_at is None and call.callback is not None:
                # The agent gave up while the customer's phone rang: tried again later.
                callback.attempt_failed(s, call, "cancelled", now, out, gone=ev.leg_id)
            elif call.connected_at is None:
                endings.end_call(s, call, CallOutcome.CANCELLED, "agent", now, out, keep=gone)
            else:
                by = "system" if lost else "agent"
                endings.end_call(
                    s, call, CallOutcome.ANSWERED, by, now, out, keep=gone, cause=cause
                )
        case LegRole.CONSULT:
            endings.end_consultation(s, call, "target_hung_up", now, out, hang_up=False)
        case LegRole.OFFER:
            _offer_leg_gone(s, call, ev.leg_id, now, out)
        case _:
            assert_never(role)


def _offer_agent(s: EngineState, call: CallRecord, leg_id: str) -> AgentRecord | None:
    """The agent whose phone rings with the offer on this leg."""
    for agent_id in call.offered_to:
        a = s.agents[agent_id]
        if a.offer == call.id and a.offer_leg == leg_id:
            return a
    return None


def _offer_leg_gone(
    s: EngineState, call: CallRecord, leg_id: str, now: float, out: Outcome
) -> None:
    """The phone ringing with the offer declined it or could not be rung: the offer stays in
    the widget until it is answered there (which rings the phone again) or runs out. A
    prewarmed browser leg lost after the agent clicked Answer: the click stands, the browser
    is rung again as for any Answer."""
    a = _offer_agent(s, call, leg_id)
    if a is not None:
        asked = a.answer_asked
        offers.drop_offer_leg(s, a, call.id, None)
        if asked and a.call_id is None:
            offers.accept(s, a, call, now, out)
    else:
        s.legs.pop(leg_id, None)


def leg_failed(s: EngineState, ev: LegFailed, now: float, out: Outcome) -> None:
    found = _ended_leg(s, ev.leg_id, True, out)
    if found is None:
        return
    call, role = found
    if role is LegRole.OFFER:
        _offer_leg_gone(s, call, ev.leg_id, now, out)
    elif role is LegRole.CONSULT:
        endings.end_consultation(s, call, ev.reason.value, now, out, hang_up=False)
    elif role is LegRole.AGENT and call.state is CallState.CONNECTING:
        _connect_failed(s, call, f"phone_{ev.reason.value}", now, out, leg_gone=True)
    elif role is LegRole.CUSTOMER and call.connected_at is None and call.callback is not None:
        callback.attempt_failed(s, call, ev.reason.value, now, out, gone=ev.leg_id)
    elif call.connected_at is None and call.direction is Direction.OUTBOUND:
        _fail_call(s, call, ev.reason, ev.leg_id, now, out)
    else:
        # A leg that was up cannot fail; treat a late report as that leg hanging up.
        leg_hung_up(s, LegHungUp(ev.leg_id, ev.reason.value), now, out)


def _fail_call(
    s: EngineState, call: CallRecord, reason: FailureReason, leg_id: str, now: float, out: Outcome
) -> None:
    """An outbound call could not be set up: tell the agent why and end it."""
    out.events.append(CallFailed(call.id, call.agent_id or 0, reason.value, now))
    endings.end_call(s, call, _FAILURE_OUTCOME[reason], "system", now, out, keep={leg_id})


def _connect_failed(
    s: EngineState, call: CallRecord, reason: str, now: float, out: Outcome, *, leg_gone: bool
) -> None:
    """After Answer the agent's phone did not pick up: re-route the call, move the agent."""
    assert call.agent_id is not None
    a = s.agents[call.agent_id]
    leg = call.agent_leg
    if leg is not None:
        s.legs.pop(leg, None)
        if not leg_gone:
            out.actions.append(HangUp(call.id, leg))
    call.agent_leg = None
    call.agent_id = None
    s.timers.cancel(call.connect_timer)
    call.connect_timer = 0
    a.call_id = None
    out.events.append(OfferWithdrawn(call.id, a.config.id, reason, now))
    status_reason = status.missed(s, a, reason, now, out)
    waiting.requeue(s, call, now, out)
    offers.refresh(s, a, now, out, status_reason)


def connect_expired(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    if call.state is CallState.CONNECTING:
        _connect_failed(s, call, "phone_no_answer", now, out, leg_gone=False)


def max_wait_expired(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    call.wait_timer = 0
    if call.state is CallState.QUEUED:
        state.queue(s, call.service_id).discard(call.id)
        waiting.overflow(s, call, now, out)
    elif call.state in (CallState.OFFERED, CallState.CONNECTING, CallState.CALLBACK_SETUP):
        # Applied if this offer or connection fails, or the caller keeps waiting after all.
        call.overflow_due = True
