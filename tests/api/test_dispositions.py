"""Wrap-up codes (dispositions): an admin defines a service's codes and whether one is required;
the agent picks one in Ticket Processing (refused outside it); the recorder stores what was
picked and the report counts it per service, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ringdesk.core.commands import PickDisposition, SetStatus
from ringdesk.core.errors import CoreError
from ringdesk.core.model import AgentStatus
from ringdesk.store import dispositions
from ringdesk.store import models as m
from ringdesk.store.db import make_engine
from ringdesk.store.migrate import upgrade
from ringdesk.store.recorder import Recorder
from ringdesk.store.snapshot import load
from ringdesk.store.stats import span_bounds
from ringdesk.store.writer import EventWriter
from tests.api.conftest import Clients, assert_error
from tests.api.test_agent_reports import DAY, RecordedDesk
from tests.support.postgres import PostgresCluster
from tests.unit.core.harness import ALICE, BOB

CODES = "/api/admin/services/1/dispositions"


def test_an_admin_defines_the_codes_of_a_service(http: Clients) -> None:
    admin = http("admin")
    assert admin.get(CODES).json() == {"service_id": 1, "required": False, "codes": []}
    body = {"required": True, "codes": [{"label": "Resolved"}, {"label": "Call back later"}]}
    saved = admin.put(CODES, json=body)
    assert saved.status_code == 200, saved.text
    codes = saved.json()["codes"]
    assert [c["label"] for c in codes] == ["Resolved", "Call back later"]
    assert saved.json()["required"] is True
    resolved, later = codes[0]["id"], codes[1]["id"]
    # Renamed and reordered by id (the two names swapped places), one added, none lost.
    body = {
        "required": False,
        "codes": [
            {"id": later, "label": "Resolved"},
            {"id": resolved, "label": "Call back later"},
            {"label": "Wrong number"},
        ],
    }
    swapped = admin.put(CODES, json=body)
    assert swapped.status_code == 200, swapped.text
    again = swapped.json()
    assert [(c["id"], c["label"]) for c in again["codes"][:2]] == [
        (later, "Resolved"),
        (resolved, "Call back later"),
    ]
    assert again["codes"][2]["label"] == "Wrong number" and again["required"] is False
    # Left out: deleted.
    kept = admin.put(CODES, json={"required": True, "codes": [{"id": later, "label": "Done"}]})
    assert kept.json()["codes"] == [{"id": later, "label": "Done"}]

    same = {"codes": [{"label": "A"}, {"label": "a"}]}
    assert_error(admin.put(CODES, json=same), 422, "invalid_input")
    assert_error(admin.put(CODES, json={"codes": [{"label": "  "}]}), 422, "invalid_input")
    assert_error(admin.put(CODES, json={"codes": [{"id": 999999, "label": "X"}]}), 404)
    assert_error(admin.put(CODES, json={"codes": [], "extra": 1}), 422, "invalid_input")
    assert_error(admin.get("/api/admin/services/9999/dispositions"), 404, "not_found")
    assert_error(http("alice").get(CODES), 403)


def test_an_agent_picks_a_code_only_while_wrapping_up(http: Clients) -> None:
    alice = http("alice")
    state = alice.get("/api/cti/state").json()
    assert state["wrap_up"] is None
    assert_error(alice.put("/api/cti/disposition", json={"code_id": 1}), 409, "not_wrapping_up")
    assert_error(alice.put("/api/cti/disposition", json={"code_id": "1"}), 422, "invalid_input")
    assert_error(http().put("/api/cti/disposition", json={"code_id": 1}), 401)


def test_the_report_counts_the_codes_per_service(http: Clients) -> None:
    response = http("admin").get("/api/admin/dispositions/report?from=2026-03-10&to=2026-03-10")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["date_from"], body["date_to"], body["tz"]) == ("2026-03-10", "2026-03-10", "UTC")
    assert body["counts"] == []
    assert_error(http("alice").get("/api/admin/dispositions/report"), 403)
    assert_error(http("admin").get("/api/admin/dispositions/report?tz=Mars/Base"), 422)


# ---- the engine, the recorder and the database ------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('codes')) / 'codes.db'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.new_database()
    upgrade(url)
    made = make_engine(url)
    with Session(made) as db:
        db.add(m.Service(id=1, name="Customer Support"))
        db.add_all(
            m.User(id=i, username=f"a{i}", name=n, role="agent", password_hash="x", created_at=0)
            for i, n in ((ALICE, "Alice"), (BOB, "Bob"))
        )
        db.commit()
        dispositions.replace_all(
            db, service_id=1, required=True, codes=[(None, "Resolved"), (None, "Call back later")]
        )
    try:
        yield made
    finally:
        made.dispose()


def test_picked_codes_are_stored_with_the_ticket_and_counted(engine: sa.Engine) -> None:
    with Session(engine) as db:
        support = next(s for s in load(db, {}).services if s.id == 1)
    assert support.disposition_required
    resolved, later = support.dispositions
    assert (resolved.label, later.label) == ("Resolved", "Call back later")

    desk = RecordedDesk(EventWriter(engine, Recorder()))
    desk.service(support)
    desk.ready(ALICE)
    for code in (later, resolved, None):  # three calls; the last one ends by the time limit
        call, cust = desk.arrive()
        desk.after(2).connect(ALICE, call)
        desk.after(30).hang_up(cust)
        with pytest.raises(CoreError) as refused:
            desk.do(SetStatus(ALICE, AgentStatus.READY))
        assert refused.value.code == "disposition_required"
        if code is None:
            desk.settings(wrap_up_seconds=10.0)
            desk.tick(11.0)
            desk.settings(wrap_up_seconds=None)
        else:
            if code is resolved:
                desk.do(PickDisposition(ALICE, later.id))  # changed her mind
            desk.do(PickDisposition(ALICE, code.id))
            desk.after(5).do(SetStatus(ALICE, AgentStatus.READY))
        assert desk.status(ALICE) == "ready"

    start, end = span_bounds(DAY, DAY)
    with Session(engine) as db:
        counted = dispositions.per_service(db, start, end)
        stored = db.execute(
            sa.select(m.CallDisposition.call_id, m.CallDisposition.label).order_by(
                m.CallDisposition.call_id
            )
        ).all()
        timeline = db.scalars(
            sa.select(m.TicketEvent.detail).where(m.TicketEvent.kind == "disposition")
        ).all()
    assert counted == [
        {"service_id": 1, "label": "Call back later", "count": 1},
        {"service_id": 1, "label": "Resolved", "count": 1},
    ]
    assert [label for _, label in stored] == ["Call back later", "Resolved"]  # one per call
    assert sorted(timeline) == [
        "Wrap-up code: Call back later (Alice)",
        "Wrap-up code: Call back later (Alice)",
        "Wrap-up code: Resolved (Alice)",
    ]
