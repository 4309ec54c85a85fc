"""Webhooks on a real server: an admin registers a receiver started by the test on 127.0.0.1;
the events arrive signed, with the documented headers; a receiver that was down gets them
when it is back, in order; a restart with deliveries pending loses none; bad input is a 422
with its code."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ringdesk.store.webhooks import EVENTS, verify
from tests.api.conftest import Clients, assert_error, wait_for
from tests.api.phone import RegisteringPhone
from tests.support.server import RunningServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def delivery(self) -> int:
        return int(self.headers["ringdesk-delivery"])


class Receiver:
    """A CRM's endpoint: an HTTP server on 127.0.0.1 in a thread, noting every POST. It can go
    down (nothing listens on its port) and come back on the same port."""

    def __init__(self) -> None:
        self.got: list[Received] = []
        self.port = 0
        self.answer = 204  # the status it answers with
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/ringdesk"

    def up(self) -> None:
        got = self.got
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                got.append(Received(headers, body, time.time()))
                self.send_response(receiver.answer)
                if 300 <= receiver.answer < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self, name: str) -> list[Received]:
        return [r for r in self.got if r.headers.get("ringdesk-event") == name]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.down()


@pytest.fixture
def webhook(http: Clients, receiver: Receiver) -> Iterator[dict[str, Any]]:
    admin = http("admin")
    created = admin.post(
        "/api/admin/webhooks",
        json={"url": receiver.url, "events": list(EVENTS), "description": "The CRM"},
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    try:
        yield body
    finally:
        # a new client: a test may have restarted the server on another port
        http("admin").delete(f"/api/admin/webhooks/{body['id']}")


def assert_signed(r: Received, secret: str) -> dict[str, Any]:
    """The documented headers, and a signature that verifies with the webhook's secret."""
    h = r.headers
    assert h["content-type"] == "application/json"
    assert h["ringdesk-event"] and int(h["ringdesk-delivery"]) >= 1
    stamp = int(h["ringdesk-timestamp"])
    assert abs(stamp - r.at) < 60
    assert h["ringdesk-signature"].startswith("v1=")
    assert verify(
        secret, h["ringdesk-timestamp"], r.body, h["ringdesk-signature"], now=r.at, tolerance=300
    )
    assert not verify(
        "another secret",
        h["ringdesk-timestamp"],
        r.body,
        h["ringdesk-signature"],
        now=r.at,
        tolerance=300,
    )
    assert not verify(
        secret,
        h["ringdesk-timestamp"],
        r.body + b" ",
        h["ringdesk-signature"],
        now=r.at,
        tolerance=300,
    )
    # an old timestamp is refused even with a good signature (a replay)
    assert not verify(
        secret,
        h["ringdesk-timestamp"],
        r.body,
        h["ringdesk-signature"],
        now=r.at + 3600,
        tolerance=300,
    )
    body = r.json
    assert body["event"] == h["ringdesk-event"]
    assert set(body) == {"event", "id", "at", "data"}
    assert body["at"].endswith("Z") and len(body["id"]) == 32
    return body


def user_id(http: Clients, username: str) -> int:
    users = http("admin").get("/api/admin/users").json()
    return int(next(u["id"] for u in users if u["username"] == username))


