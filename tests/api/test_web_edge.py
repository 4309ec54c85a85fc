"""The web edge (issue #9): login throttling and timing, the password policy, session lifetimes
and revocation that closes open feeds, the token kept out of the log, security headers, and
bodies refused before they are read.

Each group runs against its own real `ringdesk serve` (SQLite), started with the flags it needs:
short throttle windows, lenient limits for the timing measurement, short session lifetimes.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.api.conftest import PASSWORDS
from tests.support.server import RunningServer, start_server

WINDOW = 20  # seconds a failed login counts on the throttled server (20 argon2 logins must fit
# in it on a loaded 2-core machine)


def _server(tmp: Path, *args: str) -> Iterator[RunningServer]:
    running = start_server(tmp, serve_args=args)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Default limits but a short window, and debug logging (access log and frames on)."""
    yield from _server(
        tmp_path_factory.mktemp("edge"), "--login-window", str(WINDOW), "--log-level", "debug"
    )


@pytest.fixture(scope="module")
def lenient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Limits out of the way, to measure answer times over many failed logins."""
    yield from _server(
        tmp_path_factory.mktemp("lenient"),
        "--login-account-failures",
        "1000",
        "--login-address-failures",
        "1000",
    )


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Sessions that end after 2 s unused or 6 s after login."""
    yield from _server(
        tmp_path_factory.mktemp("short"), "--session-idle", "2", "--session-absolute", "6"
    )


def _login(server: RunningServer, username: str, password: str) -> httpx.Response:
    with server.client() as http:
        return http.post("/api/auth/login", json={"username": username, "password": password})


@contextmanager
def _feed(server: RunningServer, token: str) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{server.http_port}/api/ws", open_timeout=30) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "ready"}
        yield ws


def _pong(ws: ClientConnection) -> None:
    """A ping is answered: the socket is still open (other messages on the way are skipped)."""
    ws.send(json.dumps({"type": "ping"}))
    while json.loads(ws.recv(timeout=10)).get("type") != "pong":
        pass


def _closed_with(ws: ClientConnection, timeout: float = 10) -> tuple[int, str, float]:
    """Read until the server closes; its close code, reason and how long it took."""
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=timeout)
    assert closed.value.rcvd is not None, "the server did not close the socket"
    return closed.value.rcvd.code, closed.value.rcvd.reason, time.monotonic() - started


def _wait_out(response: httpx.Response) -> None:
    time.sleep(int(response.headers["retry-after"]) + 0.3)


# ---- login throttling ----------------------------------------------------------------------


