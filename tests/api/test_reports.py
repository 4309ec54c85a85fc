"""Reports: /api/stats over a date range (and a time zone), per service, per agent and in total,
and the same figures as CSV from /api/stats.csv.

The call records are written straight into the server's database (SQLite or PostgreSQL) on days
long past, so every figure is known in advance and no live call of another test can move it;
tests/ui/test_reports.py covers records made by a real call.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.db import make_engine
from ringdesk.store.stats import span_bounds
from tests.api.conftest import Clients, assert_error
from tests.support.server import RunningServer

D1 = "2026-03-10"
D2 = "2026-03-11"
SECOND_SERVICE = "=Sales line"  # a formula-looking name: the CSV must keep it text
_ids = itertools.count(1)


def _at(day: str, hhmm: str) -> float:
    return dt.datetime.fromisoformat(f"{day}T{hhmm}:00+00:00").timestamp()


def _record(
    service_id: int,
    arrived: float,
    *,
    agent_id: int | None = None,
    direction: str = "inbound",
    wait: float | None = None,
    talk: float | None = None,
    wrap_up: float | None = None,
    abandoned_after: float | None = None,
) -> list[m.CallRecord | m.CallAgent]:
    connected = arrived + wait if wait is not None else None
    if abandoned_after is not None:
        ended, outcome = arrived + abandoned_after, "abandoned"
    else:
        ended, outcome = (connected or arrived) + (talk or 0), "answered"
    call_id = f"report-{next(_ids)}"
    record = m.CallRecord(
        call_id=call_id,
        service_id=service_id,
        direction=direction,
        customer_number="5551234",
        agent_id=agent_id,
        arrived_at=arrived,
        offered_at=arrived if agent_id is not None else None,
        connected_at=connected,
        ended_at=ended,
        wait_seconds=wait,
        talk_seconds=talk,
        wrap_up_seconds=wrap_up,
        outcome=outcome,
    )
    if agent_id is None:
        return [record]
    # The agent's part in the call, as the recorder writes it: the agents' figures count these.
    part = m.CallAgent(
        call_id=call_id,
        agent_id=agent_id,
        service_id=service_id,
        kind="dial" if direction == "outbound" else "offer",
        offered_at=arrived,
        answered_at=connected,
        ended_at=ended,
        result="answered" if connected is not None else "withdrawn",
    )
    return [record, part]


def _database_url(server: RunningServer) -> str:
    return server.database_url or f"sqlite:///{server.data_dir / 'ringdesk.db'}"


@pytest.fixture(scope="module")
def seeded(api: RunningServer) -> Iterator[dict[str, int]]:
    """Two days of calls on the demo service and a second service with a 60 s target."""
    admin = api.client(api.login("admin", "admin-demo"))
    try:
        created = admin.post("/api/admin/services", json={"name": SECOND_SERVICE})
        assert created.status_code == 201, created.text
        sales = created.json()["id"]
        patched = admin.patch(f"/api/admin/services/{sales}", json={"service_level_seconds": 60})
        assert patched.status_code == 200, patched.text
        users = {u["username"]: u["id"] for u in admin.get("/api/admin/users").json()}
    finally:
        admin.close()
    alice, bob = users["alice"], users["bob"]
    engine = make_engine(_database_url(api))
    try:
        with Session(engine) as db:
            rows = [
                _record(1, _at(D1, "10:00"), agent_id=alice, wait=5, talk=60, wrap_up=30),
                _record(1, _at(D1, "11:00"), agent_id=bob, wait=30, talk=120, wrap_up=10),
                _record(1, _at(D1, "12:00"), abandoned_after=12),
                # 23:30 UTC is already the next day in Paris.
                _record(1, _at(D1, "23:30"), agent_id=alice, wait=10, talk=40, wrap_up=20),
                _record(1, _at(D2, "09:00"), abandoned_after=8),
                _record(1, _at(D2, "10:00"), agent_id=alice, direction="outbound", wait=7, talk=50),
                # 45 s is within the second service's 60 s target, not the default 20 s.
                _record(sales, _at(D2, "11:00"), agent_id=bob, wait=45, talk=30, wrap_up=5),
            ]
            db.add_all(row for call in rows for row in call)
            db.commit()
    finally:
        engine.dispose()
    yield {"sales": sales, **users}


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_a_range_gives_figures_per_service_per_agent_and_in_total(
    http: Clients, seeded: dict[str, int]
) -> None:
    response = http("admin").get(f"/api/stats?from={D1}&to={D2}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["date"], body["tz"]) == (D1, D2, D1, "UTC")

    support = _by(body["services"], "service_id")[1]
    assert support["service_name"] == "Customer Support"
    assert (support["offered"], support["answered"], support["abandoned"]) == (5, 3, 2)
    assert support["avg_abandon_seconds"] == 10.0  # (12 + 8) / 2
    assert support["avg_wait_seconds"] == 15.0  # (5 + 30 + 10) / 3
    assert support["longest_wait_seconds"] == 30.0
    assert support["avg_talk_seconds"] == 67.5  # (60 + 120 + 40 + 50) / 4, outbound included
    assert support["avg_wrap_up_seconds"] == 20.0
    assert support["service_level"] == 0.4  # 5 s and 10 s of 5 decided calls within 20 s
    assert (support["outbound"], support["outbound_connected"]) == (1, 1)

    sales = _by(body["services"], "service_id")[seeded["sales"]]
    assert (sales["offered"], sales["answered"], sales["service_level"]) == (1, 1, 1.0)

    agents = _by(body["agents"], "agent_id")
    alice, bob, carol = agents[seeded["alice"]], agents[seeded["bob"]], agents[seeded["carol"]]
    assert alice["name"] == "Alice Martin"
    # Per agent from their parts in calls (call_agents), no longer from the call records.
    assert (alice["offered"], alice["answered"], alice["outbound"]) == (2, 2, 1)
    assert (alice["talk_seconds"], alice["avg_talk_seconds"]) == (150.0, 50.0)
    assert (bob["answered"], bob["talk_seconds"], bob["avg_talk_seconds"]) == (2, 150.0, 75.0)
    # An agent without calls is listed with zeros, not left out.
    assert (carol["offered"], carol["answered"], carol["occupancy"]) == (0, 0, None)
    assert carol["status_seconds"]["ready"] == 0.0

    total = body["total"]
    assert (total["offered"], total["answered"], total["abandoned"]) == (6, 4, 2)
    assert total["service_level"] == 0.5  # 5 s, 10 s (20 s target) and 45 s (60 s) of 6


def test_one_day_by_date_or_by_range_and_counted_in_a_time_zone(
    http: Clients, seeded: dict[str, int]
) -> None:
    admin = http("admin")

    def support(query: str) -> dict[str, Any]:
        response = admin.get(f"/api/stats?{query}")
        assert response.status_code == 200, response.text
        return dict(_by(response.json()["services"], "service_id")[1])

    by_date = support(f"date={D1}")
    assert (by_date["offered"], by_date["answered"], by_date["abandoned"]) == (4, 3, 1)
    assert support(f"from={D1}") == by_date  # from alone is that one day
    assert support(f"to={D1}") == by_date
    assert support(f"from={D1}&to={D1}&tz=UTC") == by_date
    # In Paris (UTC+1 in March) the 23:30 UTC call belongs to the next day.
    paris_d1 = support(f"from={D1}&to={D1}&tz=Europe/Paris")
    assert (paris_d1["offered"], paris_d1["answered"]) == (3, 2)
    paris_d2 = support(f"from={D2}&to={D2}&tz=Europe/Paris")
    assert (paris_d2["offered"], paris_d2["answered"], paris_d2["abandoned"]) == (2, 1, 1)
    assert admin.get(f"/api/stats?date={D1}&tz=Europe/Paris").json()["tz"] == "Europe/Paris"
    # A day with no calls gives zeros, and today is the default.
    empty = support("date=2026-01-01")
    assert (empty["offered"], empty["avg_wait_seconds"], empty["service_level"]) == (0, None, None)
    today = admin.get("/api/stats").json()
    assert today["from"] == today["to"] == dt.datetime.now(dt.UTC).date().isoformat()


def test_filters_by_service_and_agent(http: Clients, seeded: dict[str, int]) -> None:
    admin = http("admin")
    body = admin.get(f"/api/stats?from={D1}&to={D2}&service_id={seeded['sales']}").json()
    assert [s["service_id"] for s in body["services"]] == [seeded["sales"]]
    assert body["total"]["offered"] == 1
    bob = _by(body["agents"], "agent_id")[seeded["bob"]]
    assert (bob["answered"], bob["talk_seconds"]) == (1, 30.0)  # his Sales call only
    only_alice = admin.get(f"/api/stats?from={D1}&to={D2}&agent_id={seeded['alice']}").json()
    assert [a["agent_id"] for a in only_alice["agents"]] == [seeded["alice"]]


def test_an_agent_sees_only_their_own_row(http: Clients, seeded: dict[str, int]) -> None:
    alice = http("alice")
    body = alice.get(f"/api/stats?from={D1}&to={D2}").json()
    assert body["services"] == [] and body["total"] is None
    assert [a["agent_id"] for a in body["agents"]] == [seeded["alice"]]
    assert body["agents"][0]["answered"] == 2
    assert_error(alice.get(f"/api/stats?agent_id={seeded['bob']}"), 403, "forbidden")
    assert_error(alice.get(f"/api/stats.csv?agent_id={seeded['bob']}"), 403, "forbidden")
    rows = list(csv.DictReader(io.StringIO(alice.get(f"/api/stats.csv?from={D1}&to={D2}").text)))
    assert [(r["row"], r["id"], r["answered"]) for r in rows] == [
        ("agent", str(seeded["alice"]), "2")
    ]


def test_csv_has_the_same_figures(http: Clients, seeded: dict[str, int]) -> None:
    admin = http("admin")
    body = admin.get(f"/api/stats?from={D1}&to={D2}").json()
    response = admin.get(f"/api/stats.csv?from={D1}&to={D2}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="ringdesk-stats-{D1}-to-{D2}.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = (
        [("service", str(s["service_id"]), s) for s in body["services"]]
        + [("agent", str(a["agent_id"]), a) for a in body["agents"]]
        + [("total", "", body["total"])]
    )
    assert [(r["row"], r["id"]) for r in rows] == [(kind, key) for kind, key, _ in expected]
    for row, (_, _, figures) in zip(rows, expected, strict=True):
        assert (row["from"], row["to"], row["tz"]) == (D1, D2, "UTC")
        counts = ["offered", "answered", "outbound", "outbound_connected"]
        times = ["avg_talk_seconds"]
        if row["row"] == "agent":
            counts += ["missed", "declined", "transfers_made", "transfers_received"]
            times += ["talk_seconds", "wrap_up_seconds", "logged_in_seconds", "occupancy"]
            for status, seconds in figures["status_seconds"].items():
                assert float(row[f"status_{status}_seconds"]) == seconds
            assert row["abandoned"] == "" and row["service_level"] == ""  # not an agent's
        else:
            counts += ["abandoned", "transferred_out", "overflowed", "closed", "callback_requested"]
            times += ["avg_abandon_seconds", "avg_wait_seconds", "service_level"]
            assert row["missed"] == ""
        for name in counts:
            assert int(row[name]) == figures[name], (row, name)
        for name in times:
            assert (float(row[name]) if row[name] else None) == figures[name], (row, name)
    names = {r["id"]: r["name"] for r in rows if r["row"] == "service"}
    assert names["1"] == "Customer Support"
    # CSV injection: a name a spreadsheet would run as a formula stays text.
    assert names[str(seeded["sales"])] == "'" + SECOND_SERVICE


@pytest.mark.parametrize(
    "query",
    [
        "date=2026-13-45",
        "from=yesterday",
        "to=2026-02-30",
        f"from={D2}&to={D1}",  # backwards
        f"date={D1}&from={D1}",  # both ways at once
        "from=2024-01-01&to=2026-01-01",  # over a year
        "date=9999-12-31",  # its end is past the last date there is
        "tz=Mars/Olympus_Mons",
        "tz=zone.tab",
        "tz=../../etc/passwd",
        "service_id=0",
        "agent_id=abc",
    ],
)
def test_bad_ranges_are_refused(http: Clients, query: str) -> None:
    admin = http("admin")
    assert_error(admin.get(f"/api/stats?{query}"), 422, "invalid_input")
    assert_error(admin.get(f"/api/stats.csv?{query}"), 422, "invalid_input")


def test_stats_need_a_login(http: Clients) -> None:
    anonymous = http()
    assert_error(anonymous.get("/api/stats"), 401)
    assert_error(anonymous.get("/api/stats.csv"), 401)


def test_a_span_covers_whole_local_days_across_a_daylight_saving_change() -> None:
    paris = ZoneInfo("Europe/Paris")
    # Clocks go forward on 2026-03-29 in Paris: that day has 23 hours.
    start, end = span_bounds(dt.date(2026, 3, 29), dt.date(2026, 3, 29), paris)
    assert end - start == 23 * 3600
    assert dt.datetime.fromtimestamp(start, dt.UTC) == dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
    # A week over the change: 7 local days, one hour short.
    start, end = span_bounds(dt.date(2026, 3, 26), dt.date(2026, 4, 1), paris)
    assert end - start == 7 * 86400 - 3600
    start, end = span_bounds(dt.date(2026, 3, 10), dt.date(2026, 3, 11))
    assert (start, end) == (_at(D1, "00:00"), _at("2026-03-12", "00:00"))
