"""The widget's incoming card names the caller's last ticket (live/shapes.py Offer.last_ticket):
the matched customer's newest ticket, else the number's, among those the agent may see, never
the offered call's own; read with one query per offer beside the customer's match."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from ringdesk.core.hours import OpeningHours
from ringdesk.core.snapshots import AgentView, OfferView
from ringdesk.live import shapes
from ringdesk.live.sources import LiveSources
from ringdesk.store import models as m
from ringdesk.store.db import make_engine

NOW = 1_800_000_000.0
AGENT = 7


@dataclass
class FakeConfig:
    pickup_seconds: float = 20.0

    def service_name(self, service_id: int) -> str:
        return {1: "Support", 2: "Private"}.get(service_id, "")

    def service_hours(self, service_id: int) -> OpeningHours | None:
        return None

    def service_ids(self) -> list[int]:
        return [1, 2]


@dataclass
class FakeEngine:
    def agent(self, agent_id: int) -> AgentView:
        raise AssertionError("not asked")


@pytest.fixture
def db_engine() -> Iterator[Engine]:
    engine = make_engine("sqlite://")
    m.Base.metadata.create_all(engine)
    with Session(engine) as db:
        db.add_all([m.Service(id=1, name="Support"), m.Service(id=2, name="Private")])
        db.add(
            m.User(id=AGENT, username="a", name="A", role="agent", password_hash="", created_at=0)
        )
        db.flush()
        db.add(m.ServiceAgent(service_id=1, user_id=AGENT, phone_permission=True))
        db.add(m.Customer(id=1, name="Dana Scully", phone="5551234"))
        db.commit()
    try:
        yield engine
    finally:
        engine.dispose()


def _ticket(engine: Engine, **row: Any) -> int:
    with Session(engine) as db:
        values: dict[str, Any] = {"direction": "inbound", "service_id": 1, "subject": ""} | row
        ticket = m.Ticket(**values)
        db.add(ticket)
        db.commit()
        ticket_id: int = ticket.id
        return ticket_id


def _offer_state(engine: Engine, caller: str, call_id: str = "call-now") -> shapes.AgentState:
    @contextmanager
    def reads() -> Iterator[Session]:
        with Session(engine) as db:
            yield db

    sources = LiveSources(
        engine=FakeEngine(),  # type: ignore[arg-type]
        config=lambda: FakeConfig(),  # type: ignore[arg-type, return-value]
        reads=reads,
        clock=lambda: NOW,
    )
    view = AgentView(
        agent_id=AGENT,
        name="A",
        status="ringing",
        chosen="ready",
        since=NOW,
        reason="",
        call=None,
        offer=OfferView(call_id, 1, caller, NOW + 20),
        missed_offers=0,
        services=frozenset({1}),
        phone_reachable=True,
    )
    return shapes.agent_state_from_view(sources, view)


def _last(engine: Engine, caller: str, call_id: str = "call-now") -> Any:
    offer = _offer_state(engine, caller, call_id)["offer"]
    assert offer is not None
    return offer["last_ticket"]


def test_the_matched_customers_newest_ticket_the_agent_may_see(db_engine: Engine) -> None:
    _ticket(
        db_engine, customer_number="5551234", customer_id=1, subject="Old", created_at=NOW - 900
    )
    seen = _ticket(
        db_engine,
        customer_number="+4930999",  # linked to her, from another phone: hers
        customer_id=1,
        subject="Router again",
        created_at=NOW - 600,
    )
    # newer, but of a service the agent is not in and not theirs: not shown
    _ticket(
        db_engine,
        service_id=2,
        customer_number="5551234",
        customer_id=1,
        subject="Hidden",
        created_at=NOW - 300,
    )
    # the offered call's own ticket (a callback's exists before the offer): not "last time"
    _ticket(
        db_engine,
        call_id="call-now",
        customer_number="5551234",
        customer_id=1,
        subject="This call",
        created_at=NOW - 60,
    )
    assert _last(db_engine, "+5551234") == {
        "id": seen,
        "subject": "Router again",
        "created_at": shapes.iso(NOW - 600),
    }
    # the agent's own ticket of the other service is theirs to see
    own = _ticket(
        db_engine,
        service_id=2,
        customer_number="5551234",
        customer_id=1,
        agent_id=AGENT,
        subject="Mine",
        created_at=NOW - 200,
    )
    assert _last(db_engine, "5551234")["id"] == own


def test_a_number_without_a_customer_by_its_tickets(db_engine: Engine) -> None:
    assert _last(db_engine, "+5557777") is None
    _ticket(db_engine, customer_number="5557777", subject="Earlier", created_at=NOW - 500)
    newest = _ticket(db_engine, customer_number="+5557777", subject="", created_at=NOW - 400)
    last = _last(db_engine, "5557777")
    assert last == {"id": newest, "subject": "", "created_at": shapes.iso(NOW - 400)}
    # a ticket from this number linked to a customer is still the number's
    _ticket(
        db_engine, customer_number="5557777", customer_id=1, subject="Linked", created_at=NOW - 10
    )
    assert _last(db_engine, "5557777")["subject"] == "Linked"


def test_an_offer_reads_the_database_twice(db_engine: Engine) -> None:
    """The customer's match and the last ticket: one statement each, whatever the history."""
    for n in range(30):
        _ticket(db_engine, customer_number="5551234", customer_id=1, created_at=NOW - 1000 + n)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db_engine, "before_cursor_execute", count)
    try:
        assert _last(db_engine, "5551234") is not None
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    assert len(statements) == 2, statements
    assert "FROM customers" in statements[0] and "FROM tickets" in statements[1]
