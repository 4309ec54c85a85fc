"""What the switch reports: calls arriving, legs answering, hanging up or failing; call deadlines.

Events about legs the engine no longer knows (it hung them up itself, or the call is over) are
ignored: the switch reports every leg's end, including the ones the engine asked for.
"""

from __future__ import annotations

from typing import assert_never

from .base import EngineBase
from .events import (
    CallConnected,
    CallEnded,
    CallFailed,
    CallQueued,
    ConsultationAnswered,
    OfferWithdrawn,
    TicketOpened,
)
from .model import CallOutcome, CallState, Direction, FailureReason
from .records import CallRecord, LegRole
from .telephony import (
    Bridge,
    CallArrived,
    HangUp,
    LegAnswered,
    LegFailed,
    LegHungUp,
    Originate,
    PlayThenHangUp,
    StartQueueMusic,
)
from .views import Outcome

_FAILURE_OUTCOME = {
    FailureReason.BUSY: CallOutcome.BUSY,
    FailureReason.NO_ANSWER: CallOutcome.NO_ANSWER,
    FailureReason.REJECTED: CallOutcome.REJECTED,
    FailureReason.UNREACHABLE: CallOutcome.UNREACHABLE,
    FailureReason.NOT_REGISTERED: CallOutcome.FAILED,
}


