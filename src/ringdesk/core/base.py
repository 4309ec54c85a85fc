"""The engine's state and the primitives every rule is built from.

The shown status of an agent is never set directly: it is derived from facts (logged in, offer,
call, wrap-up, chosen status) by `_shown`, and `_refresh` reports a change and keeps the Ready
pools in step. So a click racing an offer cannot leave a status nobody can leave.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from .errors import IllegalAction, NotFound
from .events import (
    AgentPaused,
    AgentStatusChanged,
    CallEnded,
    CallOffered,
    ConsultationEnded,
    OfferWithdrawn,
)
from .model import (
    CHOSEN_STATUSES,
    STATUS_LABELS,
    AgentConfig,
    AgentStatus,
    CallOutcome,
    CallState,
    CtiSettings,
    OverflowAction,
    ServiceConfig,
    Strategy,
)
from .records import AgentRecord, CallRecord, LegRole, Relay
from .routing import CallQueue, Key, ReadyPool, strategy_key
from .telephony import HangUp, Originate, PlayThenHangUp
from .timers import TimerKind, Timers
from .views import Outcome

_CALL_STATUS = {
    CallState.DIALING: AgentStatus.DIALING,
    CallState.ON_HOLD: AgentStatus.ON_HOLD,
    CallState.CONSULTING: AgentStatus.ON_CALL_TRANSFER,
}


def _uuid_hex() -> str:
    return uuid.uuid4().hex


class EngineBase:
    def __init__(
        self,
        settings: CtiSettings,
        services: list[ServiceConfig] | None,
        agents: list[AgentConfig] | None,
        new_id: Callable[[], str] | None,
    ) -> None:
        self._settings = settings
        self._new_id: Callable[[], str] = new_id or _uuid_hex
        self._services: dict[int, ServiceConfig] = {s.id: s for s in services or []}
        self._agents: dict[int, AgentRecord] = {}
        self._by_cti_number: dict[str, int] = {}
        self._calls: dict[str, CallRecord] = {}
        self._legs: dict[str, tuple[str, LegRole]] = {}
        self._relays: dict[str, Relay] = {}
        self._pools: dict[int, ReadyPool] = {}
        self._queues: dict[int, CallQueue] = {}
        # Ring-all calls ringing now, per service: an agent who becomes free joins the ringing.
        self._ringing_all: dict[int, dict[str, None]] = {}
        self._timers = Timers()
        self._seq = 0  # arrival order of calls and order of offers (round robin)
        for config in agents or []:
            self._agents[config.id] = AgentRecord(config=config)
            if config.cti_number:
                self._by_cti_number[config.cti_number] = config.id

    # ---- lookups ----------------------------------------------------------------------------
    def _agent_rec(self, agent_id: int) -> AgentRecord:
        rec = self._agents.get(agent_id)
        if rec is None:
            raise NotFound(f"There is no agent {agent_id}.", code="agent_not_found")
        return rec

    def _strategy(self, service_id: int) -> Strategy:
        service = self._services.get(service_id)
        return service.strategy if service else Strategy.LONGEST_IDLE

    def _pool(self, service_id: int) -> ReadyPool:
        pool = self._pools.get(service_id)
        if pool is None:
            pool = self._pools[service_id] = ReadyPool()
        return pool

    def _queue(self, service_id: int) -> CallQueue:
        queue = self._queues.get(service_id)
        if queue is None:
            queue = self._queues[service_id] = CallQueue()
        return queue

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _illegal(self, a: AgentRecord, action: str) -> IllegalAction:
        """The error for an action the agent's shown status forbids (the message names it)."""
        if a.call_id is not None and self._calls[a.call_id].state is CallState.CONNECTING:
            return IllegalAction(f"{action} is not possible while the call is connecting.")
        return IllegalAction(f"{action} is not possible while {STATUS_LABELS[a.status]}.")

    def _add_leg(self, leg_id: str, call_id: str, role: LegRole) -> None:
        self._legs[leg_id] = (call_id, role)

    # ---- agent status -----------------------------------------------------------------------
    def _shown(self, a: AgentRecord) -> AgentStatus:
        if not a.logged_in:
            return AgentStatus.LOGGED_OUT
        if a.call_id is not None:
            call = self._calls[a.call_id]
            if call.agent_id == a.config.id:
                return _CALL_STATUS.get(call.state, AgentStatus.ON_CALL)
            return AgentStatus.ON_CALL  # the target of a colleague's consultation call
        if a.offer is not None:
            return AgentStatus.RINGING
        if a.wrap_up:
            return AgentStatus.TICKET_PROCESSING
        return a.chosen

    def _key(self, service_id: int, a: AgentRecord) -> Key:
        return strategy_key(
            self._strategy(service_id),
            idle_since=a.idle_since,
            last_offered=a.last_offered,
            calls_taken=a.calls_taken,
        )

    def _index(self, a: AgentRecord) -> None:
        for sid in a.config.services:
            self._pool(sid).add(a.config.id, self._key(sid, a))
        a.indexed = True

    def _unindex(self, a: AgentRecord) -> None:
        for sid in a.config.services:
            pool = self._pools.get(sid)
            if pool is not None:
                pool.discard(a.config.id)
        a.indexed = False

    def _refresh(self, a: AgentRecord, now: float, out: Outcome, reason: str = "") -> None:
        """Report a change of shown or chosen status, keep the pools right, route if now free."""
        shown = self._shown(a)
        changed = False
        if shown is not a.status:
            a.status = shown
            a.since = now
            a.reason = reason
            changed = True
        if a.chosen is not a.announced_chosen:
            a.announced_chosen = a.chosen
            a.reason = reason or a.reason
            changed = True
        if changed:
            out.events.append(AgentStatusChanged(a.config.id, shown, a.chosen, now, a.reason))
        routable = shown is AgentStatus.READY and a.reachable and bool(a.config.services)
        if routable and not a.indexed:
            self._index(a)
            self._route_agent(a, now, out)
        elif not routable and a.indexed:
            self._unindex(a)

    def _start_wrap_up(self, a: AgentRecord, now: float) -> None:
        a.wrap_up = True
        limit = self._settings.wrap_up_seconds
        if limit is not None:
            a.wrap_timer = self._timers.schedule(now + limit, TimerKind.WRAP_UP, a.config.id)

    def _leave_wrap_up(self, a: AgentRecord) -> None:
        a.wrap_up = False
        self._timers.cancel(a.wrap_timer)
        a.wrap_timer = 0
        a.picked_in_call = False

    def _missed(self, a: AgentRecord, reason: str, now: float, out: Outcome) -> str:
        """An offer rang out (or the phone failed to pick up): move the agent out of Ready."""
        a.missed += 1
        status = self._settings.pickup_timeout_status
        if status not in CHOSEN_STATUSES:
            status = AgentStatus.REST
        limit = self._settings.max_missed_offers
        if limit > 0 and a.missed >= limit:
            if status is AgentStatus.READY:
                status = AgentStatus.REST
            out.events.append(AgentPaused(a.config.id, a.missed, status, now))
            reason = "missed_offers"
        a.chosen = status
        a.picked_in_call = False
        return reason

    # ---- offers and routing -----------------------------------------------------------------
    def _offer(self, a: AgentRecord, call: CallRecord, now: float, out: Outcome) -> None:
        a.last_offered = self._next_seq()
        a.offer = call.id
        # At least a second: a zero pickup time with Ready as the timeout status would otherwise
        # re-offer and expire the same call forever within one on_timer call.
        a.offer_expires = now + max(self._settings.pickup_seconds, 1.0)
        a.offer_timer = self._timers.schedule(a.offer_expires, TimerKind.PICKUP, a.config.id)
        call.offered_to[a.config.id] = None
        call.state = CallState.OFFERED
        if self._strategy(call.service_id) is Strategy.RING_ALL:
            self._ringing_all.setdefault(call.service_id, {})[call.id] = None
        out.events.append(
            CallOffered(
                call.id, a.config.id, call.service_id, call.customer_number, a.offer_expires, now
            )
        )
        if a.config.auto_answer:
            # Answered in this same step: the answer's refresh reports On Call, with no
            # zero-second Ringing status (and its database write and feed message) on the way.
            self._auto_answer(a, call, now, out)
        else:
            self._refresh(a, now, out)

    def _auto_answer(self, a: AgentRecord, call: CallRecord, now: float, out: Outcome) -> None:
        """Answer an offer as the agent's Answer click would (CallControl does it)."""
        raise NotImplementedError

    def _withdraw(self, a: AgentRecord, reason: str, now: float, out: Outcome) -> CallRecord | None:
        """Take the offer back from the agent (the caller re-routes the call and refreshes)."""
        call_id = a.offer
        if call_id is None:
            return None
        a.offer = None
        self._timers.cancel(a.offer_timer)
        a.offer_timer = 0
        out.events.append(OfferWithdrawn(call_id, a.config.id, reason, now))
        call = self._calls.get(call_id)
        if call is not None:
            call.offered_to.pop(a.config.id, None)
        return call

    def _offer_lost(self, call: CallRecord, now: float, out: Outcome) -> None:
        """After a withdrawal: a call no longer ringing anyone goes back to routing."""
        if call.state is CallState.OFFERED and not call.offered_to:
            self._requeue(call, now, out)

    def _route_agent(self, a: AgentRecord, now: float, out: Outcome) -> None:
        """The agent just became free: offer them the oldest call waiting in their services."""
        best: tuple[int, str, CallQueue] | None = None
        for sid in a.config.services:
            queue = self._queues.get(sid)
            if not queue:
                continue
            head = queue.peek()
            if head is not None and (best is None or head[0] < best[0]):
                best = (head[0], head[1], queue)
        if best is not None:
            call_id = best[2].pop()
            assert call_id == best[1]
            self._offer(a, self._calls[call_id], now, out)
            return
        ringing = self._ringing_all_call(a)
        if ringing is not None:
            self._offer(a, ringing, now, out)

    def _ringing_all_call(self, a: AgentRecord) -> CallRecord | None:
        """The oldest ring-all call ringing other agents of the agent's services, if any."""
        found: CallRecord | None = None
        for sid in a.config.services:
            calls = self._ringing_all.get(sid)
            if not calls:
                continue
            for call_id in list(calls):
                call = self._calls.get(call_id)
                if call is None or call.state is not CallState.OFFERED:
                    del calls[call_id]  # stale: answered, re-queued or ended meanwhile
                    continue
                if self._strategy(sid) is Strategy.RING_ALL and (
                    found is None or call.seq < found.seq
                ):
                    found = call
                break
        return found

    def _stop_ringing_all(self, call: CallRecord) -> None:
        calls = self._ringing_all.get(call.service_id)
        if calls:
            calls.pop(call.id, None)

    def _route_call(self, call: CallRecord, now: float, out: Outcome) -> None:
        """Offer a waiting call per the service's strategy, or keep it queued."""
        pool = self._pool(call.service_id)
        if self._strategy(call.service_id) is Strategy.RING_ALL:
            targets = [self._agents[i] for i in pool]
            auto = [a for a in targets if a.config.auto_answer]
            if auto:
                # An auto-answer agent would take the call at once: ring only them (the longest
                # idle), rather than flash an offer on every other desk and withdraw it.
                targets = [min(auto, key=lambda a: (a.idle_since, a.config.id))]
        else:
            best = pool.pop_best()
            targets = [] if best is None else [self._agents[best]]
        if not targets:
            call.state = CallState.QUEUED
            self._queue(call.service_id).push(call.id, call.seq)
            return
        for a in targets:
            self._offer(a, call, now, out)

    def _requeue(self, call: CallRecord, now: float, out: Outcome) -> None:
        self._stop_ringing_all(call)
        if call.overflow_due:
            self._overflow(call, now, out)
            return
        call.state = CallState.QUEUED
        self._route_call(call, now, out)

    def _schedule_max_wait(self, call: CallRecord) -> None:
        self._timers.cancel(call.wait_timer)
        call.wait_timer = 0
        service = self._services.get(call.service_id)
        if (
            service is not None
            and service.max_wait_seconds is not None
            and service.overflow_action is not OverflowAction.NONE
        ):
            call.wait_timer = self._timers.schedule(
                call.arrived_at + service.max_wait_seconds, TimerKind.MAX_WAIT, call.id
            )

    def _outside_calling_number(self, call: CallRecord) -> str:
        """Caller ID for a leg to an outside number placed on behalf of this call."""
        if call.calling_number:
            return call.calling_number
        service = self._services.get(call.service_id)
        if service is not None and service.calling_numbers:
            return min(service.calling_numbers)
        return call.called

    def _overflow(self, call: CallRecord, now: float, out: Outcome) -> None:
        """The caller waited the maximum: play the overflow message, or forward the call."""
        service = self._services.get(call.service_id)
        customer = call.customer_leg
        if (
            service is not None
            and service.overflow_action is OverflowAction.FORWARD
            and service.overflow_number
            and customer is not None
        ):
            leg = self._new_id()
            out.actions.append(
                Originate(call.id, leg, service.overflow_number, self._outside_calling_number(call))
            )
            self._relays[leg] = Relay(call.id, customer, pending=True)
            self._relays[customer] = Relay(call.id, leg, pending=True)
            self._end_call(call, CallOutcome.OVERFLOWED, "system", now, out, keep={customer})
        else:
            self._end_call(
                call, CallOutcome.OVERFLOWED, "system", now, out, customer_sound="overflow"
            )

    def _end_consultation(
        self, call: CallRecord, reason: str, now: float, out: Outcome, *, hang_up: bool
    ) -> None:
        """The consultation leg is gone: the customer stays on hold, the agent is On Hold."""
        consult = call.consult
        if consult is None:
            return
        self._legs.pop(consult.leg_id, None)
        if hang_up:
            out.actions.append(HangUp(call.id, consult.leg_id))
        call.consult = None
        call.state = CallState.ON_HOLD
        agent_id = call.agent_id if call.agent_id is not None else 0
        out.events.append(ConsultationEnded(call.id, agent_id, reason, now))
        if call.agent_id is not None:
            self._refresh(self._agents[call.agent_id], now, out)
        if consult.agent_id is not None:
            target = self._agents[consult.agent_id]
            target.call_id = None
            target.idle_since = now
            self._refresh(target, now, out)

    # ---- ending -----------------------------------------------------------------------------
    def _end_call(
        self,
        call: CallRecord,
        outcome: CallOutcome,
        ended_by: str,
        now: float,
        out: Outcome,
        *,
        keep: set[str] | None = None,
        customer_sound: str | None = None,
        withdraw_reason: str = "caller_hung_up",
    ) -> None:
        """End the call everywhere: offers, queue, timers, legs (except `keep`), agents."""
        touched: list[tuple[AgentRecord, str]] = []
        for agent_id in list(call.offered_to):
            a = self._agents[agent_id]
            self._withdraw(a, withdraw_reason, now, out)
            touched.append((a, ""))
        self._queue(call.service_id).discard(call.id)
        self._stop_ringing_all(call)
        self._timers.cancel(call.wait_timer)
        self._timers.cancel(call.connect_timer)
        keep = keep or set()
        consult = call.consult
        legs = [call.customer_leg, call.agent_leg, consult.leg_id if consult else None]
        for leg in legs:
            if leg is None:
                continue
            self._legs.pop(leg, None)
            if leg in keep:
                continue
            if leg == call.customer_leg and customer_sound is not None:
                out.actions.append(PlayThenHangUp(call.id, leg, customer_sound))
            else:
                out.actions.append(HangUp(call.id, leg))
        if consult is not None and consult.agent_id is not None:
            target = self._agents[consult.agent_id]
            target.call_id = None
            target.idle_since = now
            touched.append((target, ""))
        if call.agent_id is not None:
            a = self._agents[call.agent_id]
            a.call_id = None
            a.idle_since = now
            if call.ticket:
                self._start_wrap_up(a, now)
            else:
                a.picked_in_call = False  # no ticket work: the chosen status applies at once
            touched.append((a, ""))
        connected = call.connected_at
        out.events.append(
            CallEnded(
                call_id=call.id,
                service_id=call.service_id,
                direction=call.direction,
                agent_id=call.agent_id,
                outcome=outcome,
                wait_seconds=max(
                    0.0, (connected if connected is not None else now) - call.arrived_at
                ),
                talk_seconds=max(0.0, now - connected) if connected is not None else 0.0,
                ended_by=ended_by,
                at=now,
            )
        )
        call.state = CallState.ENDED
        del self._calls[call.id]
        for a, reason in touched:
            self._refresh(a, now, out, reason)