def test_login_is_throttled_per_account(edge: RunningServer) -> None:
    for _ in range(5):
        assert _login(edge, "bob", "wrong-password").status_code == 401
    refused = _login(edge, "bob", "wrong-password")
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_attempts"
    assert "this account" in refused.json()["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW
    # The right password does not get through while the account is throttled...
    right = _login(edge, "bob", PASSWORDS["bob"])
    assert right.status_code == 429 and right.json()["code"] == "too_many_attempts"
    # ...and other accounts are not affected.
    assert _login(edge, "carol", PASSWORDS["carol"]).status_code == 200
    _wait_out(right)
    assert _login(edge, "bob", PASSWORDS["bob"]).status_code == 200


def test_login_is_throttled_per_address_and_a_success_does_not_reset_it(
    edge: RunningServer,
) -> None:
    # 19 different made-up accounts: no account reaches its own limit.
    for n in range(19):
        assert _login(edge, f"guess{n}", "wrong-password").status_code == 401
    assert _login(edge, "alice", PASSWORDS["alice"]).status_code == 200
    assert _login(edge, "guess19", "wrong-password").status_code == 401
    refused = _login(edge, "alice", PASSWORDS["alice"])
    assert refused.status_code == 429
    assert "your address" in refused.json()["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW
    _wait_out(refused)
    assert _login(edge, "alice", PASSWORDS["alice"]).status_code == 200


def test_unknown_and_known_users_answer_in_the_same_time(lenient: RunningServer) -> None:
    def timed(username: str) -> float:
        started = time.perf_counter()
        response = http.post(
            "/api/auth/login", json={"username": username, "password": "wrong-password"}
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"
        return elapsed

    known: list[float] = []
    unknown: list[float] = []
    with lenient.client() as http:
        timed("alice")  # warm the connection and the server
        for n in range(20):  # interleaved, so a slow moment of the machine hits both
            known.append(timed("alice"))
            unknown.append(timed(f"nobody{n}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 <= ratio <= 2, (statistics.median(known), statistics.median(unknown))


# ---- password policy -------------------------------------------------------------------------


def test_password_policy_when_a_password_is_set(edge: RunningServer) -> None:
    with edge.client(edge.login("admin", PASSWORDS["admin"])) as admin:

        def create(password: str) -> httpx.Response:
            return admin.post(
                "/api/admin/users",
                json={"username": "erin", "name": "Erin Policy", "password": password},
            )

        for weak, words in (
            ("short-pw", "at least 10 characters"),
            ("1234567890", "most common passwords"),
            ("Password123", "most common passwords"),
            ("QWERTYUIOP", "most common passwords"),
            ("aaaaaaaaaaaa", "most common passwords"),
            ("x" * 201, "at most 200"),
        ):
            refused = create(weak)
            assert refused.status_code == 422, weak
            body = refused.json()
            assert body["code"] == "invalid_input" and words in body["message"], body
            assert body["fields"][0]["field"] == "body.password"
        named = create("erin-loves-tea")
        assert named.status_code == 422 and named.json()["code"] == "weak_password"
        # No composition rules: a long lowercase phrase is fine.
        created = create("correct horse battery")
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        weak_patch = admin.patch(f"/api/admin/users/{user_id}", json={"password": "iloveyou12"})
        assert weak_patch.status_code == 422
        assert _login(edge, "erin", "correct horse battery").status_code == 200
        assert admin.delete(f"/api/admin/users/{user_id}").status_code == 204


# ---- sessions: revocation closes the feed ----------------------------------------------------


def _new_user(admin: httpx.Client, username: str, role: str = "agent") -> int:
    created = admin.post(
        "/api/admin/users",
        json={"username": username, "name": username.title(), "password": "a-long-pass-1"}
        | {"role": role},
    )
    assert created.status_code == 201, created.text
    user_id: int = created.json()["id"]
    return user_id


def test_logout_closes_that_sessions_feed_only(edge: RunningServer) -> None:
    first = edge.login("carol", PASSWORDS["carol"])
    second = edge.login("carol", PASSWORDS["carol"])
    with _feed(edge, first) as ws_first, _feed(edge, second) as ws_second:
        with edge.client(first) as http:
            assert http.post("/api/auth/logout").status_code == 204
        code, reason, took = _closed_with(ws_first)
        assert code == 1008 and reason == "logged_out" and took < 2
        _pong(ws_second)
    with edge.client(first) as http:
        assert http.get("/api/me").status_code == 401


@pytest.mark.parametrize("change", ["password", "role", "delete"])
def test_password_role_change_or_deletion_ends_sessions_and_closes_feeds(
    edge: RunningServer, change: str
) -> None:
    with edge.client(edge.login("admin", PASSWORDS["admin"])) as admin:
        user_id = _new_user(admin, f"gina{change}", role="admin" if change == "role" else "agent")
        token = edge.login(f"gina{change}", "a-long-pass-1")
        with _feed(edge, token) as ws:
            if change == "password":
                answer = admin.patch(
                    f"/api/admin/users/{user_id}", json={"password": "another-long-one"}
                )
            elif change == "role":
                answer = admin.patch(f"/api/admin/users/{user_id}", json={"role": "agent"})
            else:
                answer = admin.delete(f"/api/admin/users/{user_id}")
            assert answer.is_success, answer.text
            code, reason, took = _closed_with(ws)
            assert code == 1008 and reason == "session_ended" and took < 2
        with edge.client(token) as old:
            assert old.get("/api/me").status_code == 401
        if change != "delete":
            admin.delete(f"/api/admin/users/{user_id}")


def test_renaming_a_user_keeps_her_session(edge: RunningServer) -> None:
    with edge.client(edge.login("admin", PASSWORDS["admin"])) as admin:
        user_id = _new_user(admin, "hanna")
        token = edge.login("hanna", "a-long-pass-1")
        with _feed(edge, token) as ws:
            admin.patch(f"/api/admin/users/{user_id}", json={"name": "Hanna B."})
            _pong(ws)
        with edge.client(token) as http:
            assert http.get("/api/me").json()["name"] == "Hanna B."
        admin.delete(f"/api/admin/users/{user_id}")


def _boards(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if message.get("type") == "board":
            found.append(message)
    return found


def test_a_demoted_admin_gets_no_board_messages(edge: RunningServer) -> None:
    with edge.client(edge.login("admin", PASSWORDS["admin"])) as admin:
        user_id = _new_user(admin, "ivan", role="admin")
        with _feed(edge, edge.login("ivan", "a-long-pass-1")) as ws:
            admin.patch(f"/api/admin/users/{user_id}", json={"role": "agent"})
            assert _closed_with(ws)[0] == 1008
        bob = edge.client(edge.login("bob", PASSWORDS["bob"]))
        with (
            _feed(edge, edge.login("ivan", "a-long-pass-1")) as demoted,
            _feed(edge, edge.login("admin", PASSWORDS["admin"])) as still_admin,
            bob,
        ):
            bob.post("/api/cti/login")
            bob.put("/api/cti/status", json={"status": "rest"})
            bob.post("/api/cti/logout")
            assert _boards(still_admin, 5), "the admin feed should get board messages"
            assert _boards(demoted, 1) == []
        admin.delete(f"/api/admin/users/{user_id}")


# ---- sessions: lifetimes ---------------------------------------------------------------------


def test_idle_session_ends(short: RunningServer) -> None:
    token = short.login("alice", PASSWORDS["alice"])
    with short.client(token) as http:
        for _ in range(4):  # used every second: stays alive past the idle lifetime
            assert http.get("/api/me").status_code == 200
            time.sleep(1)
        time.sleep(2.5)
        gone = http.get("/api/me")
    assert gone.status_code == 401 and gone.json()["code"] == "not_authenticated"


def test_absolute_lifetime_ends_a_session_in_use(short: RunningServer) -> None:
    token = short.login("bob", PASSWORDS["bob"])
    started = time.monotonic()
    with short.client(token) as http:
        while http.get("/api/me").status_code == 200:
            assert time.monotonic() - started < 10, "the session outlived its absolute lifetime"
            time.sleep(0.5)
    assert time.monotonic() - started >= 5.5


def test_an_open_feed_alone_does_not_keep_a_session_alive(short: RunningServer) -> None:
    token = short.login("carol", PASSWORDS["carol"])
    with _feed(short, token) as ws:
        started = time.monotonic()
        code, reason, _ = _closed_with(ws, timeout=15)
        took = time.monotonic() - started
        assert code == 1008 and reason in ("session_ended", "session_expired")
        assert 1.5 <= took <= 5, took


# ---- the token never in the log --------------------------------------------------------------


def test_the_token_never_appears_in_the_server_log(edge: RunningServer) -> None:
    token = edge.login("carol", PASSWORDS["carol"])
    with edge.client(token) as http:
        assert http.get("/api/me").status_code == 200
    with _feed(edge, token) as ws:
        _pong(ws)
    # An old client that still puts it in the URL is refused, and the URL is logged redacted.
    with connect(f"ws://127.0.0.1:{edge.http_port}/api/ws?token={token}") as old:
        assert _closed_with(old)[0] == 1008
    # The browser phone's socket carries a single-use ticket in its URL: redacted too (here
    # one the server never issued, refused before the handshake completes).
    ticket = secrets.token_urlsafe(32)
    with pytest.raises(InvalidStatus):
        connect(
            f"ws://127.0.0.1:{edge.http_port}/api/sip?ticket={ticket}",
            subprotocols=[Subprotocol("sip")],
        )
    with edge.client(token) as http:
        http.post("/api/auth/logout")
    time.sleep(0.5)
    log = edge.log_path.read_text(errors="replace")
    assert "/api/sip?ticket=[redacted]" in log and ticket not in log
    assert '"GET /api/me HTTP/1.1" 200' in log, "access logging should be on in this test"
    assert "/api/ws" in log and '"type": "auth"' in log  # the frames are logged at debug
    assert token not in log


# ---- HTTP hardening --------------------------------------------------------------------------


def test_security_headers_on_pages_api_and_errors(edge: RunningServer) -> None:
    with edge.client() as http:
        answers = {
            "page": http.get("/"),
            "asset": http.get("/static/js/app.js"),
            "api": http.get("/api/me"),
            "missing": http.get("/no/such/page"),
            "login": http.post("/api/auth/login", json={"username": "x", "password": "y"}),
        }
        docs = http.get("/docs")
    for what, answer in answers.items():
        csp = answer.headers.get("content-security-policy", "")
        for directive in (
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ):
            assert directive in csp, (what, csp)
        assert "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff", what
        assert answer.headers["referrer-policy"] == "no-referrer", what
        assert answer.headers["x-frame-options"] == "DENY", what
    assert answers["api"].headers["cache-control"] == "no-store"
    # The Swagger page keeps working: its inline script is allowed by hash, not 'unsafe-inline'.
    assert docs.status_code == 200
    assert "'sha256-" in docs.headers["content-security-policy"]
    assert "unsafe-inline" not in docs.headers["content-security-policy"]


def test_the_page_has_no_inline_script_or_style() -> None:
    static = Path(__file__).parents[2] / "src/ringdesk/web/static"
    index = (static / "index.html").read_text()
    assert "<script>" not in index and "<style" not in index and " style=" not in index
    assert not re.search(r"\son[a-z]+\s*=", index)  # no onclick= and the like


def _raw(server: RunningServer, head: bytes, body: bytes) -> tuple[bytes, float]:
    """Send a request head and part of a body; the answer and how long it took to come."""
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - started


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(
    edge: RunningServer,
) -> None:
    size = 19 * 1024 * 1024
    head = (
        b"PUT /api/admin/cti/sounds/hold_music HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: multipart/form-data; boundary=xyz\r\n"
        + f"Content-Length: {size}\r\n\r\n".encode()
    )
    # Only 64 KB of the 19 MB are ever sent: the answer must come without the rest.
    answer, took = _raw(edge, head, b"--xyz\r\n" + b"\0" * 65536)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert took < 5
    with edge.client("forged-token") as http:
        forged = http.put(
            "/api/admin/cti/sounds/hold_music", files={"file": ("a.wav", b"RIFF", "audio/wav")}
        )
    assert forged.status_code == 401 and forged.json()["code"] == "not_authenticated"


def test_oversized_bodies_get_413_chunked_or_not(edge: RunningServer) -> None:
    token = edge.login("alice", PASSWORDS["alice"])
    big = json.dumps({"notes": "x" * 400_000}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 16384):
            yield big[start : start + 16384]

    with edge.client(token) as http:
        chunked = http.patch(
            "/api/tickets/1", content=chunks(), headers={"content-type": "application/json"}
        )
        declared = http.patch(
            "/api/tickets/1", content=big, headers={"content-type": "application/json"}
        )
    for answer in (chunked, declared):
        assert answer.status_code == 413, answer.text
        assert answer.json()["code"] == "too_large"
    assert "chunked" in chunked.request.headers.get("transfer-encoding", "")


def test_out_of_range_integers_are_422(edge: RunningServer) -> None:
    token = edge.login("alice", PASSWORDS["alice"])
    with edge.client(token) as http:
        for answer in (
            http.patch("/api/tickets/1", json={"customer_id": 2**63}),
            http.patch("/api/tickets/1", json={"customer_id": 2**31}),
            http.patch("/api/tickets/1", json={"customer_id": -(2**63) - 1}),
            http.patch(f"/api/tickets/{2**63}", json={"notes": "x"}),
            http.post(
                "/api/calls/dial",
                json={"service_id": 2**63, "number": "5551234", "calling_number": "5550100"},
            ),
        ):
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "invalid_input" and answer.json()["message"]
