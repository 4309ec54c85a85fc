"""What the live read side reads, passed in explicitly by the runtime (never the runtime itself)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from ringdesk.core.hours import OpeningHours
from ringdesk.core.model import DispositionCode
from ringdesk.core.snapshots import AgentView, QueueView


class EngineViews(Protocol):
    """The engine's read-only queries (immutable snapshots)."""

    def agent(self, agent_id: int) -> AgentView: ...

    def agents(self) -> list[AgentView]: ...

    def queues(self) -> list[QueueView]: ...


class ConfigView(Protocol):
    """The parts of the configuration snapshot that screens show."""

    @property
    def pickup_seconds(self) -> float: ...

    def service_name(self, service_id: int) -> str: ...

    def cti_number(self, agent_id: int) -> str | None: ...

    def service_hours(self, service_id: int) -> OpeningHours | None:
        """The service's calendar (None: always open, or no such service)."""

    def service_ids(self) -> list[int]: ...

    def wrap_up_codes(self, service_id: int) -> tuple[tuple[DispositionCode, ...], bool]:
        """The service's wrap-up codes, and whether one is required."""

    def service_agents(self, service_id: int) -> list[int]:
        """The agents with phone permission on the service."""

    def agent_services(self, agent_id: int) -> frozenset[int]:
        """The services a user has phone permission on (a supervisor leads those)."""

    def supervisor_notice(self) -> bool:
        """Agents see when a supervisor is on their call (CTI setting)."""


@dataclass(frozen=True, slots=True)
class LiveSources:
    engine: EngineViews
    config: Callable[[], ConfigView]  # the current snapshot; a save replaces it as a whole
    reads: Callable[[], AbstractContextManager[Session]]  # a database session for reading
    clock: Callable[[], float]
