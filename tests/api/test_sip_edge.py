"""The SIP edge as an admin sees it: bans listed and lifted, kept across a crash and restart,
phone passwords of 10 characters or more, generated ones returned once and good for
registering."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import stat
import time
import uuid
from pathlib import Path

from tests.api.conftest import Clients, assert_error, wait_for
from tests.support.server import RunningServer, start_server
from tests.support.sipp import digest_register

ATTACKER = "127.0.0.9"  # a loopback address of its own: the module's other tests keep working


def _fail_logins(api: RunningServer, count: int, attacker: str = ATTACKER) -> None:
    """`count` wrong-password REGISTERs for a real CTI ID, each answering a real challenge."""
    switch = (api.sip_host, api.sip_port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((attacker, 0))
        sock.settimeout(2.0)
        port = sock.getsockname()[1]
        for n in range(count):
            text = _register(switch, port, None, attacker)
            sock.sendto(text.encode(), switch)
            challenge = sock.recv(65535).decode()
            params = dict(
                re.findall(r'(\w+)="?([^",]*)"?', challenge.split("WWW-Authenticate:")[1])
            )
            uri = f"sip:{switch[0]}:{switch[1]}"
            ha1 = hashlib.md5(f"1001:{params['realm']}:guess-{n:06d}".encode()).hexdigest()
            ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
            digest = hashlib.md5(f"{ha1}:{params['nonce']}:00000001:c:auth:{ha2}".encode())
            auth = (
                f'Digest username="1001", realm="{params["realm"]}", nonce="{params["nonce"]}", '
                f'uri="{uri}", response="{digest.hexdigest()}", qop=auth, nc=00000001, cnonce="c"'
            )
            sock.sendto(_register(switch, port, auth, attacker).encode(), switch)
            assert sock.recv(65535).decode().startswith("SIP/2.0 403")


def _register(
    switch: tuple[str, int], port: int, auth: str | None, attacker: str = ATTACKER
) -> str:
    host, sip_port = switch
    lines = [
        f"REGISTER sip:{host}:{sip_port} SIP/2.0",
        f"Via: SIP/2.0/UDP {attacker}:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport",
        f"From: <sip:1001@{host}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <sip:1001@{host}>",
        f"Call-ID: {uuid.uuid4().hex}",
        "CSeq: 1 REGISTER",
        f"Contact: <sip:1001@{attacker}:{port}>",
        "Max-Forwards: 70",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    return "\r\n".join([*lines, "Content-Length: 0", "", ""])


def test_bans_are_listed_and_lifted(http: Clients, api: RunningServer) -> None:
    admin = http("admin")
    assert admin.get("/api/admin/sip/bans").json() == []
    assert_error(http("alice").get("/api/admin/sip/bans"), 403)
    _fail_logins(api, 10)
    bans = wait_for(lambda: admin.get("/api/admin/sip/bans").json(), message="a ban")
    [ban] = bans
    assert ban["address"] == ATTACKER and ban["reason"] == "auth_failures"
    assert ban["until"] - ban["since"] == 600
    assert_error(http("alice").delete(f"/api/admin/sip/bans/{ATTACKER}"), 403)
    assert admin.delete(f"/api/admin/sip/bans/{ATTACKER}").status_code == 204
    assert admin.get("/api/admin/sip/bans").json() == []
    assert_error(admin.delete(f"/api/admin/sip/bans/{ATTACKER}"), 404, "not_found")
    assert_error(admin.delete("/api/admin/sip/bans/not-an-address!"), 422)


def test_phone_passwords_have_10_characters_and_can_be_generated(
    http: Clients, api: RunningServer
) -> None:
    admin = http("admin")
    bob_id = http("bob").get("/api/me").json()["id"]
    url = f"/api/admin/cti/agents/{bob_id}"
    base = {"cti_id": "1002", "cti_number": "1002"}
    assert_error(admin.put(url, json={**base, "phone_password": "123456789"}), 422)
    both = {**base, "phone_password": "phone1002-demo", "generate_phone_password": True}
    assert_error(admin.put(url, json=both), 422)
    saved = admin.put(url, json={**base, "generate_phone_password": True})
    assert saved.status_code == 200
    password = saved.json()["generated_phone_password"]
    assert isinstance(password, str) and len(password) == 20 and password.isalnum()
    # Shown once: never again, not even by the agent's own record.
    assert "generated_phone_password" not in admin.get(url).json()
    again = admin.put(url, json=base).json()
    assert again["generated_phone_password"] is None
    switch = (api.sip_host, api.sip_port)
    assert digest_register(switch, "1002", password, expires=0)[0] == 200
    assert digest_register(switch, "1002", "phone1002-demo", expires=0)[0] == 403
    # Back to the demo's password for the module's other tests.
    restored = admin.put(url, json={**base, "phone_password": "phone1002-demo"})
    assert restored.status_code == 200
    assert restored.json()["generated_phone_password"] is None


def _answered(server: RunningServer, source: str) -> bool:
    """Whether the switch answers an unauthenticated REGISTER from `source` (a ban: silence)."""
    switch = (server.sip_host, server.sip_port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(1.5)
        sock.sendto(_register(switch, sock.getsockname()[1], None, source).encode(), switch)
        try:
            return sock.recv(65535).startswith(b"SIP/2.0 401")
        except TimeoutError:
            return False


def test_a_ban_survives_a_crash_and_restart(tmp_path: Path) -> None:
    """A kill -9 and a new start on the same data dir: the ban is listed as before, with the
    same until, and the source is still dropped; a source never banned is answered."""
    attacker = "127.0.0.19"
    server = start_server(tmp_path)
    try:
        admin = {"Authorization": f"Bearer {server.login('admin', 'admin-demo')}"}
        _fail_logins(server, 10, attacker)
        with server.client() as http:
            before = wait_for(
                lambda: http.get("/api/admin/sip/bans", headers=admin).json(), message="a ban"
            )
        assert [(b["address"], b["reason"]) for b in before] == [(attacker, "auth_failures")]
        saved = server.data_dir / "sip-bans.json"
        wait_for(lambda: saved.exists() and json.loads(saved.read_text()), message="saved")
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert not _answered(server, attacker)

        server.kill()  # no shutdown code runs
        server.launch()  # the same data dir and database, new ports
        with server.client() as http:
            after = http.get("/api/admin/sip/bans", headers=admin).json()
            assert after == before
            assert not _answered(server, attacker)  # still dropped after the restart
            assert _answered(server, "127.0.0.20")  # the switch answers everyone else
            # Lifted, the file forgets it: the next restart starts without it.
            assert http.delete(f"/api/admin/sip/bans/{attacker}", headers=admin).status_code == 204
        deadline = time.monotonic() + 5
        while json.loads(saved.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert json.loads(saved.read_text()) == []
        assert _answered(server, attacker)
    finally:
        server.stop()
