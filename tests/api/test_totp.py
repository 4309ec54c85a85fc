"""Two-step sign-in (TOTP, issue #9): enrolment, the login's second step, replay, recovery codes,
throttling of wrong codes, turning it off, and an admin's reset that ends the user's sessions.

Codes are made by pyotp from the secret the server hands out, as an authenticator app would.
The server accepts the current 30-second step and one either side, each step once per user, so
a test uses the steps in ascending order from one step back (`Steps`), and each test enrols its
own user. Every wrong code or password also counts for the client address (20 per window, all
tests share 127.0.0.1 on the module's server): the tests here stay below that together.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

import httpx
import pyotp
import pytest
import zxingcpp
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.api.conftest import PASSWORDS, Clients, assert_error
from tests.support.server import RunningServer, start_server

PASSWORD = "a-long-pass-1"
RECOVERY = re.compile(r"^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$")
_names = count(1)


class Steps:
    """Codes of one secret for the steps around now, handed out oldest first.

    Made at least 8 s before a step ends, so the oldest one is still accepted when it arrives.
    """

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        while time.time() % 30 > 22:
            time.sleep(0.2)
        current = self.totp.timecode(time.time())
        self._next = current - 1
        self.valid = {self.totp.generate_otp(s) for s in range(current - 1, current + 2)}

    def next(self) -> str:
        code = self.totp.generate_otp(self._next)
        self._next += 1
        return code

    def wrong(self) -> str:
        """A code of a far step that none of the accepted steps has."""
        for step in count(self._next + 10):
            code = self.totp.generate_otp(step)
            if code not in self.valid:
                return code
        raise AssertionError("unreachable")


def _login(server: RunningServer, username: str, password: str = PASSWORD) -> httpx.Response:
    with server.client() as http:
        return http.post("/api/auth/login", json={"username": username, "password": password})


def _second(server: RunningServer, pending_token: str, **code: str) -> httpx.Response:
    with server.client() as http:
        return http.post(
            "/api/auth/login/second-factor", json={"pending_token": pending_token, **code}
        )


def _pending(server: RunningServer, username: str, password: str = PASSWORD) -> str:
    """The first step of a login with TOTP: the password is right, a code is due."""
    answer = _login(server, username, password)
    body = assert_error(answer, 401, "second_factor_required")
    assert "token" not in body, "no session before the second factor"
    assert body["expires_in"] == 300
    token: str = body["pending_token"]
    assert len(token) >= 40
    return token


def _new_user(http: Clients, role: str = "admin") -> tuple[int, str]:
    username = f"totp{next(_names)}"
    created = http("admin").post(
        "/api/admin/users",
        json={"username": username, "name": username.title(), "password": PASSWORD, "role": role},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], username


def _enrol(server: RunningServer, token: str, password: str = PASSWORD) -> tuple[Steps, list[str]]:
    """Turn TOTP on for the user of `token`; the codes to use next and the recovery codes."""
    with server.client(token) as http:
        started = http.post("/api/me/totp", json={"password": password})
        assert started.status_code == 200, started.text
        secret = started.json()["secret"]
        steps = Steps(secret)
        confirmed = http.post("/api/me/totp/confirm", json={"code": steps.next()})
        assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return steps, codes


def _enrolled(server: RunningServer, http: Clients, role: str = "admin") -> Any:
    user_id, username = _new_user(http, role)
    token = server.login(username, PASSWORD)
    steps, codes = _enrol(server, token)
    return user_id, username, token, steps, codes


def test_enrol_confirm_and_then_the_login_needs_a_code(api: RunningServer, http: Clients) -> None:
    _, username = _new_user(http)
    token = api.login(username, PASSWORD)  # no second factor yet: straight in
    me = api.client(token)
    assert me.get("/api/me/totp").json() == {
        "enabled": False,
        "pending": False,
        "recovery_codes_left": 0,
    }
    # Starting asks for the password again (a stolen session alone cannot take the account).
    assert_error(
        me.post("/api/me/totp", json={"password": "not-the-password"}), 403, "wrong_password"
    )
    started = me.post("/api/me/totp", json={"password": PASSWORD})
    assert started.status_code == 200, started.text
    secret, uri = started.json()["secret"], started.json()["uri"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.secret, parsed.name, parsed.issuer) == (secret, username, "Ringdesk")
    assert uri.startswith(f"otpauth://totp/Ringdesk:{username}?")
    assert me.get("/api/me/totp").json()["pending"] is True
    # Not on until confirmed: the password alone still logs in.
    assert _login(api, username).status_code == 200

    steps = Steps(secret)
    assert_error(me.post("/api/me/totp/confirm", json={"code": steps.wrong()}), 403, "invalid_code")
    confirmed = me.post("/api/me/totp/confirm", json={"code": steps.next()})
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY.match(c) for c in codes), codes
    assert me.get("/api/me/totp").json() == {
        "enabled": True,
        "pending": False,
        "recovery_codes_left": 10,
    }
    # Once on, starting again is refused (it would silently move the factor).
    assert_error(me.post("/api/me/totp", json={"password": PASSWORD}), 409, "totp_already_enabled")

    pending = _pending(api, username)
    with api.client(pending) as not_a_session:
        assert_error(not_a_session.get("/api/me"), 401, "not_authenticated")
    done = _second(api, pending, code=steps.next())
    assert done.status_code == 200, done.text
    assert done.json()["user"]["username"] == username
    with api.client(done.json()["token"]) as session:
        assert session.get("/api/me").json()["username"] == username
    # The pending token was spent by the login it completed.
    assert_error(_second(api, pending, code=steps.next()), 401, "second_factor_expired")
    me.close()


def _decode_qr(rows: list[str], scale: int = 4, quiet: int = 4) -> list[str]:
    """What a QR reader (zxing-cpp) reads from the modules drawn as a grey-scale picture: dark
    modules black, a light margin of `quiet` modules around them, `scale` pixels a module."""
    size = (len(rows) + 2 * quiet) * scale
    picture = bytearray(b"\xff" * size * size)
    for y, row in enumerate(rows):
        for x, module in enumerate(row):
            if module == "1":
                for dy in range(scale):
                    start = ((y + quiet) * scale + dy) * size + (x + quiet) * scale
                    picture[start : start + scale] = b"\x00" * scale
    found = zxingcpp.read_barcodes(memoryview(picture).cast("B", (size, size)))
    return [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]


def test_the_enrolment_has_a_qr_code_of_its_otpauth_address(
    api: RunningServer, http: Clients
) -> None:
    _, username = _new_user(http)
    with api.client(api.login(username, PASSWORD)) as me:
        started = me.post("/api/me/totp", json={"password": PASSWORD}).json()
    rows = started["qr"]
    # A square of modules (a QR version's 4 * v + 17 a side), nothing but dark and light.
    assert len(rows) in range(21, 178, 4) and all(len(row) == len(rows) for row in rows)
    assert set("".join(rows)) == {"0", "1"}
    assert rows[0].startswith("1111111") and rows[6].startswith("1111111")  # a finder pattern
    assert _decode_qr(rows) == [started["uri"]]  # scanned, it is the address to type in
    assert pyotp.parse_uri(started["uri"]).secret == started["secret"]
    # Modules that are not the address's code do not read as it (the check can fail).
    damaged = [row[:8] + "0" * (len(row) - 16) + row[-8:] for row in rows]
    assert _decode_qr(damaged) != [started["uri"]]


def test_a_wrong_code_and_a_replayed_code_are_refused(api: RunningServer, http: Clients) -> None:
    _, username, _, steps, _ = _enrolled(api, http)
    pending = _pending(api, username)
    body = assert_error(_second(api, pending, code=steps.wrong()), 401, "invalid_code")
    assert "recovery code" in body["message"]
    code = steps.next()
    assert _second(api, pending, code=code).status_code == 200
    # The same code again, within its 90 seconds of validity: refused.
    again = _pending(api, username)
    assert_error(_second(api, again, code=code), 401, "invalid_code")
    # A later step's code still works on the same pending login.
    assert _second(api, again, code=steps.next()).status_code == 200


def test_a_recovery_code_works_once_and_new_ones_replace_the_old(
    api: RunningServer, http: Clients
) -> None:
    _, username, token, steps, codes = _enrolled(api, http)
    done = _second(api, _pending(api, username), recovery_code=codes[0])
    assert done.status_code == 200, done.text
    with api.client(done.json()["token"]) as me:
        assert me.get("/api/me/totp").json()["recovery_codes_left"] == 9
    body = assert_error(
        _second(api, _pending(api, username), recovery_code=codes[0]), 401, "invalid_code"
    )
    assert "already used" in body["message"]
    # Typed without the dashes and in capitals: the same code.
    typed = codes[1].replace("-", "").upper()
    assert _second(api, _pending(api, username), recovery_code=typed).status_code == 200

    with api.client(token) as me:
        renewed = me.post("/api/me/totp/recovery-codes", json={"code": steps.next()})
        assert renewed.status_code == 200, renewed.text
        fresh = renewed.json()["recovery_codes"]
        assert len(fresh) == 10 and not set(fresh) & set(codes)
        assert me.get("/api/me/totp").json()["recovery_codes_left"] == 10
    assert_error(_second(api, _pending(api, username), recovery_code=codes[2]), 401, "invalid_code")
    assert _second(api, _pending(api, username), recovery_code=fresh[0]).status_code == 200


def test_wrong_codes_count_toward_the_login_throttle(api: RunningServer, http: Clients) -> None:
    _, username, _, steps, _ = _enrolled(api, http)
    first = _pending(api, username)
    for _ in range(4):
        assert_error(_second(api, first, code=steps.wrong()), 401, "invalid_code")
    # The right password again does not forgive the wrong codes (the account limit is 5)...
    second = _pending(api, username)
    assert_error(_second(api, second, code=steps.wrong()), 401, "invalid_code")
    # ...so after the fifth even the right code is refused, and so is the password.
    refused = assert_error(_second(api, second, code=steps.next()), 429, "too_many_attempts")
    assert "this account" in refused["message"]
    assert_error(_login(api, username), 429, "too_many_attempts")
    answer = _second(api, second, code=steps.next())
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["retry-after"]) <= 15 * 60


def test_turning_it_off_needs_the_password_and_a_code(api: RunningServer, http: Clients) -> None:
    _, username, token, steps, _ = _enrolled(api, http)
    with api.client(token) as me:
        assert_error(
            me.post(
                "/api/me/totp/disable", json={"password": "wrong-password", "code": steps.next()}
            ),
            403,
            "wrong_password",
        )
        assert_error(
            me.post("/api/me/totp/disable", json={"password": PASSWORD, "code": steps.wrong()}),
            403,
            "invalid_code",
        )
        assert_error(me.post("/api/me/totp/disable", json={"password": PASSWORD}), 422)
        off = me.post("/api/me/totp/disable", json={"password": PASSWORD, "code": steps.next()})
        assert off.status_code == 204, off.text
        assert me.get("/api/me/totp").json() == {
            "enabled": False,
            "pending": False,
            "recovery_codes_left": 0,
        }
        assert_error(
            me.post("/api/me/totp/disable", json={"password": PASSWORD, "code": steps.next()}),
            409,
            "totp_not_enabled",
        )
    assert _login(api, username).status_code == 200  # the password alone again


@contextmanager
def _feed(server: RunningServer, token: str) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{server.http_port}/api/ws", open_timeout=30) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "ready"}
        yield ws


def test_an_admin_reset_turns_it_off_and_ends_the_users_sessions(
    api: RunningServer, http: Clients
) -> None:
    user_id, username, token, _, _ = _enrolled(api, http, role="agent")
    admin = http("admin")
    listed = {u["id"]: u for u in admin.get("/api/admin/users").json()}
    assert listed[user_id]["totp_enabled"] is True
    assert listed[admin.get("/api/me").json()["id"]]["totp_enabled"] is False
    # Only an admin may reset it.
    assert_error(http("alice").delete(f"/api/admin/users/{user_id}/totp"), 403, "forbidden")

    with _feed(api, token) as ws:
        assert admin.delete(f"/api/admin/users/{user_id}/totp").status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "session_ended")
    with api.client(token) as old:
        assert_error(old.get("/api/me"), 401, "not_authenticated")
    after = {u["id"]: u for u in admin.get("/api/admin/users").json()}
    assert after[user_id]["totp_enabled"] is False
    assert_error(admin.delete(f"/api/admin/users/{user_id}/totp"), 404, "not_found")
    assert_error(admin.delete("/api/admin/users/999999/totp"), 404, "not_found")
    # Lost phone, new start: the password alone logs in.
    assert _login(api, username).status_code == 200


def test_bad_second_steps_are_clear_4xx(api: RunningServer) -> None:
    assert_error(_second(api, "no-such-pending-login", code="123456"), 401, "second_factor_expired")
    assert_error(_second(api, "no-such-pending-login"), 422, "invalid_input")
    assert_error(
        _second(api, "x", code="123456", recovery_code="abcd-efgh-jkmn-pqrs"), 422, "invalid_input"
    )
    body = assert_error(_second(api, "x", code="12ab56"), 422, "invalid_input")
    assert body["message"] == "code is not a 6-digit code."
    with api.client() as anonymous:
        assert_error(anonymous.get("/api/me/totp"), 401, "not_authenticated")
        assert_error(anonymous.post("/api/me/totp", json={"password": "x"}), 401)


def test_the_demo_admin_password_login_is_unchanged(api: RunningServer) -> None:
    answer = _login(api, "admin", PASSWORDS["admin"])
    assert answer.status_code == 200 and answer.json()["token"]


@pytest.fixture(scope="module")
def required(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server where admins must use two-step sign-in (SQLite: the rule is in the web layer)."""
    running = start_server(
        tmp_path_factory.mktemp("required"), serve_args=("--admin-totp", "required")
    )
    try:
        yield running
    finally:
        running.stop()


