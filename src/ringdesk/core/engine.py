"""The engine: one object that owns agents, calls and queues, and applies the manual's rules.

    outcome = engine.handle(command, now)          # an agent clicked something
    outcome = engine.on_telephony(event, now)      # the switch reported something
    outcome = engine.on_timer(now)                 # pickup / wrap-up / max-wait deadlines
    engine.next_deadline() -> float | None         # when on_timer must be called next

An Outcome holds domain events (persist, then publish) and telephony actions (for the switch).
Illegal commands raise a CoreError subclass and change nothing. The rules live in agents.py
(status button, login), callcontrol.py (call buttons) and calls.py (switch reports); base.py
holds the shared state and primitives; docs/agent-states.md is the table of it all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from .agents import AgentRules
from .callcontrol import CallControl
from .calls import CallEvents
from .commands import (
    Answer,
    CancelConsultation,
    Command,
    ConnectToCustomer,
    CtiLogin,
    CtiLogout,
    Dial,
    EndCall,
    ForceDisconnect,
    Hold,
    Resume,
    SetStatus,
    StartConsultation,
)
from .errors import NotFound
from .model import (
    CHOSEN_STATUSES,
    AgentConfig,
    AgentStatus,
    CallState,
    CtiSettings,
    Direction,
    ServiceConfig,
    Strategy,
)
from .records import AgentRecord, CallRecord
from .telephony import (
    CallArrived,
    LegAnswered,
    LegFailed,
    LegHungUp,
    LegRinging,
    PlaybackFinished,
    TelephonyEvent,
)
from .timers import TimerKind
from .views import AgentView, CallView, OfferView, Outcome, QueueView

__all__ = ["AgentView", "CallView", "Engine", "OfferView", "Outcome", "QueueView"]

_WAITING = (CallState.QUEUED, CallState.OFFERED, CallState.CONNECTING)


class Engine(AgentRules, CallControl, CallEvents):
    """Public surface used by the runtime (app.py)."""

    def __init__(
        self,
        settings: CtiSettings,
        services: list[ServiceConfig] | None = None,
        agents: list[AgentConfig] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(settings, services, agents, new_id)

    # ---- inputs -----------------------------------------------------------------------------
    def handle(self, command: Command, now: float) -> Outcome:
        out = Outcome()
        match command:
            case SetStatus():
                self._set_status(command, now, out)
            case Answer():
                self._answer(command, now, out)
            case CtiLogin():
                self._cti_login(command, now, out)
            case CtiLogout():
                self._cti_logout(command, now, out)
            case Dial():
                self._dial(command, now, out)
            case Hold():
                self._hold(command, now, out)
            case Resume():
                self._resume(command, now, out)
            case StartConsultation():
                self._start_consultation(command, now, out)
            case ConnectToCustomer():
                self._connect_to_customer(command, now, out)
            case CancelConsultation():
                self._cancel_consultation(command, now, out)
            case ForceDisconnect():
                self._force_disconnect(command, now, out)
            case EndCall():
                self._end(command, now, out)
            case _:
                assert_never(command)
        return out

    def on_telephony(self, event: TelephonyEvent, now: float) -> Outcome:
        """Never raises: a report about an unknown call or leg is ignored."""
        out = Outcome()
        match event:
            case CallArrived():
                self._call_arrived(event, now, out)
            case LegAnswered():
                self._leg_answered(event, now, out)
            case LegHungUp():
                self._leg_hung_up(event, now, out)
            case LegFailed():
                self._leg_failed(event, now, out)
            case LegRinging() | PlaybackFinished():
                pass  # informational: nothing to decide
            case _:
                assert_never(event)
        return out

    def on_timer(self, now: float) -> Outcome:
        out = Outcome()
        while (due := self._timers.pop_due(now)) is not None:
            _token, kind, key = due
            match kind:
                case TimerKind.PICKUP:
                    if (a := self._timer_agent(key)) is not None:
                        a.offer_timer = 0
                        self._pickup_expired(a, now, out)
                case TimerKind.WRAP_UP:
                    if (a := self._timer_agent(key)) is not None:
                        a.wrap_timer = 0
                        self._wrap_up_expired(a, now, out)
                case TimerKind.CONNECT:
                    if (call := self._timer_call(key)) is not None:
                        call.connect_timer = 0
                        self._connect_expired(call, now, out)
                case TimerKind.MAX_WAIT:
                    if (call := self._timer_call(key)) is not None:
                        self._max_wait_expired(call, now, out)
                case _:
                    assert_never(kind)
        return out

    # A deadline's key is an agent id or a call id, by its kind; one that left meanwhile is None.
    def _timer_agent(self, key: int | str) -> AgentRecord | None:
        return self._agents.get(key) if isinstance(key, int) else None

    def _timer_call(self, key: int | str) -> CallRecord | None:
        return self._calls.get(key) if isinstance(key, str) else None

    def next_deadline(self) -> float | None:
        return self._timers.next_deadline()

    # ---- configuration (admin changes; may re-route waiting calls) ----------------------------
    def update_settings(self, settings: CtiSettings, now: float) -> Outcome:
        self._settings = settings
        for a in self._agents.values():
            if a.wrap_up:
                self._timers.cancel(a.wrap_timer)
                a.wrap_timer = 0
                if settings.wrap_up_seconds is not None:
                    deadline = a.since + settings.wrap_up_seconds
                    a.wrap_timer = self._timers.schedule(deadline, TimerKind.WRAP_UP, a.config.id)
        return self.on_timer(now)  # a shorter limit may already have passed

    def upsert_service(self, service: ServiceConfig, now: float) -> Outcome:
        out = Outcome()
        old = self._services.get(service.id)
        self._services[service.id] = service
        if old is None or old.strategy is not service.strategy:
            pool = self._pool(service.id)
            pool.rebuild([(i, self._key(service.id, self._agents[i])) for i in pool])
            if old is not None and service.strategy is Strategy.RING_ALL:
                self._ring_all_now(service.id, now, out)
        if old is None or (old.max_wait_seconds, old.overflow_action) != (
            service.max_wait_seconds,
            service.overflow_action,
        ):
            for call in self._calls.values():
                if call.service_id == service.id and call.state in _WAITING:
                    self._schedule_max_wait(call)
        timed = self.on_timer(now)
        out.events.extend(timed.events)
        out.actions.extend(timed.actions)
        return out

    def _ring_all_now(self, service_id: int, now: float, out: Outcome) -> None:
        """The service switched to ring-all: calls ringing one agent now ring every free one."""
        ringing = [
            c
            for c in self._calls.values()
            if c.service_id == service_id and c.state is CallState.OFFERED
        ]
        ringing.sort(key=lambda c: c.seq)
        # Remembered even when nobody else is free now, so an agent who becomes free later
        # joins the ringing (oldest first, as _ringing_all_call expects).
        self._ringing_all[service_id] = {c.id: None for c in ringing}
        pool = self._pool(service_id)
        for call in ringing:
            for agent_id in pool:
                if call.state is not CallState.OFFERED:
                    break  # an auto-answer agent took it
                if agent_id not in pool:
                    continue  # offered another call meanwhile (an auto answer freed a colleague)
                self._offer(self._agents[agent_id], call, now, out)

    def upsert_agent(self, agent: AgentConfig, now: float) -> Outcome:
        out = Outcome()
        a = self._agents.get(agent.id)
        if a is None:
            a = self._agents[agent.id] = AgentRecord(config=agent)
        else:
            old = a.config.cti_number
            if old and self._by_cti_number.get(old) == agent.id:
                del self._by_cti_number[old]
            if a.indexed:
                self._unindex(a)  # with the old services
            a.config = agent
        if agent.cti_number:
            self._by_cti_number[agent.cti_number] = agent.id
        self._refresh(a, now, out)
        if agent.auto_answer and a.offer is not None and a.call_id is None:
            # Auto Answer switched on while a call rings the agent: take it now.
            self._auto_answer(a, self._calls[a.offer], now, out)
        return out

    def set_phone_reachable(self, agent_id: int, reachable: bool, now: float) -> Outcome:
        """Registration came or went; an unreachable phone is never offered calls."""
        out = Outcome()
        self._phone_reachable(self._agent_rec(agent_id), reachable, now, out)
        return out

    def restore_agent(self, agent_id: int, chosen: str, since: float) -> None:
        """After a restart: put a logged-in agent back in their chosen status (no call).

        A driven status that was live at the crash (on call, ringing...) restores as Business with
        reason "restart"; Business (Ticket Processing) restores as itself. Nothing is routed here
        (there is no Outcome to return); calls arrive later and find the agent in the pools.
        """
        a = self._agent_rec(agent_id)
        try:
            status = AgentStatus(chosen)
        except ValueError:
            status = AgentStatus.BUSINESS
        if status is AgentStatus.LOGGED_OUT:
            return
        a.logged_in = True
        a.reason = ""
        if status is AgentStatus.TICKET_PROCESSING:
            a.chosen = AgentStatus.READY
            a.wrap_up = True
            limit = self._settings.wrap_up_seconds
            if limit is not None:
                a.wrap_timer = self._timers.schedule(since + limit, TimerKind.WRAP_UP, agent_id)
        elif status in CHOSEN_STATUSES:
            a.chosen = status
        else:
            a.chosen = AgentStatus.BUSINESS
            a.reason = "restart"
        a.announced_chosen = a.chosen
        a.status = self._shown(a)
        a.since = since
        a.idle_since = since
        if a.status is AgentStatus.READY and a.reachable and a.config.services:
            self._index(a)

    # ---- queries ----------------------------------------------------------------------------
    def _call_view(self, call: CallRecord) -> CallView:
        consult = call.consult
        return CallView(
            call_id=call.id,
            service_id=call.service_id,
            direction=call.direction.value,
            state=call.state.value,
            customer_number=call.customer_number,
            agent_id=call.agent_id,
            calling_number=call.calling_number,
            arrived_at=call.arrived_at,
            connected_at=call.connected_at,
            consult_number=consult.number if consult else None,
            consult_agent_id=consult.agent_id if consult else None,
            consult_answered=consult.answered if consult else False,
        )

    def _agent_view(self, a: AgentRecord) -> AgentView:
        offer = None
        if a.offer is not None:
            call = self._calls[a.offer]
            offer = OfferView(call.id, call.service_id, call.customer_number, a.offer_expires)
        return AgentView(
            agent_id=a.config.id,
            name=a.config.name,
            status=a.status.value,
            chosen=a.chosen.value,
            since=a.since,
            reason=a.reason,
            call=self._call_view(self._calls[a.call_id]) if a.call_id else None,
            offer=offer,
            missed_offers=a.missed,
            services=a.config.services,
        )

    def agent(self, agent_id: int) -> AgentView:
        return self._agent_view(self._agent_rec(agent_id))

    def agents(self) -> list[AgentView]:
        return [self._agent_view(a) for a in self._agents.values()]

    def call(self, call_id: str) -> CallView:
        call = self._calls.get(call_id)
        if call is None:
            raise NotFound(f"There is no call {call_id}.", code="call_not_found")
        return self._call_view(call)

    def calls(self) -> list[CallView]:
        return [self._call_view(c) for c in sorted(self._calls.values(), key=lambda c: c.seq)]

    def queues(self) -> list[QueueView]:
        """Per service, the inbound callers not yet talking to an agent, oldest first."""
        waiting: dict[int, list[CallRecord]] = {sid: [] for sid in self._services}
        for call in self._calls.values():
            if call.direction is Direction.INBOUND and call.state in _WAITING:
                waiting.setdefault(call.service_id, []).append(call)
        views = []
        for sid in sorted(waiting):
            calls = sorted(waiting[sid], key=lambda c: c.seq)
            views.append(
                QueueView(
                    service_id=sid,
                    waiting=tuple(self._call_view(c) for c in calls),
                    longest_wait_since=calls[0].arrived_at if calls else None,
                )
            )
        return views

    def ready_agents(
        self, service_ids: frozenset[int] | None = None, query: str = ""
    ) -> list[AgentView]:
        """Ready agents whose phone is registered (optionally of some services, name/CTI number
        containing query), by name."""
        pools = self._pools if service_ids is None else {s: self._pool(s) for s in service_ids}
        ids: set[int] = set()
        for pool in pools.values():
            ids.update(pool)
        needle = query.strip().casefold()
        found = []
        for agent_id in ids:
            a = self._agents[agent_id]
            if needle and not (
                needle in a.config.name.casefold() or needle in (a.config.cti_number or "")
            ):
                continue
            found.append(a)
        found.sort(key=lambda a: (a.config.name.casefold(), a.config.id))
        return [self._agent_view(a) for a in found]
