"""The call widget's buttons: Answer, Dial up, Hold/Resume, Transfer, Force Disconnect, End."""

from __future__ import annotations

from collections.abc import Collection

from . import callback, dialplan, dispositions, endings, offers, state, status
from .commands import (
    Answer,
    CancelConsultation,
    ConnectToCustomer,
    Dial,
    EndCall,
    ForceDisconnect,
    Hold,
    Resume,
    StartConsultation,
)
from .errors import CoreError, InvalidInput, NotFound
from .events import (
    CallDialed,
    CallHeld,
    CallResumed,
    CallTransferred,
    ConsultationHeld,
    ConsultationResumed,
    ConsultationStarted,
    TicketOpened,
)
from .model import STATUS_LABELS, CallOutcome, CallState, Direction
from .records import AgentRecord, CallRecord, ConsultRecord, LegRole, Relay
from .snapshots import Outcome
from .state import EngineState
from .telephony import (
    AnswerLeg,
    Bridge,
    HangUp,
    Originate,
    RingAgent,
    StartHoldMusic,
    StopHoldMusic,
)

_IN_CALL = (CallState.TALKING, CallState.ON_HOLD, CallState.CONSULTING)


def _own_call(
    s: EngineState, a: AgentRecord, call_id: str, action: str, allowed: Collection[CallState]
) -> CallRecord:
    """The call the agent handles (not one they are consulted on), in an allowed state."""
    if not a.logged_in or a.call_id is None:
        raise state.illegal(s, a, action)
    call = s.calls[a.call_id]
    if call.id != call_id:
        raise NotFound("You have no such call.", code="call_not_found")
    if call.agent_id != a.config.id or call.state not in allowed:
        raise state.illegal(s, a, action)
    return call


