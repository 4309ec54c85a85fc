"""The supervisor role: the board, reports and agents of the services they lead, no settings;
setting an agent's status or logging them out with a message the agent sees (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from tests.api.conftest import Clients, assert_error
from tests.support.server import RunningServer


def _uid(admin: httpx.Client, username: str) -> int:
    users = admin.get("/api/admin/users").json()
    return next(u["id"] for u in users if u["username"] == username)


@pytest.fixture
def team(api: RunningServer, http: Clients) -> Iterator[dict[str, int]]:
    """Bob supervises the demo service; Carol also works a second service, Sales, that only
    she is on (and Bob does not lead). Everything is put back afterwards."""
    admin = http("admin")
    ids = {name: _uid(admin, name) for name in ("alice", "bob", "carol")}
    sales = admin.post("/api/admin/services", json={"name": "Sales"}).json()
    admin.put(
        f"/api/admin/services/{sales['id']}/agents/{ids['carol']}",
        json={"phone_permission": True},
    ).raise_for_status()
    admin.put(
        f"/api/admin/services/1/agents/{ids['carol']}", json={"phone_permission": False}
    ).raise_for_status()
    admin.patch(f"/api/admin/users/{ids['bob']}", json={"role": "supervisor"}).raise_for_status()
    http.tokens.pop("bob", None)  # the role change ended his sessions
    ids["sales"] = sales["id"]
    try:
        yield ids
    finally:
        admin.patch(f"/api/admin/users/{ids['bob']}", json={"role": "agent"}).raise_for_status()
        http.tokens.pop("bob", None)
        admin.put(
            f"/api/admin/services/1/agents/{ids['carol']}", json={"phone_permission": True}
        ).raise_for_status()
        admin.delete(f"/api/admin/services/{sales['id']}").raise_for_status()


def test_a_supervisor_sees_the_board_of_their_services_and_no_settings(
    api: RunningServer, http: Clients, team: dict[str, int]
) -> None:
    bob = http("bob")
    me = bob.get("/api/me").json()
    assert me["role"] == "supervisor"
    board = bob.get("/api/board")
    assert board.status_code == 200
    data = board.json()
    assert [q["service_id"] for q in data["queues"]] == [1]
    shown = {a["agent_id"] for a in data["agents"]}
    assert team["alice"] in shown and team["carol"] not in shown  # Carol is on Sales only
    assert all(t["service_id"] == 1 for t in data["today"])
    # The admin's board has both services.
    admin_board = http("admin").get("/api/board").json()
    assert {q["service_id"] for q in admin_board["queues"]} == {1, team["sales"]}
    # No settings, no users.
    for path in ("/api/admin/cti/settings", "/api/admin/users", "/api/admin/services"):
        assert_error(bob.get(path), 403, "forbidden")
    # An agent has no board.
    assert_error(http("alice").get("/api/board"), 403, "forbidden")


def test_a_supervisors_reports_are_of_their_services_and_their_agents(
    api: RunningServer, http: Clients, team: dict[str, int]
) -> None:
    bob = http("bob")
    report = bob.get("/api/stats").json()
    assert [s["service_id"] for s in report["services"]] == [1]
    agents = {a["agent_id"] for a in report["agents"]}
    assert team["alice"] in agents and team["carol"] not in agents
    assert report["total"] is not None  # one service: its total
    assert_error(bob.get("/api/stats", params={"service_id": team["sales"]}), 403, "forbidden")
    assert_error(bob.get("/api/stats", params={"agent_id": team["carol"]}), 403, "forbidden")
    csv = bob.get("/api/stats.csv")
    assert csv.status_code == 200 and "Sales" not in csv.text
    codes = bob.get("/api/admin/dispositions/report")
    assert codes.status_code == 200, codes.text
    assert all(c["service_id"] == 1 for c in codes.json()["counts"])
    assert_error(
        bob.get("/api/admin/dispositions/report", params={"service_id": team["sales"]}),
        403,
        "forbidden",
    )
    assert_error(http("alice").get("/api/admin/dispositions/report"), 403, "forbidden")


def test_a_supervisor_sets_an_agents_status_and_logs_them_out_with_a_message(
    api: RunningServer, http: Clients, team: dict[str, int]
) -> None:
    bob, alice = http("bob"), http("alice")
    alice.post("/api/cti/login").raise_for_status()
    try:
        url = f"ws://127.0.0.1:{api.http_port}/api/ws"
        with connect(url, open_timeout=30) as ws:
            ws.send(json.dumps({"type": "auth", "token": http.token("alice")}))
            assert json.loads(ws.recv(timeout=30)) == {"type": "ready"}
            changed = bob.put(
                f"/api/board/agents/{team['alice']}/status",
                json={"status": "rest", "message": "Take your break now, please."},
            )
            assert changed.status_code == 200, changed.text
            state = changed.json()
            assert state["status"] == "rest" and state["reason"] == "by_supervisor"
            assert "Take your break now" in state["reason_note"]
            assert "(supervisor)" in state["reason_note"]
            # Her widget is told at once, over the feed.
            while True:
                message = json.loads(ws.recv(timeout=30))
                if message.get("type") == "agent_state":
                    break
            assert message["data"]["reason_note"] == state["reason_note"]

            out = bob.post(f"/api/board/agents/{team['alice']}/logout", json={"message": ""})
            assert out.status_code == 200 and out.json()["logged_in"] is False
            assert out.json()["reason"] == "by_supervisor"
        # Not an agent of the services Bob leads: nothing is learnt about her.
        assert_error(
            bob.put(f"/api/board/agents/{team['carol']}/status", json={"status": "ready"}),
            404,
            "not_found",
        )
        assert_error(
            bob.put(f"/api/board/agents/{team['alice']}/status", json={"status": "on_call"}),
            422,
        )
        too_long = {"status": "ready", "message": "x" * 201}
        assert_error(bob.put(f"/api/board/agents/{team['alice']}/status", json=too_long), 422)
        # An agent cannot do it.
        assert_error(
            alice.post(f"/api/board/agents/{team['alice']}/logout", json={}), 403, "forbidden"
        )
    finally:
        alice.post("/api/cti/logout")


def test_monitoring_refusals_name_what_is_wrong(
    api: RunningServer, http: Clients, team: dict[str, int]
) -> None:
    bob = http("bob")
    assert_error(
        bob.put("/api/board/calls/nosuchcall/monitor", json={"mode": "listen"}),
        404,
        "call_not_found",
    )
    assert_error(bob.put("/api/board/calls/x/monitor", json={"mode": "shout"}), 422)
    assert_error(bob.delete("/api/board/calls/nosuchcall/monitor"), 404, "not_monitoring")
    assert_error(
        http("alice").put("/api/board/calls/x/monitor", json={"mode": "listen"}), 403, "forbidden"
    )
