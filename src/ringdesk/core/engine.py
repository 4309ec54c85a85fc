"""The engine: one object that owns agents, calls and queues, and applies the manual's rules.

    outcome = engine.handle(command, now)          # an agent clicked something
    outcome = engine.on_telephony(event, now)      # the switch reported something
    outcome = engine.on_timer(now)                 # pickup / wrap-up / max-wait deadlines
    engine.next_deadline() -> float | None         # when on_timer must be called next

An Outcome holds domain events (persist, then publish) and telephony actions (for the switch).
Illegal commands raise a CoreError subclass and change nothing.

THIS FILE IS A CONTRACT STUB: the implementation replaces the bodies, keeping the signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .commands import Command
from .events import DomainEvent
from .model import AgentConfig, CtiSettings, ServiceConfig
from .telephony import TelephonyAction, TelephonyEvent


@dataclass(slots=True)
class Outcome:
    events: list[DomainEvent] = field(default_factory=list)
    actions: list[TelephonyAction] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OfferView:
    call_id: str
    service_id: int
    caller: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class CallView:
    call_id: str
    service_id: int
    direction: str  # Direction value
    state: str  # CallState value
    customer_number: str
    agent_id: int | None
    calling_number: str | None
    arrived_at: float
    connected_at: float | None
    consult_number: str | None
    consult_agent_id: int | None
    consult_answered: bool


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: int
    name: str
    status: str  # AgentStatus value shown
    chosen: str  # the agent's chosen status (business/ready/rest) or logged_out
    since: float  # when `status` began
    reason: str
    call: CallView | None
    offer: OfferView | None
    missed_offers: int
    services: frozenset[int]


@dataclass(frozen=True, slots=True)
class QueueView:
    service_id: int
    waiting: tuple[CallView, ...]  # in order
    longest_wait_since: float | None


class Engine:
    """Public surface used by the runtime (app.py). Bodies are filled in by the core work."""

    def __init__(
        self,
        settings: CtiSettings,
        services: list[ServiceConfig] | None = None,
        agents: list[AgentConfig] | None = None,
    ) -> None:
        raise NotImplementedError

    # ---- inputs -----------------------------------------------------------------------------
    def handle(self, command: Command, now: float) -> Outcome:
        raise NotImplementedError

    def on_telephony(self, event: TelephonyEvent, now: float) -> Outcome:
        raise NotImplementedError

    def on_timer(self, now: float) -> Outcome:
        raise NotImplementedError

    def next_deadline(self) -> float | None:
        raise NotImplementedError

    # ---- configuration (admin changes; may re-route waiting calls) ----------------------------
    def update_settings(self, settings: CtiSettings, now: float) -> Outcome:
        raise NotImplementedError

    def upsert_service(self, service: ServiceConfig, now: float) -> Outcome:
        raise NotImplementedError

    def upsert_agent(self, agent: AgentConfig, now: float) -> Outcome:
        raise NotImplementedError

    def set_phone_reachable(self, agent_id: int, reachable: bool, now: float) -> Outcome:
        """Registration came or went; an unreachable phone is never offered calls."""
        raise NotImplementedError

    def restore_agent(self, agent_id: int, chosen: str, since: float) -> None:
        """After a restart: put a logged-in agent back in their chosen status (no call)."""
        raise NotImplementedError

    # ---- queries ----------------------------------------------------------------------------
    def agent(self, agent_id: int) -> AgentView:
        raise NotImplementedError

    def agents(self) -> list[AgentView]:
        raise NotImplementedError

    def call(self, call_id: str) -> CallView:
        raise NotImplementedError

    def calls(self) -> list[CallView]:
        raise NotImplementedError

    def queues(self) -> list[QueueView]:
        raise NotImplementedError

    def ready_agents(
        self, service_ids: frozenset[int] | None = None, query: str = ""
    ) -> list[AgentView]:
        """Ready agents (optionally of some services, name/CTI number containing query)."""
        raise NotImplementedError