def test_where_it_is_required_an_admin_without_it_can_only_set_it_up(
    required: RunningServer,
) -> None:
    token = required.login("admin", PASSWORDS["admin"])
    admin = required.client(token)
    assert admin.get("/api/me").json()["totp_setup_required"] is True
    for refused in (
        admin.get("/api/admin/users"),
        admin.get("/api/board"),
        admin.post("/api/admin/users", json={"username": "x", "name": "X", "password": PASSWORD}),
    ):
        assert_error(refused, 403, "totp_setup_required")
    with connect(f"ws://127.0.0.1:{required.http_port}/api/ws", open_timeout=30) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.reason == "totp_setup_required"
    # Agents are not concerned.
    with required.client(required.login("alice", PASSWORDS["alice"])) as alice:
        assert alice.get("/api/me").json()["totp_setup_required"] is False
        assert alice.get("/api/tickets").status_code == 200

    steps, _ = _enrol(required, token, PASSWORDS["admin"])
    # The same session may do admin work as soon as it is on.
    assert admin.get("/api/me").json()["totp_setup_required"] is False
    assert admin.get("/api/admin/users").status_code == 200
    done = _second(required, _pending(required, "admin", PASSWORDS["admin"]), code=steps.next())
    assert done.status_code == 200, done.text
    # Turned off again, admin work stops again (the session stays, to set it up anew).
    off = admin.post(
        "/api/me/totp/disable", json={"password": PASSWORDS["admin"], "code": steps.next()}
    )
    assert off.status_code == 204, off.text
    assert_error(admin.get("/api/admin/users"), 403, "totp_setup_required")
    admin.close()
