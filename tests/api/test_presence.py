"""An agent whose browser is gone is logged out of CTI (the CTI setting "Log out agents whose
browser is gone after"), with a reason her widget explains; an agent with a page open, or one
who uses the API alone, stays logged in."""

from __future__ import annotations

import json
import time

from websockets.sync.client import connect

from tests.api.conftest import Clients, assert_error, wait_for
from tests.support.server import RunningServer


def test_an_agent_whose_pages_are_closed_is_logged_out_after_the_limit(
    api: RunningServer, http: Clients
) -> None:
    admin = http("admin")
    settings = admin.get("/api/admin/cti/settings").json()
    assert settings["absent_logout_seconds"] == 120  # on by default
    refused = admin.put("/api/admin/cti/settings", json=dict(settings, absent_logout_seconds=5))
    assert "page reload" in assert_error(refused, 422, "invalid_input")["message"]
    saved = admin.put("/api/admin/cti/settings", json=dict(settings, absent_logout_seconds=10))
    assert saved.status_code == 200 and saved.json()["absent_logout_seconds"] == 10
    alice, bob = http("alice"), http("bob")
    try:
        for agent in (alice, bob):
            assert agent.post("/api/cti/login").status_code == 200
        # Alice's page: its feed open, then closed (the tab shut). Bob never opens one.
        url = f"ws://127.0.0.1:{api.http_port}/api/ws"
        with connect(url, open_timeout=30) as ws:
            ws.send(json.dumps({"type": "auth", "token": http.token("alice")}))
            assert json.loads(ws.recv(timeout=30)) == {"type": "ready"}
        closed = time.monotonic()
        state = wait_for(
            lambda: (s := alice.get("/api/cti/state").json())["logged_in"] is False and s,
            timeout=40,
            message="alice logged out after her page closed",
        )
        assert state["reason"] == "browser_gone", state
        assert time.monotonic() - closed >= 9  # not before the limit
        assert bob.get("/api/cti/state").json()["logged_in"] is True  # the API alone: kept
    finally:
        for agent in (alice, bob):
            agent.post("/api/cti/logout")
        admin.put("/api/admin/cti/settings", json=settings).raise_for_status()
