"""An admin's change reaches the open pages it concerns: the agents of a service whose contracts
or calling numbers changed, an agent whose permission changed, are told over their feed to read
their profile again (`me_changed`); the others are not (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.api.conftest import Clients
from tests.support.server import RunningServer


@contextmanager
def _feed(api: RunningServer, token: str) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{api.http_port}/api/ws", open_timeout=30) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "ready"}
        yield ws


def _next(ws: ClientConnection, kind: str, timeout: float = 20.0) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
        if message.get("type") == kind:
            return message


def _quiet(ws: ClientConnection, kind: str, seconds: float = 1.5) -> None:
    try:
        while True:
            message = json.loads(ws.recv(timeout=seconds))
            assert message.get("type") != kind, message
    except TimeoutError:
        pass


def test_a_services_contract_and_calling_numbers_reach_its_agents_open_pages(
    api: RunningServer, http: Clients
) -> None:
    admin = http("admin")
    service = admin.get("/api/admin/services/1").json()
    try:
        with _feed(api, http.token("alice")) as alice_ws:
            _changes_reach(admin, http, alice_ws)
    finally:
        admin.patch(
            "/api/admin/services/1",
            json={
                "outbound_enabled": service["outbound_enabled"],
                "service_level_seconds": service["service_level_seconds"],
            },
        ).raise_for_status()
        for n in admin.get("/api/admin/services/1/calling-numbers").json():
            if n["number"] == "5550177":
                admin.delete(f"/api/admin/services/1/calling-numbers/{n['id']}")


def _changes_reach(admin: Any, http: Clients, alice_ws: ClientConnection) -> None:
    changed = admin.patch("/api/admin/services/1", json={"outbound_enabled": False})
    assert changed.status_code == 200, changed.text
    _next(alice_ws, "me_changed")
    me = http("alice").get("/api/me").json()
    assert [s["outbound_enabled"] for s in me["services"] if s["id"] == 1] == [False]

    added = admin.post(
        "/api/admin/services/1/calling-numbers", json={"number": "5550177", "label": "Promo"}
    )
    assert added.status_code == 201, added.text
    _next(alice_ws, "me_changed")
    numbers = [
        n["number"]
        for s in http("alice").get("/api/me").json()["services"]
        if s["id"] == 1
        for n in s["calling_numbers"]
    ]
    assert "5550177" in numbers

    # A change no page shows (the service level target): no message.
    admin.patch("/api/admin/services/1", json={"service_level_seconds": 25})
    _quiet(alice_ws, "me_changed")
