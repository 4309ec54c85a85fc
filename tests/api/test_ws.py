"""The WebSocket feed: authentication, numbered messages, resume with `since`, ping, board."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.api.conftest import Clients
from tests.support.server import RunningServer


@contextmanager
def _ws(api: RunningServer, token: str, since: int | None = None) -> Iterator[ClientConnection]:
    """A feed authenticated by its first message, subscribed once `ready` has come."""
    url = f"ws://127.0.0.1:{api.http_port}/api/ws"
    if since is not None:
        url += f"?since={since}"
    with connect(url, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "ready"}
        yield ws


def _next(ws: ClientConnection, type_: str | None = None, timeout: float = 30) -> dict[str, Any]:
    """The next message (of a type, skipping others such as board updates)."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
        if type_ is None or message.get("type") == type_:
            return message


def test_feed_refuses_a_missing_or_bad_token(api: RunningServer, http: Clients) -> None:
    url = f"ws://127.0.0.1:{api.http_port}/api/ws"
    for first in (
        {"type": "auth", "token": "forged"},
        {"type": "ping"},
        {"type": "auth"},
        "not json",
    ):
        with connect(url, open_timeout=30) as ws:
            ws.send(first if isinstance(first, str) else json.dumps(first))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # The old way, the token in the URL, is refused even with a good token.
    with connect(f"{url}?token={http.token('carol')}", open_timeout=30) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_feed_closes_a_socket_that_never_authenticates(api: RunningServer) -> None:
    with connect(f"ws://127.0.0.1:{api.http_port}/api/ws", open_timeout=30) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_status_changes_arrive_in_order_with_growing_seq(api: RunningServer, http: Clients) -> None:
    bob = http("bob")
    with _ws(api, http.token("bob")) as ws:
        bob.post("/api/cti/login")
        first = _next(ws, "agent_state")
        assert first["data"]["status"] == "business" and first["data"]["logged_in"] is True
        bob.put("/api/cti/status", json={"status": "rest"})
        second = _next(ws, "agent_state")
        assert second["data"]["status"] == "rest" and second["data"]["status_label"] == "Rest"
        assert second["seq"] == first["seq"] + 1
        bob.post("/api/cti/logout")
        third = _next(ws, "agent_state")
        assert third["data"]["status"] == "logged_out" and third["seq"] == second["seq"] + 1


def test_reconnect_with_since_replays_what_was_missed(api: RunningServer, http: Clients) -> None:
    bob = http("bob")
    with _ws(api, http.token("bob")) as ws:
        bob.post("/api/cti/login")
        last = _next(ws, "agent_state")["seq"]
    bob.put("/api/cti/status", json={"status": "ready"})
    bob.put("/api/cti/status", json={"status": "rest"})
    with _ws(api, http.token("bob"), since=last) as ws:
        missed = [_next(ws), _next(ws)]
        assert [m["seq"] for m in missed] == [last + 1, last + 2]
        assert [m["data"]["status"] for m in missed] == ["ready", "rest"]
        # and the feed goes on live after the replay
        bob.post("/api/cti/logout")
        live = _next(ws, "agent_state")
        assert live["seq"] == last + 3 and live["data"]["status"] == "logged_out"


def test_since_from_another_server_life_asks_for_resync(api: RunningServer, http: Clients) -> None:
    with _ws(api, http.token("carol"), since=10**9) as ws:
        assert _next(ws) == {"type": "resync"}


def test_ping_gets_pong(api: RunningServer, http: Clients) -> None:
    with _ws(api, http.token("carol")) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert _next(ws, "pong") == {"type": "pong"}
        ws.send("not json at all")  # ignored, the socket stays open
        ws.send(json.dumps({"type": "ping"}))
        assert _next(ws, "pong") == {"type": "pong"}


def test_admin_feed_gets_board_on_agent_changes(api: RunningServer, http: Clients) -> None:
    bob = http("bob")
    bob_id = bob.get("/api/me").json()["id"]
    with _ws(api, http.token("admin")) as ws:
        bob.post("/api/cti/login")
        bob.put("/api/cti/status", json={"status": "rest"})
        while True:
            board = _next(ws, "board")
            row = next(a for a in board["data"]["agents"] if a["agent_id"] == bob_id)
            if row["status"] == "rest":
                break
        assert {"agents", "queues", "today"} <= set(board["data"])
        assert board["data"]["today"][0]["service_name"] == "Customer Support"
        bob.post("/api/cti/logout")


def test_agent_feed_never_carries_other_agents_or_board(api: RunningServer, http: Clients) -> None:
    with _ws(api, http.token("carol")) as ws:
        http("bob").post("/api/cti/login")
        http("bob").post("/api/cti/logout")
        http("carol").post("/api/cti/login")
        message = _next(ws)
        assert (
            message["type"] == "agent_state"
            and message["data"]["agent_id"] == http("carol").get("/api/me").json()["id"]
        )
        http("carol").post("/api/cti/logout")
