"""How a queued callback reaches the widget, the board and the tickets (live/shapes.py): the
offer says it is a callback and which number is called back, the call its number and attempts,
the board's queue its count and each waiting callback, the ticket its callback row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ringdesk.core.hours import OpeningHours
from ringdesk.core.snapshots import AgentView, CallView, OfferView, QueueView
from ringdesk.live import shapes
from ringdesk.live.sources import LiveSources
from ringdesk.store import models as m
from ringdesk.store import tickets
from ringdesk.store.db import make_engine
from tests.support.callback import insert_callback_ticket

NOW = 1_800_000_000.0


@dataclass
class FakeConfig:
    pickup_seconds: float = 20.0

    def service_name(self, service_id: int) -> str:
        return {1: "Support"}.get(service_id, "")

    def cti_number(self, agent_id: int) -> str | None:
        return None

    def service_hours(self, service_id: int) -> OpeningHours | None:
        return None

    def service_ids(self) -> list[int]:
        return [1]

    def service_agents(self, service_id: int) -> list[int]:
        return []

    def agent_services(self, agent_id: int) -> frozenset[int]:
        return frozenset({1})

    def supervisor_notice(self) -> bool:
        return True


@dataclass
class FakeEngine:
    agent_views: dict[int, AgentView] = field(default_factory=dict)
    queue_views: list[QueueView] = field(default_factory=list)

    def agent(self, agent_id: int) -> AgentView:
        return self.agent_views[agent_id]

    def agents(self) -> list[AgentView]:
        return list(self.agent_views.values())

    def queues(self) -> list[QueueView]:
        return self.queue_views


@pytest.fixture
def db_engine() -> Iterator[Engine]:
    engine = make_engine("sqlite://")
    m.Base.metadata.create_all(engine)
    with Session(engine) as db:
        db.add(m.Service(id=1, name="Support"))
        db.commit()
    try:
        yield engine
    finally:
        engine.dispose()


def _sources(engine: FakeEngine, db_engine: Engine) -> LiveSources:
    @contextmanager
    def reads() -> Iterator[Session]:
        with Session(db_engine) as db:
            yield db

    return LiveSources(engine=engine, config=lambda: FakeConfig(), reads=reads, clock=lambda: NOW)


def _call(call_id: str, state: str, **callback: object) -> CallView:
    return CallView(
        call_id=call_id,
        service_id=1,
        direction="inbound",
        state=state,
        customer_number="5551234",
        agent_id=None,
        calling_number=None,
        arrived_at=NOW - 90,
        connected_at=None,
        consult_number=None,
        consult_agent_id=None,
        consult_answered=False,
        **callback,  # type: ignore[arg-type]
    )


def _agent(offer: OfferView | None = None, call: CallView | None = None) -> AgentView:
    return AgentView(
        agent_id=7,
        name="Alice",
        status="ringing" if offer else "dialing",
        chosen="ready",
        since=NOW,
        reason="",
        call=call,
        offer=offer,
        missed_offers=0,
        services=frozenset({1}),
        phone_reachable=True,
    )


def test_a_callback_offer_names_the_number_called_back(db_engine: Engine) -> None:
    # The caller keyed another number than the one they called from: that one is called back.
    offer = OfferView("cb-1", 1, "5551234", NOW + 20, callback=True, callback_number="5559999")
    state = shapes.agent_state_from_view(_sources(FakeEngine(), db_engine), _agent(offer=offer))
    assert state["offer"] is not None
    assert state["offer"]["callback"] is True
    assert state["offer"]["callback_number"] == "5559999"
    assert state["offer"]["caller"] == "5551234"


def test_a_plain_offer_is_no_callback(db_engine: Engine) -> None:
    offer = OfferView("call-2", 1, "5551234", NOW + 20)
    state = shapes.agent_state_from_view(_sources(FakeEngine(), db_engine), _agent(offer=offer))
    assert state["offer"] is not None
    assert state["offer"]["callback"] is False and state["offer"]["callback_number"] is None


def test_the_call_being_dialled_back_carries_its_number_and_attempt(db_engine: Engine) -> None:
    call = _call("cb-3", "dialing", callback_number="5559999", callback_attempts=2)
    state = shapes.agent_state_from_view(_sources(FakeEngine(), db_engine), _agent(call=call))
    assert state["call"] is not None
    assert state["call"]["state"] == "dialing"
    assert state["call"]["callback_number"] == "5559999"
    assert state["call"]["callback_attempts"] == 2
    plain = shapes.agent_state_from_view(
        _sources(FakeEngine(), db_engine), _agent(call=_call("c-4", "talking"))
    )
    assert plain["call"] is not None
    assert plain["call"]["callback_number"] is None and plain["call"]["callback_attempts"] == 0


def test_the_board_counts_a_queues_callbacks_and_marks_them(db_engine: Engine) -> None:
    waiting = (
        _call("c-5", "queued"),
        _call("cb-6", "queued", callback_number="5559999", callback_attempts=0),
        _call("cb-7", "callback_wait", callback_number="5558888", callback_attempts=1),
    )
    engine = FakeEngine(queue_views=[QueueView(1, waiting, NOW - 90, in_menu=1, callbacks=2)])
    with Session(db_engine) as db:
        board = shapes.board(_sources(engine, db_engine), db, today=[])
    [queue] = board["queues"]
    assert queue["waiting"] == 3 and queue["callbacks"] == 2 and queue["in_menu"] == 1
    assert [
        (c["call_id"], c["state"], c["callback_number"], c["callback_attempts"])
        for c in queue["calls"]
    ] == [
        ("c-5", "queued", None, 0),
        ("cb-6", "queued", "5559999", 0),
        ("cb-7", "callback_wait", "5558888", 1),
    ]


def test_a_tickets_callback_is_in_its_json(db_engine: Engine) -> None:
    ticket_id = insert_callback_ticket(
        db_engine,
        "5559999",
        caller="5551234",
        at=NOW - 60,
        call_id="cb-8",
        attempts=1,
        next_try_at=NOW + 300,
        last_reason="no_answer",
    )
    with Session(db_engine) as db:
        other = m.Ticket(direction="outbound", customer_number="5550000", created_at=NOW)
        db.add(other)
        db.commit()
        with_callback = tickets.get(db, ticket_id)
        without = tickets.get(db, other.id)
        assert with_callback is not None and without is not None
        body = shapes.ticket_json(with_callback)
        assert shapes.ticket_json(without)["callback"] is None
    assert body["callback"] == {
        "number": "5559999",
        "status": "waiting",
        "attempts": 1,
        "next_try_at": shapes.iso(NOW + 300),
    }
