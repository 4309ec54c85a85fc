"""Admin changes while the engine runs: settings, services, agents; and agents after a restart.

A change may re-route waiting calls; deadlines it moves into the past are fired by the engine
right after (Engine runs its due timers), so they are decided in the same outcome.
"""

from __future__ import annotations

from . import offers, state, status, waiting
from .deadlines import TimerKind
from .model import (
    CHOSEN_STATUSES,
    AgentConfig,
    AgentStatus,
    CtiSettings,
    MenuConfig,
    ServiceConfig,
    Strategy,
)
from .records import AgentRecord
from .snapshots import Outcome
from .state import EngineState


def update_settings(s: EngineState, settings: CtiSettings) -> None:
    s.settings = settings
    for a in s.agents.values():
        if a.wrap_up:
            s.timers.cancel(a.wrap_timer)
            a.wrap_timer = 0
            if settings.wrap_up_seconds is not None:
                deadline = a.since + settings.wrap_up_seconds
                a.wrap_timer = s.timers.schedule(deadline, TimerKind.WRAP_UP, a.config.id)


def set_menus(s: EngineState, menus: list[MenuConfig]) -> None:
    """The menus replaced whole (they are small, and a choice may name any other menu)."""
    s.menus = {menu.id: menu for menu in menus}


def upsert_service(s: EngineState, service: ServiceConfig, now: float, out: Outcome) -> None:
    old = s.services.get(service.id)
    s.services[service.id] = service
    if old is None or old.strategy is not service.strategy:
        ready = state.pool(s, service.id)
        ready.rebuild([(i, status.key(s, service.id, s.agents[i])) for i in ready])
        if old is not None and service.strategy is Strategy.RING_ALL:
            offers.ring_all_now(s, service.id, now, out)
    if old is None or (old.max_wait_seconds, old.overflow_action) != (
        service.max_wait_seconds,
        service.overflow_action,
    ):
        for call in s.calls.values():
            if call.service_id == service.id and call.state in waiting.WAITING:
                waiting.schedule_max_wait(s, call)


def upsert_agent(s: EngineState, agent: AgentConfig, now: float, out: Outcome) -> None:
    a = s.agents.get(agent.id)
    if a is None:
        a = s.agents[agent.id] = AgentRecord(config=agent)
    else:
        state.unindex_cti(s, a.config)
        if a.indexed:
            status.unindex(s, a)  # with the old services
        a.config = agent
    state.index_cti(s, agent)
    offers.refresh(s, a, now, out)
    if agent.auto_answer and a.offer is not None and a.call_id is None:
        # Auto Answer switched on while a call rings the agent: take it now.
        offers.accept(s, a, s.calls[a.offer], now, out)


def restore_agent(s: EngineState, agent_id: int, chosen: str, since: float) -> None:
    """After a restart: put a logged-in agent back in their chosen status (no call).

    A driven status that was live at the crash (on call, ringing...) restores as Business with
    reason "restart"; Business (Ticket Processing) restores as itself. Nothing is routed here
    (there is no Outcome to return); calls arrive later and find the agent in the pools.
    """
    a = state.agent_rec(s, agent_id)
    try:
        restored = AgentStatus(chosen)
    except ValueError:
        restored = AgentStatus.BUSINESS
    if restored is AgentStatus.LOGGED_OUT:
        return
    a.logged_in = True
    a.reason = ""
    if restored is AgentStatus.TICKET_PROCESSING:
        a.chosen = AgentStatus.READY
        a.wrap_up = True
        limit = s.settings.wrap_up_seconds
        if limit is not None:
            a.wrap_timer = s.timers.schedule(since + limit, TimerKind.WRAP_UP, agent_id)
    elif restored in CHOSEN_STATUSES:
        a.chosen = restored
    else:
        a.chosen = AgentStatus.BUSINESS
        a.reason = "restart"
    a.announced_chosen = a.chosen
    a.status = status.shown(s, a)
    a.since = since
    a.idle_since = since
    if a.status is AgentStatus.READY and a.reachable and a.config.services:
        status.index(s, a)
