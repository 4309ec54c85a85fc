"""The REST API as an agent (or the admin) uses it, with polling waits for the live state.

Every wait polls GET /api/cti/state (or another endpoint) with a generous deadline and fails
with the last state seen, so a slow, loaded machine only makes tests slower, never flaky.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.server import RunningServer

WAIT = 30.0  # seconds: generous, for a loaded 2-core machine

State = dict[str, Any]


class ApiError(AssertionError):
    pass


class AgentApi:
    def __init__(self, server: RunningServer, username: str, password: str) -> None:
        self.server = server
        self.username = username
        self.token = server.login(username, password)
        self.http: httpx.Client = server.client(self.token)
        self.me: dict[str, Any] = self.call("GET", "/api/me")

    def close(self) -> None:
        self.http.close()

    @property
    def id(self) -> int:
        return int(self.me["id"])

    # -- plumbing

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code != expect:
            raise ApiError(
                f"{self.username}: {method} {path} -> {response.status_code} {response.text} "
                f"(wanted {expect})\n--- server log:\n{self.server.log_tail(30)}"
            )
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    # -- the agent's CTI

    def state(self) -> State:
        result: State = self.call("GET", "/api/cti/state")
        return result

    def wait_state(
        self, predicate: Callable[[State], bool], what: str, *, timeout: float = WAIT
    ) -> State:
        deadline = time.monotonic() + timeout
        state = self.state()
        while not predicate(state):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.username}: waited {timeout:.0f} s for {what}; last state:\n"
                    f"{json.dumps(state, indent=1)}\n--- server log:\n{self.server.log_tail(40)}"
                )
            time.sleep(0.2)
            state = self.state()
        return state

    def wait_status(self, status: str, *, timeout: float = WAIT) -> State:
        return self.wait_state(lambda s: s["status"] == status, f"status {status}", timeout=timeout)

    def cti_login(self) -> State:
        result: State = self.call("POST", "/api/cti/login")
        return result

    def set_status(self, status: str) -> State:
        result: State = self.call("PUT", "/api/cti/status", json={"status": status})
        return result

    def ready(self, *, phone: bool = True) -> State:
        """CTI login and Ready; with `phone`, first wait for the phone's registration to show."""
        self.cti_login()
        if phone:
            self.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
        return self.set_status("ready")

    def wait_offer(self, *, timeout: float = WAIT) -> dict[str, Any]:
        state = self.wait_state(lambda s: s["offer"] is not None, "an offer", timeout=timeout)
        offer: dict[str, Any] = state["offer"]
        return offer

    def answer(self, call_id: str) -> State:
        result: State = self.call("POST", f"/api/calls/{call_id}/answer")
        return result

    def call_action(self, call_id: str, action: str, *, expect: int = 200, **kw: Any) -> Any:
        return self.call("POST", f"/api/calls/{call_id}/{action}", expect=expect, **kw)

    def wait_talking(self, *, timeout: float = WAIT) -> dict[str, Any]:
        state = self.wait_state(
            lambda s: (
                s["status"] == "on_call"
                and s["call"] is not None
                and s["call"]["state"] == "talking"
            ),
            "on_call / talking",
            timeout=timeout,
        )
        call: dict[str, Any] = state["call"]
        return call

    def tickets(self, **params: Any) -> list[dict[str, Any]]:
        body = self.call("GET", "/api/tickets", params=params)
        items: list[dict[str, Any]] = body["items"]
        return items

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/api/tickets/{ticket_id}")
        return result


class AdminApi(AgentApi):
    def settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/api/admin/cti/settings")
        return result

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """GET the CTI settings, change some, PUT them back (PUT replaces the whole record)."""
        body = self.settings()
        body.update(changes)
        body = {k: v for k, v in body.items() if k != "id"}
        result: dict[str, Any] = self.call("PUT", "/api/admin/cti/settings", json=body)
        return result

    def update_trunk(self, **changes: Any) -> dict[str, Any]:
        """Change some fields of the first trunk (the demo's): tests/support/server.py."""
        return self.server.update_trunk(**changes)

    def sound(self, name: str) -> bytes:
        data = self.call("GET", f"/api/admin/cti/sounds/{name}")
        assert isinstance(data, bytes) and data[:4] == b"RIFF", f"{name} is not a WAV"
        return data

    def board(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/api/board")
        return result

    def cti_agents(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "/api/admin/cti/agents")
        return result

    def wait_queue(self, service_id: int, waiting: int, *, timeout: float = WAIT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            queues: dict[int, dict[str, Any]] = {q["service_id"]: q for q in self.board()["queues"]}
            queue = queues.get(service_id)
            if queue is not None and queue["waiting"] == waiting:
                return queue
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"queue of service {service_id}: wanted {waiting} waiting, board says {queue}"
                )
            time.sleep(0.2)
