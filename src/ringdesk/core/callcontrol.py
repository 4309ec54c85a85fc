"""The call widget's buttons: Answer, Dial up, Hold/Resume, Transfer, Force Disconnect, End."""

from __future__ import annotations

from collections.abc import Collection

from .base import EngineBase
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
    ConsultationStarted,
    TicketOpened,
)
from .model import STATUS_LABELS, CallOutcome, CallState, Direction
from .records import AgentRecord, CallRecord, ConsultRecord, LegRole, Relay
from .telephony import (
    Bridge,
    HangUp,
    Originate,
    RingAgent,
    StartHoldMusic,
    StopHoldMusic,
)
from .timers import TimerKind
from .views import Outcome

_IN_CALL = (CallState.TALKING, CallState.ON_HOLD, CallState.CONSULTING)


class CallControl(EngineBase):
    def _own_call(
        self, a: AgentRecord, call_id: str, action: str, allowed: Collection[CallState]
    ) -> CallRecord:
        """The call the agent handles (not one they are consulted on), in an allowed state."""
        if not a.logged_in or a.call_id is None:
            raise self._illegal(a, action)
        call = self._calls[a.call_id]
        if call.id != call_id:
            raise NotFound("You have no such call.", code="call_not_found")
        if call.agent_id != a.config.id or call.state not in allowed:
            raise self._illegal(a, action)
        return call

    def _answer(self, cmd: Answer, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        if not a.logged_in or a.call_id is not None:
            raise self._illegal(a, "Answer")
        if a.offer != cmd.call_id:
            raise CoreError("This call is no longer offered to you.", code="offer_expired")
        call = self._calls[cmd.call_id]
        self._timers.cancel(a.offer_timer)
        a.offer = None
        a.offer_timer = 0
        call.offered_to.pop(a.config.id, None)
        others = [self._agents[i] for i in call.offered_to]
        for other in others:
            self._withdraw(other, "answered_elsewhere", now, out)
        self._stop_ringing_all(call)
        a.missed = 0
        a.picked_in_call = False
        a.call_id = call.id
        call.agent_id = a.config.id
        call.state = CallState.CONNECTING
        leg = self._new_id()
        call.agent_leg = leg
        self._add_leg(leg, call.id, LegRole.AGENT)
        # The phone auto-answers; if it does not within the pickup time (at least a few seconds,
        # for a phone that is slow to pick up) the call is re-routed.
        call.connect_timer = self._timers.schedule(
            now + max(self._settings.pickup_seconds, 5.0), TimerKind.CONNECT, call.id
        )
        out.actions.append(RingAgent(call.id, leg, a.config.id, a.config.cti_id or ""))
        self._refresh(a, now, out)
        for other in others:
            self._refresh(other, now, out)

    def _auto_answer(self, a: AgentRecord, call: CallRecord, now: float, out: Outcome) -> None:
        self._answer(Answer(a.config.id, call.id), now, out)

    def _dial(self, cmd: Dial, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        if not a.logged_in or a.call_id is not None or a.offer is not None:
            raise self._illegal(a, "Dial up")
        service = self._services.get(cmd.service_id)
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
        if not a.reachable:
            raise CoreError(
                "Your phone is not registered, so the call cannot reach you.",
                code="phone_not_registered",
            )
        if a.wrap_up:
            self._leave_wrap_up(a)  # starting a new call ends the previous call's work
        a.picked_in_call = False
        call = CallRecord(
            id=self._new_id(),
            service_id=service.id,
            direction=Direction.OUTBOUND,
            customer_number=cmd.number,
            called=cmd.number,
            calling_number=cmd.calling_number,
            state=CallState.DIALING,
            arrived_at=now,
            seq=self._next_seq(),
            agent_id=a.config.id,
        )
        self._calls[call.id] = call
        a.call_id = call.id
        leg = self._new_id()
        call.agent_leg = leg
        self._add_leg(leg, call.id, LegRole.AGENT)
        out.events.append(
            CallDialed(call.id, a.config.id, service.id, cmd.number, cmd.calling_number, now)
        )
        if self._settings.outbound_ticket_on_dial:
            call.ticket = True
            out.events.append(
                TicketOpened(call.id, a.config.id, service.id, call.direction, cmd.number, now)
            )
        # The agent's phone first (auto answer); the customer is called once it has answered.
        out.actions.append(RingAgent(call.id, leg, a.config.id, a.config.cti_id or ""))
        self._refresh(a, now, out)

    def _hold(self, cmd: Hold, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        call = self._own_call(a, cmd.call_id, "Hold", (CallState.TALKING,))
        call.state = CallState.ON_HOLD
        if call.customer_leg is not None:
            out.actions.append(StartHoldMusic(call.id, call.customer_leg))
        out.events.append(CallHeld(call.id, a.config.id, now))
        self._refresh(a, now, out)

    def _resume(self, cmd: Resume, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        call = self._own_call(a, cmd.call_id, "Resume", (CallState.ON_HOLD,))
        call.state = CallState.TALKING
        if call.customer_leg is not None and call.agent_leg is not None:
            out.actions.append(StopHoldMusic(call.id, call.customer_leg))
            # Explicit: after a cancelled consultation the agent leg was bridged elsewhere.
            out.actions.append(Bridge(call.id, call.customer_leg, call.agent_leg))
        out.events.append(CallResumed(call.id, a.config.id, now))
        self._refresh(a, now, out)

    def _start_consultation(self, cmd: StartConsultation, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        call = self._own_call(a, cmd.call_id, "Transfer", _IN_CALL)
        if call.state is CallState.CONSULTING:
            raise CoreError(
                "A consultation call is already in progress; connect or cancel it first.",
                code="transfer_in_progress",
            )
        if (cmd.number is None) == (cmd.target_agent_id is None):
            raise InvalidInput("Give either a number or an agent to transfer to.")
        target: AgentRecord | None = None
        if cmd.target_agent_id is not None:
            target = self._agent_rec(cmd.target_agent_id)
        elif cmd.number is not None and cmd.number in self._by_cti_number:
            target = self._agents[self._by_cti_number[cmd.number]]
        if target is a:
            raise InvalidInput("You cannot transfer a call to yourself.", code="invalid_target")
        if target is not None and (
            not target.logged_in
            or target.call_id is not None
            or target.offer is not None
            or not target.reachable
        ):
            state = "phone not registered" if target.logged_in else "logged out"
            if target.logged_in and target.reachable:
                state = STATUS_LABELS[target.status]
            raise CoreError(
                f"{target.config.name} cannot take a call now ({state}).",
                code="target_unavailable",
            )
        leg = self._new_id()
        if call.state is CallState.TALKING and call.customer_leg is not None:
            out.actions.append(StartHoldMusic(call.id, call.customer_leg))
        call.state = CallState.CONSULTING
        number = cmd.number
        if number is None and target is not None:
            number = target.config.cti_number
        call.consult = ConsultRecord(leg, number, target.config.id if target else None)
        self._add_leg(leg, call.id, LegRole.CONSULT)
        if target is not None:
            target.call_id = call.id
            target.picked_in_call = False  # only a choice made from now on is kept for later
            out.actions.append(
                RingAgent(call.id, leg, target.config.id, target.config.cti_id or "")
            )
        else:
            assert cmd.number is not None
            out.actions.append(
                Originate(call.id, leg, cmd.number, self._outside_calling_number(call))
            )
        out.events.append(
            ConsultationStarted(
                call.id, a.config.id, number, target.config.id if target else None, now
            )
        )
        self._refresh(a, now, out)
        if target is not None:
            self._refresh(target, now, out)

    def _connect_to_customer(self, cmd: ConnectToCustomer, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        call = self._own_call(a, cmd.call_id, "Connect to Customer", (CallState.CONSULTING,))
        consult = call.consult
        assert consult is not None and call.customer_leg is not None
        if not consult.answered:
            raise CoreError(
                "The consultation call has not been answered yet.",
                code="consultation_not_answered",
            )
        out.actions.append(StopHoldMusic(call.id, call.customer_leg))
        out.actions.append(Bridge(call.id, call.customer_leg, consult.leg_id))
        out.events.append(
            CallTransferred(call.id, a.config.id, consult.agent_id, consult.number, now)
        )
        if consult.agent_id is None:
            # An outside number: the call leaves the contact center; the two legs stay bridged.
            self._relays[call.customer_leg] = Relay(call.id, consult.leg_id)
            self._relays[consult.leg_id] = Relay(call.id, call.customer_leg)
            keep = {call.customer_leg, consult.leg_id}
            self._end_call(call, CallOutcome.TRANSFERRED, "agent", now, out, keep=keep)
            return
        # An agent: they become the call's agent, on the consultation leg; the ticket stays.
        target = self._agents[consult.agent_id]
        old_leg = call.agent_leg
        if old_leg is not None:
            self._legs.pop(old_leg, None)
            out.actions.append(HangUp(call.id, old_leg))
        call.agent_id = target.config.id
        call.agent_leg = consult.leg_id
        self._legs[consult.leg_id] = (call.id, LegRole.AGENT)
        call.consult = None
        call.state = CallState.TALKING
        target.calls_taken += 1
        a.call_id = None
        a.idle_since = now
        self._start_wrap_up(a, now)
        self._refresh(a, now, out)
        self._refresh(target, now, out)

    def _cancel_consultation(self, cmd: CancelConsultation, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        call = self._own_call(a, cmd.call_id, "Cancel", (CallState.CONSULTING,))
        self._end_consultation(call, "cancelled", now, out, hang_up=True)

    def _force_disconnect(self, cmd: ForceDisconnect, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        call = self._own_call(a, cmd.call_id, "Force Disconnect", _IN_CALL)
        self._end_call(
            call,
            CallOutcome.FORCE_DISCONNECTED,
            "agent",
            now,
            out,
            customer_sound="force_disconnect",
        )

    def _end(self, cmd: EndCall, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        if a.logged_in and a.call_id == cmd.call_id:
            call = self._calls[cmd.call_id]
            consult = call.consult
            if consult is not None and consult.agent_id == a.config.id:
                # The consulted agent hangs up: only the consultation ends.
                self._end_consultation(call, "target_hung_up", now, out, hang_up=True)
                return
        call = self._own_call(a, cmd.call_id, "End", (CallState.DIALING, *_IN_CALL))
        outcome = CallOutcome.CANCELLED if call.connected_at is None else CallOutcome.ANSWERED
        self._end_call(call, outcome, "agent", now, out)
