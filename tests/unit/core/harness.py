"""A call center on a desk: the engine, an in-memory switch and a clock the test moves by hand."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, TypeVar

from ringdesk.core.commands import Answer, Command, CtiLogin, SetStatus
from ringdesk.core.engine import Engine, Outcome
from ringdesk.core.events import DomainEvent
from ringdesk.core.model import (
    AgentConfig,
    AgentStatus,
    CtiSettings,
    MenuConfig,
    ServiceConfig,
)
from ringdesk.core.telephony import DigitPressed, RingAgent, TelephonyEvent
from tests.unit.core.memory_telephony import MemoryTelephony

E = TypeVar("E")

ALICE, BOB, CAROL = 1, 2, 3
SUPPORT = ServiceConfig(
    id=1,
    name="Customer Support",
    calling_numbers=frozenset({"5550100", "5550199"}),
)
SALES = ServiceConfig(id=2, name="Sales", calling_numbers=frozenset({"5550200"}))
AGENTS = [
    AgentConfig(ALICE, "Alice Martin", "1001", "1001", frozenset({1})),
    AgentConfig(BOB, "Bob Chen", "1002", "1002", frozenset({1})),
    AgentConfig(CAROL, "Carol Diaz", "1003", "1003", frozenset({1})),
]


class Desk:
    def __init__(
        self,
        settings: CtiSettings | None = None,
        services: list[ServiceConfig] | None = None,
        agents: list[AgentConfig] | None = None,
        menus: list[MenuConfig] | None = None,
    ) -> None:
        counter = itertools.count(1)
        self.cti = settings or CtiSettings()
        self.engine = Engine(
            self.cti,
            services if services is not None else [SUPPORT],
            agents if agents is not None else list(AGENTS),
            new_id=lambda: f"id{next(counter)}",
            menus=menus,
        )
        self.phone = MemoryTelephony()
        self.now = 1000.0
        self.events: list[DomainEvent] = []
        self._calls = itertools.count(1)

    # ---- driving ----------------------------------------------------------------------------
    def _record(self, out: Outcome) -> Outcome:
        self.events.extend(out.events)
        self.phone.execute_all(out.actions)
        return out

    def do(self, command: Command) -> Outcome:
        return self._record(self.engine.handle(command, self.now))

    def tel(self, event: TelephonyEvent) -> Outcome:
        return self._record(self.engine.on_telephony(event, self.now))

    def tick(self, seconds: float) -> Outcome:
        self.now += seconds
        return self._record(self.engine.on_timer(self.now))

    def reachable(self, agent_id: int, reachable: bool = True) -> Outcome:
        return self._record(self.engine.set_phone_reachable(agent_id, reachable, self.now))

    def settings(self, **changes: Any) -> Outcome:
        self.cti = replace(self.cti, **changes)
        return self._record(self.engine.update_settings(self.cti, self.now))

    def service(self, service: ServiceConfig) -> Outcome:
        return self._record(self.engine.upsert_service(service, self.now))

    def ready(self, *agent_ids: int) -> None:
        """Phone registered, CTI Login, Ready."""
        for agent_id in agent_ids:
            self.reachable(agent_id)
            self.do(CtiLogin(agent_id))
            self.do(SetStatus(agent_id, AgentStatus.READY))

    def arrive(self, caller: str = "5551234", service_id: int = 1) -> tuple[str, str]:
        """A customer calls; returns (call id, customer leg id)."""
        n = next(self._calls)
        call_id, leg = f"call{n}", f"cust{n}"
        self.tel(self.phone.call_arrives(call_id, leg, service_id, caller, "5550100"))
        return call_id, leg

    def key(self, leg_id: str, digits: str) -> None:
        """The caller on `leg_id` presses keys."""
        for digit in digits:
            self.tel(DigitPressed(leg_id, digit))

    # ---- looking ----------------------------------------------------------------------------
    def status(self, agent_id: int) -> str:
        return self.engine.agent(agent_id).status

    def offered(self, agent_id: int) -> str | None:
        offer = self.engine.agent(agent_id).offer
        return offer.call_id if offer else None

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def agent_leg(self, call_id: str) -> str:
        legs = [a.leg_id for a in self.phone.of_type(RingAgent) if a.call_id == call_id]
        assert legs, f"no RingAgent for {call_id}"
        return legs[-1]

    def connect(self, agent_id: int, call_id: str) -> str:
        """Answer the offered call and let the agent's phone pick up; returns the agent leg."""
        self.do(Answer(agent_id, call_id))
        leg = self.agent_leg(call_id)
        self.tel(self.phone.answered(leg))
        return leg