def answer(s: EngineState, cmd: Answer, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    if not a.logged_in or a.call_id is not None:
        raise state.illegal(s, a, "Answer")
    if a.offer != cmd.call_id:
        raise CoreError("This call is no longer offered to you.", code="offer_expired")
    if a.config.prewarm and a.offer_leg is not None:
        # The browser phone took the offer's leg already (its media is up): the switch reports
        # it answered and calls.leg_answered accepts the offer, as for a phone picked up.
        if not a.answer_asked:
            a.answer_asked = True
            out.actions.append(AnswerLeg(cmd.call_id, a.offer_leg))
        return
    offers.accept(s, a, s.calls[cmd.call_id], now, out)


def _live_outbound(s: EngineState, a: AgentRecord) -> bool:
    """Whether the agent has a trunk call going: the outbound call they handle, or a call
    they transferred to an outside number whose legs are still bridged."""
    call = s.calls.get(a.call_id) if a.call_id is not None else None
    if call is not None and call.direction is Direction.OUTBOUND and call.agent_id == a.config.id:
        return True
    return any(relay.agent_id == a.config.id for relay in s.relays.values())


def dial(s: EngineState, cmd: Dial, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    dialplan.normalise(cmd.number)  # not a phone number: said first, whatever the state
    if a.logged_in and _live_outbound(s, a):
        raise CoreError(
            "You already have an outbound call in progress; end it before dialling again.",
            code="outbound_call_in_progress",
        )
    if not a.logged_in or a.call_id is not None or a.offer is not None:
        raise state.illegal(s, a, "Dial up")
    service = s.services.get(cmd.service_id)
    if service is None:
        raise NotFound(f"There is no service {cmd.service_id}.", code="service_not_found")
    if service.id not in a.config.services:
        raise CoreError(
            f"You have no phone permission on {service.name}.",
            code="phone_permission_missing",
        )
    if not service.outbound_enabled:
        raise CoreError(
            f"Outbound calls (Phone CTI - OB) are not enabled for {service.name}.",
            code="outbound_disabled",
        )
    if cmd.calling_number not in service.calling_numbers:
        raise CoreError(
            f"{cmd.calling_number} is not a registered calling number of {service.name}.",
            code="calling_number_not_registered",
        )
    number = dialplan.decide(cmd.number, service.dial_plan).number
    if not a.reachable:
        raise CoreError(
            "Your phone is not registered, so the call cannot reach you.",
            code="phone_not_registered",
        )
    if a.wrap_up:
        status.leave_wrap_up(s, a)  # starting a new call ends the previous call's work
    a.picked_in_call = False
    call = CallRecord(
        id=s.new_id(),
        service_id=service.id,
        direction=Direction.OUTBOUND,
        customer_number=number,
        called=number,
        calling_number=cmd.calling_number,
        state=CallState.DIALING,
        arrived_at=now,
        seq=state.next_seq(s),
        agent_id=a.config.id,
    )
    s.calls[call.id] = call
    a.call_id = call.id
    leg = s.new_id()
    call.agent_leg = leg
    state.add_leg(s, leg, call.id, LegRole.AGENT)
    out.events.append(CallDialed(call.id, a.config.id, service.id, number, cmd.calling_number, now))
    if s.settings.outbound_ticket_on_dial:
        call.ticket = True
        out.events.append(
            TicketOpened(call.id, a.config.id, service.id, call.direction, number, now)
        )
    # The agent's phone first (auto answer); the customer is called once it has answered.
    out.actions.append(RingAgent(call.id, leg, a.config.id, a.config.cti_id or ""))
    offers.refresh(s, a, now, out)


def _consulted_call(s: EngineState, a: AgentRecord, call_id: str) -> CallRecord | None:
    """The call whose consultation rings or talks to the agent (she is its target, not its
    agent), or None."""
    if not a.logged_in or a.call_id != call_id:
        return None
    call = s.calls[call_id]
    consult = call.consult
    if consult is None or consult.agent_id != a.config.id or call.agent_id == a.config.id:
        return None
    return call


def _hold_consultation(
    s: EngineState, a: AgentRecord, call: CallRecord, held: bool, now: float, out: Outcome
) -> None:
    """The consulted agent holds her end (or takes it off hold): the handling agent's leg is
    split from hers and hears the hold music; the switch joins them again on StopHoldMusic."""
    consult = call.consult
    assert consult is not None
    action = "Hold" if held else "Resume"
    if not consult.answered or consult.held == held or call.agent_leg is None:
        raise state.illegal(s, a, action)
    consult.held = held
    handler = call.agent_id if call.agent_id is not None else 0
    if held:
        out.actions.append(StartHoldMusic(call.id, call.agent_leg))
        out.events.append(ConsultationHeld(call.id, handler, a.config.id, now))
    else:
        out.actions.append(StopHoldMusic(call.id, call.agent_leg))
        out.events.append(ConsultationResumed(call.id, handler, a.config.id, now))
    offers.refresh(s, a, now, out)


def hold(s: EngineState, cmd: Hold, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    consulted = _consulted_call(s, a, cmd.call_id)
    if consulted is not None:
        _hold_consultation(s, a, consulted, True, now, out)
        return
    call = _own_call(s, a, cmd.call_id, "Hold", (CallState.TALKING,))
    call.state = CallState.ON_HOLD
    if call.customer_leg is not None:
        out.actions.append(StartHoldMusic(call.id, call.customer_leg))
    out.events.append(CallHeld(call.id, a.config.id, now))
    offers.refresh(s, a, now, out)


def resume(s: EngineState, cmd: Resume, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    consulted = _consulted_call(s, a, cmd.call_id)
    if consulted is not None:
        _hold_consultation(s, a, consulted, False, now, out)
        return
    call = _own_call(s, a, cmd.call_id, "Resume", (CallState.ON_HOLD,))
    call.state = CallState.TALKING
    call.consult_ended = None
    if call.customer_leg is not None and call.agent_leg is not None:
        out.actions.append(StopHoldMusic(call.id, call.customer_leg))
        # Explicit: after a cancelled consultation the agent leg was bridged elsewhere.
        out.actions.append(
            Bridge(
                call.id,
                call.customer_leg,
                call.agent_leg,
                record=state.records(s, call.service_id),
            )
        )
    out.events.append(CallResumed(call.id, a.config.id, now))
    offers.refresh(s, a, now, out)


def start_consultation(s: EngineState, cmd: StartConsultation, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    colleague: int | None = None  # the agent whose CTI number was typed ("10 02" too)
    if cmd.number is not None:
        # Not a phone number: said first, whatever the state.
        typed = dialplan.normalise(cmd.number).number
        colleague = s.by_cti_number.get(cmd.number, s.by_cti_number.get(typed))
    call = _own_call(s, a, cmd.call_id, "Transfer", _IN_CALL)
    if call.state is CallState.CONSULTING:
        raise CoreError(
            "A consultation call is already in progress; connect or cancel it first.",
            code="transfer_in_progress",
        )
    if (cmd.number is None) == (cmd.target_agent_id is None):
        raise InvalidInput("Give either a number or an agent to transfer to.")
    target: AgentRecord | None = None
    outside: str | None = None  # the number to call through the trunk
    if cmd.target_agent_id is not None:
        target = state.agent_rec(s, cmd.target_agent_id)
    elif colleague is not None:
        target = s.agents[colleague]
    elif cmd.number is not None:
        # An outside number: the service's dial plan decides, as for Dial up.
        service = s.services.get(call.service_id)
        plan = service.dial_plan if service is not None else dialplan.DEFAULT_PLAN
        outside = dialplan.decide(cmd.number, plan).number
    if target is a:
        raise InvalidInput("You cannot transfer a call to yourself.", code="invalid_target")
    if target is not None and (
        not target.logged_in
        or target.call_id is not None
        or target.offer is not None
        or not target.reachable
    ):
        why = "phone not registered" if target.logged_in else "logged out"
        if target.logged_in and target.reachable:
            why = STATUS_LABELS[target.status]
        raise CoreError(
            f"{target.config.name} cannot take a call now ({why}).",
            code="target_unavailable",
        )
    leg = s.new_id()
    if call.state is CallState.TALKING and call.customer_leg is not None:
        out.actions.append(StartHoldMusic(call.id, call.customer_leg))
    call.state = CallState.CONSULTING
    call.consult_ended = None
    number = outside
    if target is not None:
        number = cmd.number if cmd.number is not None else target.config.cti_number
    call.consult = ConsultRecord(leg, number, target.config.id if target else None)
    state.add_leg(s, leg, call.id, LegRole.CONSULT)
    if target is not None:
        target.call_id = call.id
        target.picked_in_call = False  # only a choice made from now on is kept for later
        out.actions.append(RingAgent(call.id, leg, target.config.id, target.config.cti_id or ""))
    else:
        assert outside is not None
        out.actions.append(Originate(call.id, leg, outside, state.outside_calling_number(s, call)))
    out.events.append(
        ConsultationStarted(call.id, a.config.id, number, target.config.id if target else None, now)
    )
    offers.refresh(s, a, now, out)
    if target is not None:
        offers.refresh(s, target, now, out)


def connect_to_customer(s: EngineState, cmd: ConnectToCustomer, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    call = _own_call(s, a, cmd.call_id, "Connect to Customer", (CallState.CONSULTING,))
    consult = call.consult
    assert consult is not None and call.customer_leg is not None
    if not consult.answered:
        raise CoreError(
            "The consultation call has not been answered yet.",
            code="consultation_not_answered",
        )
    out.actions.append(StopHoldMusic(call.id, call.customer_leg))
    # The customer and whom the call is transferred to: recorded as the service says.
    record = state.records(s, call.service_id)
    out.actions.append(Bridge(call.id, call.customer_leg, consult.leg_id, record=record))
    out.events.append(CallTransferred(call.id, a.config.id, consult.agent_id, consult.number, now))
    if consult.agent_id is None:
        # An outside number: the call leaves the contact center; the two legs stay bridged.
        s.relays[call.customer_leg] = Relay(call.id, consult.leg_id, agent_id=a.config.id)
        s.relays[consult.leg_id] = Relay(call.id, call.customer_leg, agent_id=a.config.id)
        keep = {call.customer_leg, consult.leg_id}
        endings.end_call(s, call, CallOutcome.TRANSFERRED, "agent", now, out, keep=keep)
        return
    # An agent: they become the call's agent, on the consultation leg; the ticket stays.
    target = s.agents[consult.agent_id]
    old_leg = call.agent_leg
    if old_leg is not None:
        s.legs.pop(old_leg, None)
        out.actions.append(HangUp(call.id, old_leg))
    call.agent_id = target.config.id
    call.agent_leg = consult.leg_id
    s.legs[consult.leg_id] = (call.id, LegRole.AGENT)
    call.consult = None
    call.state = CallState.TALKING
    target.calls_taken += 1
    a.call_id = None
    a.idle_since = now
    status.start_wrap_up(s, a, now)
    dispositions.start(a, call)
    offers.refresh(s, a, now, out)
    offers.refresh(s, target, now, out)


def cancel_consultation(s: EngineState, cmd: CancelConsultation, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    call = _own_call(s, a, cmd.call_id, "Cancel", (CallState.CONSULTING,))
    endings.end_consultation(s, call, "cancelled", now, out, hang_up=True)


def force_disconnect(s: EngineState, cmd: ForceDisconnect, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    call = _own_call(s, a, cmd.call_id, "Force Disconnect", _IN_CALL)
    endings.end_call(
        s,
        call,
        CallOutcome.FORCE_DISCONNECTED,
        "agent",
        now,
        out,
        customer_sound="force_disconnect",
    )


def end(s: EngineState, cmd: EndCall, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    if a.logged_in and a.call_id == cmd.call_id:
        call = s.calls[cmd.call_id]
        consult = call.consult
        if consult is not None and consult.agent_id == a.config.id:
            # The consulted agent hangs up: only the consultation ends.
            endings.end_consultation(s, call, "target_hung_up", now, out, hang_up=True)
            return
    call = _own_call(s, a, cmd.call_id, "End", (CallState.DIALING, *_IN_CALL))
    if call.callback is not None and call.connected_at is None:
        # End while the customer's phone rings: this attempt is over, the callback is not.
        callback.attempt_failed(s, call, "cancelled", now, out, gone="")
        return
    outcome = CallOutcome.CANCELLED if call.connected_at is None else CallOutcome.ANSWERED
    endings.end_call(s, call, outcome, "agent", now, out)
