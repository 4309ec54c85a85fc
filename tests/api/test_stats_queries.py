"""The statistics queries (GROUP BY in the database) agree with `summarize`, the figures'
definition in plain Python, on random calls, on SQLite and on PostgreSQL.

Durations are whole seconds: then the database's and Python's averages are the same division of
the same exact sum, and rounding to a tenth cannot differ by summation order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store import stats
from ringdesk.store.db import make_engine
from ringdesk.store.migrate import upgrade
from tests.support.postgres import PostgresCluster

BASE = 1_780_000_000.0  # a day in 2026; every generated call arrives within its first hour
LEVELS = {1: 20.0, 2: 60.0}  # two services with different targets
AGENTS = (2, 3)
_ids = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('stats')) / 'stats.db'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.new_database()
    upgrade(url)
    made = make_engine(url)
    with Session(made) as db:
        db.add_all(
            m.Service(id=i, name=f"Service {i}", service_level_seconds=level)
            for i, level in LEVELS.items()
        )
        db.add_all(
            m.User(
                id=i,
                username=f"agent{i}",
                name=f"Agent {i}",
                role="agent",
                password_hash="x",
                created_at=0.0,
            )
            for i in AGENTS
        )
        db.commit()
    try:
        yield made
    finally:
        made.dispose()


# Whole seconds, often right at a service level target (20 s, 60 s) where "within" is decided.
seconds = (st.sampled_from([0, 19, 20, 21, 59, 60, 61]) | st.integers(0, 300)).map(float)


@st.composite
def call_records(draw: st.DrawFn) -> dict[str, Any]:
    arrived = BASE + draw(st.integers(min_value=0, max_value=3600))
    connected = draw(st.booleans())
    wait = draw(st.none() | seconds)
    return {
        "call_id": f"q-{next(_ids)}",
        "service_id": draw(st.sampled_from([1, 2, None])),
        "direction": draw(st.sampled_from(["inbound", "inbound", "outbound"])),
        "customer_number": "5551234",
        "agent_id": draw(st.sampled_from([None, *AGENTS])),
        "arrived_at": arrived,
        "connected_at": arrived + (wait or 0.0) if connected else None,
        "ended_at": draw(st.none() | seconds.map(lambda s: arrived + s)),
        "wait_seconds": wait,
        "talk_seconds": draw(st.none() | seconds),
        "wrap_up_seconds": draw(st.none() | seconds),
        "outcome": draw(
            st.sampled_from(
                [
                    None,
                    "answered",
                    "abandoned",
                    "rejected",
                    "refused",
                    "interrupted",
                    "no_answer",
                    "transferred",
                    "overflowed",
                    "closed",
                    "closed_forwarded",
                    "forwarded",
                    "menu_ended",
                    "voicemail",
                ]
            )
        ),
    }


def _expected(
    rows: list[dict[str, Any]], callbacks: dict[str, str], *, by: str | None
) -> dict[Any, dict[str, Any]]:
    records = [m.CallRecord(**row) for row in rows]
    level = stats.DEFAULT_SERVICE_LEVEL_SECONDS
    if by is None:
        return {None: stats.summarize(records, level, LEVELS, callbacks)}
    groups: dict[Any, list[m.CallRecord]] = {}
    for record in records:
        key = getattr(record, by)
        if key is not None:
            groups.setdefault(key, []).append(record)
    return {key: stats.summarize(group, level, LEVELS, callbacks) for key, group in groups.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(call_records(), max_size=25),
    # Some calls asked for a callback: its status decides their outcome.
    callback_statuses=st.lists(st.sampled_from(["waiting", "done", "failed", None]), max_size=25),
)
def test_the_queries_give_the_figures_summarize_defines(
    engine: sa.Engine, rows: list[dict[str, Any]], callback_statuses: list[str | None]
) -> None:
    callbacks = {
        row["call_id"]: status
        for row, status in zip(rows, callback_statuses, strict=False)
        if status is not None
    }
    with Session(engine) as db:
        db.execute(sa.delete(m.Callback))
        db.execute(sa.delete(m.CallRecord))
        if rows:
            db.execute(sa.insert(m.CallRecord), rows)
        db.add_all(
            m.Callback(
                call_id=call_id,
                caller="5551234",
                called="5550100",
                number="5551234",
                arrived_at=BASE,
                requested_at=BASE,
                status=status,
            )
            for call_id, status in callbacks.items()
        )
        db.flush()
        span = (BASE, BASE + 86400.0)
        assert {None: stats.overall(db, *span)} == _expected(rows, callbacks, by=None)

        empty = stats.summarize([], stats.DEFAULT_SERVICE_LEVEL_SECONDS)
        by_service = _expected(rows, callbacks, by="service_id")
        for row in stats.per_service(db, *span):
            figures = {k: v for k, v in row.items() if k not in ("service_id", "service_name")}
            assert figures == by_service.get(row["service_id"], empty), row["service_id"]

        # Every offered call has exactly one outcome.
        total = stats.overall(db, *span)
        assert total["offered"] == sum(total[name] for name in stats.OUTCOMES)

        # The agents' figures come from their parts in calls (call_agents), not from the call
        # records: tests/api/test_agent_reports.py checks them on a scripted day. Agents are
        # listed even without any.
        listed = stats.per_agent(db, *span)
        assert [row["agent_id"] for row in listed] == list(AGENTS)

        # A call outside the span is not counted.
        assert stats.overall(db, BASE + 86400.0, BASE + 2 * 86400.0)["offered"] == 0
        db.rollback()