class CallEvents(EngineBase):
    def _call_arrived(self, ev: CallArrived, now: float, out: Outcome) -> None:
        if ev.call_id in self._calls:
            return  # reported twice
        service = self._services.get(ev.service_id)
        if service is None or not service.inbound_enabled:
            out.actions.append(HangUp(ev.call_id, ev.leg_id, reason="inbound_disabled"))
            out.events.append(
                CallEnded(
                    call_id=ev.call_id,
                    service_id=ev.service_id,
                    direction=Direction.INBOUND,
                    agent_id=None,
                    outcome=CallOutcome.REJECTED,
                    wait_seconds=0.0,
                    talk_seconds=0.0,
                    ended_by="system",
                    at=now,
                )
            )
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
            seq=self._next_seq(),
            customer_leg=ev.leg_id,
        )
        self._calls[call.id] = call
        self._add_leg(ev.leg_id, call.id, LegRole.CUSTOMER)
        out.actions.append(StartQueueMusic(call.id, ev.leg_id))
        position = len(self._queue(service.id)) + 1
        out.events.append(CallQueued(call.id, service.id, ev.caller, ev.called, position, now))
        self._schedule_max_wait(call)
        self._route_call(call, now, out)

    def _connected(self, call: CallRecord, now: float, out: Outcome) -> None:
        assert call.agent_id is not None
        a = self._agents[call.agent_id]
        self._timers.cancel(call.wait_timer)
        self._timers.cancel(call.connect_timer)
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
        if not call.ticket:
            call.ticket = True
            out.events.append(
                TicketOpened(
                    call.id, a.config.id, call.service_id, call.direction, call.customer_number, now
                )
            )
        self._refresh(a, now, out)

    def _leg_answered(self, ev: LegAnswered, now: float, out: Outcome) -> None:
        relay = self._relays.get(ev.leg_id)
        if relay is not None:
            if relay.pending:  # the overflow number answered: connect the waiting caller
                relay.pending = False
                peer = self._relays.get(relay.peer)
                if peer is not None:
                    peer.pending = False
                out.actions.append(Bridge(relay.call_id, relay.peer, ev.leg_id))
            return
        entry = self._legs.get(ev.leg_id)
        if entry is None:
            return
        call = self._calls[entry[0]]
        role = entry[1]
        match role:
            case LegRole.AGENT:
                if call.state is CallState.CONNECTING and call.customer_leg is not None:
                    out.actions.append(Bridge(call.id, call.customer_leg, ev.leg_id))
                    self._connected(call, now, out)
                elif call.state is CallState.DIALING and call.customer_leg is None:
                    leg = self._new_id()
                    call.customer_leg = leg
                    self._add_leg(leg, call.id, LegRole.CUSTOMER)
                    out.actions.append(
                        Originate(call.id, leg, call.customer_number, call.calling_number or "")
                    )
            case LegRole.CUSTOMER:
                if (
                    call.direction is Direction.OUTBOUND
                    and call.state is CallState.DIALING
                    and call.agent_leg is not None
                ):
                    out.actions.append(Bridge(call.id, call.agent_leg, ev.leg_id))
                    self._connected(call, now, out)
            case LegRole.CONSULT:
                consult = call.consult
                if consult is not None and consult.leg_id == ev.leg_id and not consult.answered:
                    consult.answered = True
                    if call.agent_leg is not None:
                        out.actions.append(Bridge(call.id, call.agent_leg, ev.leg_id))
                    out.events.append(ConsultationAnswered(call.id, call.agent_id or 0, now))
            case _:
                assert_never(role)

    def _relay_gone(self, leg_id: str, failed: bool, out: Outcome) -> bool:
        """A leg of a relay ended: end the other one. False if the leg is not a relay's."""
        relay = self._relays.pop(leg_id, None)
        if relay is None:
            return False
        peer = self._relays.pop(relay.peer, None)
        if peer is not None:
            if failed and relay.pending:  # the forward failed: the caller hears the message
                out.actions.append(PlayThenHangUp(relay.call_id, relay.peer, "overflow"))
            else:
                out.actions.append(HangUp(relay.call_id, relay.peer))
        return True

    def _leg_hung_up(self, ev: LegHungUp, now: float, out: Outcome) -> None:
        if self._relay_gone(ev.leg_id, False, out):
            return
        entry = self._legs.get(ev.leg_id)
        if entry is None:
            return
        call = self._calls[entry[0]]
        role = entry[1]
        gone = {ev.leg_id}
        match role:
            case LegRole.CUSTOMER:
                if call.connected_at is not None:
                    self._end_call(call, CallOutcome.ANSWERED, "customer", now, out, keep=gone)
                elif call.direction is Direction.OUTBOUND:
                    self._fail_call(call, FailureReason.REJECTED, ev.leg_id, now, out)
                else:
                    self._end_call(call, CallOutcome.ABANDONED, "customer", now, out, keep=gone)
            case LegRole.AGENT:
                if call.state is CallState.CONNECTING:
                    self._connect_failed(call, "phone_hung_up", now, out, leg_gone=True)
                elif call.connected_at is None:
                    self._end_call(call, CallOutcome.CANCELLED, "agent", now, out, keep=gone)
                else:
                    self._end_call(call, CallOutcome.ANSWERED, "agent", now, out, keep=gone)
            case LegRole.CONSULT:
                self._end_consultation(call, "target_hung_up", now, out, hang_up=False)
            case _:
                assert_never(role)

    def _leg_failed(self, ev: LegFailed, now: float, out: Outcome) -> None:
        if self._relay_gone(ev.leg_id, True, out):
            return
        entry = self._legs.get(ev.leg_id)
        if entry is None:
            return
        call = self._calls[entry[0]]
        role = entry[1]
        if role is LegRole.CONSULT:
            self._end_consultation(call, ev.reason.value, now, out, hang_up=False)
        elif role is LegRole.AGENT and call.state is CallState.CONNECTING:
            self._connect_failed(call, f"phone_{ev.reason.value}", now, out, leg_gone=True)
        elif call.connected_at is None and call.direction is Direction.OUTBOUND:
            self._fail_call(call, ev.reason, ev.leg_id, now, out)
        else:
            # A leg that was up cannot fail; treat a late report as that leg hanging up.
            self._leg_hung_up(LegHungUp(ev.leg_id, ev.reason.value), now, out)

    def _fail_call(
        self, call: CallRecord, reason: FailureReason, leg_id: str, now: float, out: Outcome
    ) -> None:
        """An outbound call could not be set up: tell the agent why and end it."""
        out.events.append(CallFailed(call.id, call.agent_id or 0, reason.value, now))
        self._end_call(call, _FAILURE_OUTCOME[reason], "system", now, out, keep={leg_id})

    def _connect_failed(
        self, call: CallRecord, reason: str, now: float, out: Outcome, *, leg_gone: bool
    ) -> None:
        """After Answer the agent's phone did not pick up: re-route the call, move the agent."""
        assert call.agent_id is not None
        a = self._agents[call.agent_id]
        leg = call.agent_leg
        if leg is not None:
            self._legs.pop(leg, None)
            if not leg_gone:
                out.actions.append(HangUp(call.id, leg))
        call.agent_leg = None
        call.agent_id = None
        self._timers.cancel(call.connect_timer)
        call.connect_timer = 0
        a.call_id = None
        out.events.append(OfferWithdrawn(call.id, a.config.id, reason, now))
        status_reason = self._missed(a, reason, now, out)
        self._requeue(call, now, out)
        self._refresh(a, now, out, status_reason)

    def _connect_expired(self, call: CallRecord, now: float, out: Outcome) -> None:
        if call.state is CallState.CONNECTING:
            self._connect_failed(call, "phone_no_answer", now, out, leg_gone=False)

    def _max_wait_expired(self, call: CallRecord, now: float, out: Outcome) -> None:
        call.wait_timer = 0
        if call.state is CallState.QUEUED:
            self._queue(call.service_id).discard(call.id)
            self._overflow(call, now, out)
        elif call.state in (CallState.OFFERED, CallState.CONNECTING):
            call.overflow_due = True  # applied if this offer or connection fails
