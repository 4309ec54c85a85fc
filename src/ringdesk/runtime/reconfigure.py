"""What an admin's save changes for the engine: the old and the new configuration snapshot
compared, and the engine told only what differs, in one step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ringdesk.core.engine import Engine, Outcome
from ringdesk.core.model import AgentConfig, ServiceConfig
from ringdesk.store.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Changes:
    apply: Callable[[Engine, float], list[Outcome]]
    agents: frozenset[int]  # agents whose configuration changed: their widgets are republished
    names_changed: bool  # an agent was renamed or removed: timelines must not use the old name
    # Users whose own profile (GET /api/me: their services' names, contracts, calling numbers,
    # their CTI ID) changed: open pages are told to read it again.
    profiles: frozenset[int] = frozenset()


def changes(old: Snapshot, new: Snapshot) -> Changes:
    old_services = {s.id: s for s in old.services}
    new_services = {s.id: s for s in new.services}
    # The engine keeps no record of a deleted service: both contracts closed, so no call is
    # routed to it any more (its tickets keep their history).
    services = [s for s in new.services if old_services.get(s.id) != s] + [
        replace(s, inbound_enabled=False, outbound_enabled=False)
        for sid, s in old_services.items()
        if sid not in new_services
    ]
    old_agents = {a.id: a for a in old.agents}
    new_agents = {a.id: a for a in new.agents}
    agents = [a for a in new.agents if old_agents.get(a.id) != a]
    # A deleted user: the engine keeps the id, but it can no longer log in or be offered.
    removed = [
        AgentConfig(id=aid, name="", cti_id=None, cti_number=None)
        for aid in old_agents
        if aid not in new_agents
    ]
    settings = new.settings.engine_settings()
    settings_changed = settings != old.settings.engine_settings()

    menus_changed = old.menus != new.menus

    def apply(engine: Engine, now: float) -> list[Outcome]:
        outcomes = []
        if menus_changed:  # first: a service may now lead to a new menu
            engine.set_menus(list(new.menus))
        if settings_changed:
            outcomes.append(engine.update_settings(settings, now))
        outcomes += [engine.upsert_service(s, now) for s in services]
        outcomes += [engine.upsert_agent(a, now) for a in agents + removed]
        return outcomes

    renamed = any(old_agents[a.id].name != a.name for a in agents if a.id in old_agents)
    shown = {s.id for s in services if _profile(old_services.get(s.id)) != _profile(s)}
    profiles = {a.id for a in agents} | {
        a.id for a in (*old.agents, *new.agents) if a.services & shown
    }
    return Changes(
        apply=apply,
        agents=frozenset(a.id for a in agents),
        names_changed=renamed or bool(removed),
        profiles=frozenset(profiles),
    )


def _profile(service: ServiceConfig | None) -> tuple[object, ...] | None:
    """What an agent's page shows of a service (GET /api/me)."""
    if service is None:
        return None
    return (
        service.name,
        service.inbound_enabled,
        service.outbound_enabled,
        service.calling_numbers,
    )