def test_events_arrive_signed_with_the_documented_headers(
    api: RunningServer,
    http: Clients,
    receiver: Receiver,
    webhook: dict[str, Any],
    register_phone: Callable[[str], RegisteringPhone],
) -> None:
    admin, alice = http("admin"), http("alice")
    secret = webhook["secret"]
    assert len(secret) >= 40 and webhook["events"] == list(EVENTS)
    listed = admin.get("/api/admin/webhooks").json()
    mine = next(w for w in listed if w["id"] == webhook["id"])
    assert "secret" not in mine and mine["description"] == "The CRM" and mine["enabled"]

    ping = admin.post(f"/api/admin/webhooks/{webhook['id']}/ping")
    assert ping.status_code == 202 and ping.json()["event"] == "ping"
    got = wait_for(lambda: receiver.events("ping"), message="the ping")
    body = assert_signed(got[0], secret)
    assert body["data"]["webhook_id"] == webhook["id"]
    assert got[0].delivery == ping.json()["id"]
    assert got[0].headers["user-agent"].startswith("Ringdesk-Webhooks")

    # agent.status, ticket.opened and call.ended from an outbound call; ticket.updated
    settings = admin.get("/api/admin/cti/settings").json()
    admin.put("/api/admin/cti/settings", json=dict(settings, outbound_ticket_on_dial=True))
    register_phone("alice")
    alice_id = user_id(http, "alice")
    try:
        alice.post("/api/cti/login")
        wait_for(lambda: alice.get("/api/cti/state").json()["phone_registered"], message="phone")
        state = alice.post(
            "/api/calls/dial",
            json={"service_id": 1, "number": "5555678", "calling_number": "5550199"},
        )
        assert state.status_code == 200, state.text
        call = state.json()["call"]
        assert alice.post(f"/api/calls/{call['id']}/end").status_code == 200
        edited = alice.patch(
            f"/api/tickets/{call['ticket_id']}", json={"subject": "Invoice", "status": "solved"}
        )
        assert edited.status_code == 200
        assert alice.post("/api/cti/logout").status_code == 200
    finally:
        admin.put("/api/admin/cti/settings", json=settings)

    def logged_out() -> bool:
        return any(
            r.json["data"]["status"] == "logged_out" for r in receiver.events("agent.status")
        )

    wait_for(logged_out, message="agent.status logged_out")
    statuses = [assert_signed(r, secret)["data"] for r in receiver.events("agent.status")]
    assert {s["agent_id"] for s in statuses} == {alice_id}
    assert statuses[-1]["status"] == "logged_out" and statuses[-1]["reason"] == "logout"
    assert len(statuses) >= 2 and all(s["status"] != "logged_out" for s in statuses[:-1])
    opened = assert_signed(receiver.events("ticket.opened")[0], secret)["data"]
    assert opened == {
        "ticket_id": call["ticket_id"],
        "call_id": call["id"],
        "service_id": 1,
        "agent_id": alice_id,
        "direction": "outbound",
        "customer_number": "5555678",
        "kind": "call",
    }
    ended = assert_signed(receiver.events("call.ended")[0], secret)["data"]
    assert ended["call_id"] == call["id"] and ended["agent_id"] == alice_id
    assert ended["customer_number"] == "5555678" and ended["direction"] == "outbound"
    assert ended["outcome"] and ended["ended_by"] == "agent"
    updated = assert_signed(receiver.events("ticket.updated")[0], secret)["data"]
    assert updated["ticket_id"] == call["ticket_id"] and updated["by_user_id"] == alice_id
    assert updated["changes"] == {"subject": "Invoice", "status": "solved"}
    assert updated["status"] == "solved" and updated["subject"] == "Invoice"
    # in the order of the events: the ticket opened before the call ended, edited after
    order = [r.headers["ringdesk-event"] for r in receiver.got]
    assert order.index("ticket.opened") < order.index("call.ended") < order.index("ticket.updated")
    ids = [r.delivery for r in receiver.got]
    assert ids == sorted(ids)

    # the log: newest first, every one delivered with its 204 (marked once the answer is in)
    hook = f"/api/admin/webhooks/{webhook['id']}"
    wait_for(lambda: admin.get(hook).json()["pending"] == 0, message="none pending")
    log = admin.get(f"/api/admin/webhooks/{webhook['id']}/deliveries?limit=200").json()
    assert log["total"] == len(log["items"]) >= 5
    assert [d["id"] for d in log["items"]] == sorted(ids, reverse=True)[: len(log["items"])]
    assert all(d["status"] == "delivered" and d["last_status_code"] == 204 for d in log["items"])
    assert all(d["attempts"] == 1 and d["delivered_at"] for d in log["items"])


def test_a_receiver_that_was_down_gets_the_events_in_order_when_it_is_back(
    http: Clients, receiver: Receiver, webhook: dict[str, Any]
) -> None:
    admin = http("admin")
    hook = f"/api/admin/webhooks/{webhook['id']}"
    receiver.down()
    sent = [admin.post(f"{hook}/ping").json()["id"] for _ in range(3)]

    def first_failed() -> bool:
        items = admin.get(f"{hook}/deliveries").json()["items"]
        head = next(d for d in items if d["id"] == sent[0])
        return bool(head["attempts"] >= 1 and head["status"] == "pending")

    wait_for(first_failed, message="a failed first attempt")
    items = {d["id"]: d for d in admin.get(f"{hook}/deliveries").json()["items"]}
    assert items[sent[0]]["last_error"] and items[sent[0]]["last_status_code"] is None
    # the later ones wait behind it: never tried while the first is not through
    assert items[sent[1]]["attempts"] == 0 and items[sent[2]]["attempts"] == 0
    assert admin.get(hook).json()["pending"] == 3
    receiver.up()
    wait_for(lambda: len(receiver.got) >= 3, timeout=60, message="the deliveries after the outage")
    assert [r.delivery for r in receiver.got] == sent
    for r in receiver.got:
        assert_signed(r, webhook["secret"])
    final = {d["id"]: d for d in admin.get(f"{hook}/deliveries").json()["items"]}
    assert final[sent[0]]["attempts"] >= 2 and final[sent[0]]["status"] == "delivered"
    assert final[sent[0]]["last_error"] is None


