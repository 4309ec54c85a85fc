"""The engine's state: one plain object every rule module takes explicitly, and lookups on it.

Nothing here decides anything. The rules are plain functions in the modules that name them
(status, offers, waiting, endings, agents, callcontrol, calls, configure), each called as
`module.rule(s, ...)` so a reader always knows which file holds the rule.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .deadlines import Timers
from .errors import IllegalAction, NotFound
from .model import (
    STATUS_LABELS,
    AgentConfig,
    CallState,
    CtiSettings,
    MenuConfig,
    ServiceConfig,
    Strategy,
)
from .records import AgentRecord, CallRecord, LegRole, MonitorRecord, Relay
from .routing import CallQueue, ReadyPool


def _uuid_hex() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True, eq=False)
class EngineState:
    settings: CtiSettings
    new_id: Callable[[], str] = _uuid_hex
    services: dict[int, ServiceConfig] = field(default_factory=dict)
    agents: dict[int, AgentRecord] = field(default_factory=dict)
    by_cti_number: dict[str, int] = field(default_factory=dict)
    by_cti_id: dict[str, int] = field(default_factory=dict)  # the phone's registration name
    calls: dict[str, CallRecord] = field(default_factory=dict)
    legs: dict[str, tuple[str, LegRole]] = field(default_factory=dict)
    relays: dict[str, Relay] = field(default_factory=dict)
    # Supervisors on calls: by the call's id, and their legs (leg id -> call id).
    monitors: dict[str, MonitorRecord] = field(default_factory=dict)
    monitor_legs: dict[str, str] = field(default_factory=dict)
    pools: dict[int, ReadyPool] = field(default_factory=dict)
    queues: dict[int, CallQueue] = field(default_factory=dict)
    # Ring-all calls ringing now, per service: an agent who becomes free joins the ringing.
    ringing_all: dict[int, dict[str, None]] = field(default_factory=dict)
    menus: dict[int, MenuConfig] = field(default_factory=dict)
    # Talk times of each service's last answered calls, newest last (the expected wait).
    handle_times: dict[int, deque[float]] = field(default_factory=dict)
    timers: Timers = field(default_factory=Timers)
    seq: int = 0  # arrival order of calls and order of offers (round robin)


def new_state(
    settings: CtiSettings,
    services: list[ServiceConfig] | None,
    agents: list[AgentConfig] | None,
    new_id: Callable[[], str] | None,
) -> EngineState:
    s = EngineState(settings, new_id or _uuid_hex)
    s.services = {service.id: service for service in services or []}
    for config in agents or []:
        s.agents[config.id] = AgentRecord(config=config)
        index_cti(s, config)
    return s


def index_cti(s: EngineState, config: AgentConfig) -> None:
    """Remember which agent a CTI number (a transfer target) and a CTI id (a phone) belong to."""
    if config.cti_number:
        s.by_cti_number[config.cti_number] = config.id
    if config.cti_id:
        s.by_cti_id[config.cti_id] = config.id


def unindex_cti(s: EngineState, config: AgentConfig) -> None:
    # Only if still this agent's: a colleague may have been given the number meanwhile.
    if config.cti_number and s.by_cti_number.get(config.cti_number) == config.id:
        del s.by_cti_number[config.cti_number]
    if config.cti_id and s.by_cti_id.get(config.cti_id) == config.id:
        del s.by_cti_id[config.cti_id]


def agent_rec(s: EngineState, agent_id: int) -> AgentRecord:
    rec = s.agents.get(agent_id)
    if rec is None:
        raise NotFound(f"There is no agent {agent_id}.", code="agent_not_found")
    return rec


def strategy(s: EngineState, service_id: int) -> Strategy:
    service = s.services.get(service_id)
    return service.strategy if service else Strategy.LONGEST_IDLE


def pool(s: EngineState, service_id: int) -> ReadyPool:
    found = s.pools.get(service_id)
    if found is None:
        found = s.pools[service_id] = ReadyPool()
    return found


def queue(s: EngineState, service_id: int) -> CallQueue:
    found = s.queues.get(service_id)
    if found is None:
        found = s.queues[service_id] = CallQueue()
    return found


def next_seq(s: EngineState) -> int:
    s.seq += 1
    return s.seq


def add_leg(s: EngineState, leg_id: str, call_id: str, role: LegRole) -> None:
    s.legs[leg_id] = (call_id, role)


def illegal(s: EngineState, a: AgentRecord, action: str) -> IllegalAction:
    """The error for an action the agent's shown status forbids (the message names it)."""
    if a.call_id is not None and s.calls[a.call_id].state is CallState.CONNECTING:
        return IllegalAction(f"{action} is not possible while the call is connecting.")
    return IllegalAction(f"{action} is not possible while {STATUS_LABELS[a.status]}.")


def records(s: EngineState, service_id: int) -> bool:
    """Whether the service's calls are recorded: its own choice, else the global setting."""
    service = s.services.get(service_id)
    own = service.record_calls if service is not None else None
    return s.settings.record_calls if own is None else own


def outside_calling_number(s: EngineState, call: CallRecord) -> str:
    """Caller ID for a leg to an outside number placed on behalf of this call."""
    if call.calling_number:
        return call.calling_number
    service = s.services.get(call.service_id)
    if service is not None and service.calling_numbers:
        return min(service.calling_numbers)
    return call.called