def test_a_redirect_is_not_followed_and_an_error_answer_is_tried_again(
    http: Clients, receiver: Receiver, webhook: dict[str, Any]
) -> None:
    admin = http("admin")
    hook = f"/api/admin/webhooks/{webhook['id']}"
    receiver.answer = 302
    sent = admin.post(f"{hook}/ping").json()["id"]

    def attempted() -> dict[str, Any] | None:
        items = admin.get(f"{hook}/deliveries").json()["items"]
        head: dict[str, Any] = next(d for d in items if d["id"] == sent)
        return head if head["attempts"] >= 1 else None

    head = wait_for(attempted, message="the first attempt")
    assert head["status"] == "pending" and head["last_status_code"] == 302
    assert "not followed" in head["last_error"]
    assert len(receiver.got) == 1  # nothing went to the Location
    receiver.answer = 500
    head = wait_for(
        lambda: (h := attempted()) and h["attempts"] >= 2 and h, timeout=60, message="a retry"
    )
    assert head["last_status_code"] == 500 and head["last_error"].startswith("HTTP 500")
    receiver.answer = 200
    wait_for(
        lambda: admin.get(f"{hook}/deliveries").json()["items"][0]["status"] == "delivered",
        timeout=60,
        message="delivered at last",
    )
    assert [r.delivery for r in receiver.got] == [sent] * len(receiver.got)
    assert len(receiver.got) >= 3


def test_a_restart_with_deliveries_pending_loses_none(
    api: RunningServer, http: Clients, receiver: Receiver, webhook: dict[str, Any]
) -> None:
    admin = http("admin")
    hook = f"/api/admin/webhooks/{webhook['id']}"
    receiver.down()
    sent = [admin.post(f"{hook}/ping").json()["id"] for _ in range(2)]
    # the secret rotated: what is sent from now on is signed with the new one
    secret = admin.post(f"{hook}/secret").json()["secret"]
    assert secret != webhook["secret"]
    api.kill()  # a crash: nothing is flushed, the queue is the database's
    api.launch()
    admin = http("admin")  # the server's new port
    assert admin.get(hook).json()["pending"] == 2
    receiver.up()
    wait_for(lambda: len(receiver.got) >= 2, timeout=60, message="the deliveries after restart")
    assert [r.delivery for r in receiver.got] == sent
    for r in receiver.got:
        assert_signed(r, secret)
    # marked delivered once the answer is in (the receiver notes a request before answering)
    wait_for(lambda: admin.get(hook).json()["pending"] == 0, message="none pending")


def test_bad_input_and_who_may(http: Clients, receiver: Receiver, webhook: dict[str, Any]) -> None:
    admin, alice = http("admin"), http("alice")
    good = {"url": receiver.url, "events": ["call.ended"]}
    for url in (
        "ftp://example.com/x",
        "http://user:pw@example.com/hook",
        "https:///nohost",
        "http://example.com:notaport/",
        "not a url at all",
    ):
        refused = admin.post("/api/admin/webhooks", json=dict(good, url=url))
        body = assert_error(refused, 422, "invalid_input")
        assert body["fields"][0]["field"] == "body.url", (url, body)
    unknown = admin.post("/api/admin/webhooks", json=dict(good, events=["call.exploded"]))
    message = assert_error(unknown, 422, "invalid_input")["message"]
    assert all(name in message for name in EVENTS), message
    assert_error(admin.post("/api/admin/webhooks", json=dict(good, events=[])), 422)
    assert_error(admin.post("/api/admin/webhooks", json=dict(good, secret="mine")), 422)
    assert_error(admin.post("/api/admin/webhooks", json={"events": ["call.ended"]}), 422)
    hook = f"/api/admin/webhooks/{webhook['id']}"
    assert_error(admin.patch(hook, json={"url": None}), 422, "invalid_input")
    assert_error(admin.patch(hook, json={"secret": "x"}), 422, "invalid_input")
    assert_error(admin.get("/api/admin/webhooks/999999"), 404, "not_found")
    assert_error(admin.post("/api/admin/webhooks/999999/ping"), 404, "not_found")
    # a delivered delivery is not re-sent; an unknown one is a 404
    ping = admin.post(f"{hook}/ping").json()
    wait_for(lambda: receiver.events("ping"), message="the ping")
    wait_for(
        lambda: admin.get(f"{hook}/deliveries").json()["items"][0]["status"] == "delivered",
        message="the ping delivered",
    )
    assert_error(admin.post(f"{hook}/deliveries/{ping['id']}/resend"), 409, "delivery_not_failed")
    assert_error(admin.post(f"{hook}/deliveries/999999/resend"), 404, "not_found")
    # a disabled webhook is sent nothing, a ping is refused
    edited = admin.patch(hook, json={"enabled": False, "events": ["agent.status"]})
    assert edited.status_code == 200 and edited.json()["events"] == ["agent.status"]
    assert_error(admin.post(f"{hook}/ping"), 409, "webhook_disabled")
    # agents may not see or change webhooks
    assert_error(alice.get("/api/admin/webhooks"), 403)
    assert_error(alice.post("/api/admin/webhooks", json=good), 403)
    assert admin.get("/api/admin/webhooks/events").json() == {"events": list(EVENTS)}
