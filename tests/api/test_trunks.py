"""Admin -> Trunks: several provider trunks saved, read back with the password write-only,
refused with a 422 naming the field, and their outbound registration visible: a provider on
loopback that asks for digest and then accepts the REGISTER shows as registered."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from ringdesk.sip.auth import compute_response, parse_credentials
from ringdesk.sip.message import Request, make_response, parse_message
from tests.api.conftest import Clients, assert_error, wait_for

TRUNK = {
    "name": "carrier-a",
    "host": "127.0.0.1",
    "port": 5099,
    "transport": "udp",
    "username": "acct",
    "password": "pr0vider-secret",
    "priority": 1,
    "identity_header": "rpid",
    "from_domain": "cust.provider.test",
    "number_format": "national",
    "country_code": "49",
}


class Registrar:
    """A provider's registrar on loopback: 401 with a challenge, then 200 to a right digest."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.authorized: list[str] = []
        self.expires: list[str] = []  # the Expires of each authorized REGISTER
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, src = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            req = parse_message(data)
            if not isinstance(req, Request) or req.method != "REGISTER":
                continue
            creds = parse_credentials(req.headers.get("authorization") or "")
            if creds is None:
                challenge = 'Digest realm="provider", nonce="n0nce", qop="auth"'
                resp = make_response(
                    req, 401, to_tag="r", headers=[("WWW-Authenticate", challenge)]
                )
            else:
                expected = compute_response(
                    algorithm="MD5",
                    username="acct",
                    realm="provider",
                    password="pr0vider-secret",
                    method="REGISTER",
                    uri=creds.uri,
                    nonce="n0nce",
                    qop="auth",
                    nc=creds.nc or "",
                    cnonce=creds.cnonce or "",
                )
                ok = creds.response == expected
                self.expires.append(req.headers.get("expires") or "")
                self.authorized.append(creds.username if ok else "wrong")
                contact = (req.headers.get("contact") or "") + ";expires=300"
                resp = make_response(
                    req, 200 if ok else 403, to_tag="r", headers=[("Contact", contact)]
                )
            self.sock.sendto(resp.to_bytes(), src)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def registrar() -> Iterator[Registrar]:
    peer = Registrar()
    yield peer
    peer.close()


def test_trunks_crud_with_a_write_only_password_and_field_errors(http: Clients) -> None:
    admin = http("admin")
    created = admin.post("/api/admin/trunks", json=TRUNK)
    assert created.status_code == 201, created.text
    trunk = created.json()
    assert trunk["has_password"] is True and "password" not in trunk
    assert "pr0vider-secret" not in admin.get("/api/admin/trunks").text
    assert trunk["registration"] == "off" and trunk["number_format"] == "national"
    second = admin.post("/api/admin/trunks", json=dict(TRUNK, name="carrier-b", priority=2))
    assert second.status_code == 201, second.text
    names = [t["name"] for t in admin.get("/api/admin/trunks").json()]
    assert names[:2] == ["carrier-a", "carrier-b"]
    # A PUT without the password keeps it; "" clears it.
    body = {k: v for k, v in TRUNK.items() if k != "password"}
    kept = admin.put(f"/api/admin/trunks/{trunk['id']}", json=dict(body, priority=3))
    assert kept.json()["has_password"] is True and kept.json()["priority"] == 3
    assert [t["name"] for t in admin.get("/api/admin/trunks").json()][:2] == [
        "carrier-b",
        "carrier-a",
    ]
    cleared = admin.put(f"/api/admin/trunks/{trunk['id']}", json=dict(body, password=""))
    assert cleared.json()["has_password"] is False
    # Refusals name the field.
    bad = assert_error(
        admin.post("/api/admin/trunks", json=dict(TRUNK, name="x", transport="sctp")), 422
    )
    assert bad["fields"][0]["field"] == "body.transport"
    bad = assert_error(
        admin.post("/api/admin/trunks", json=dict(TRUNK, name="x", host="no host")), 422
    )
    assert bad["fields"][0]["field"] == "body.host"
    national = dict(TRUNK, name="x", country_code=None)
    bad = assert_error(admin.post("/api/admin/trunks", json=national), 422, "invalid_input")
    assert bad["fields"][0]["field"] == "body.country_code"
    unnamed = dict(TRUNK, name="x", register=True, username=None)
    bad = assert_error(admin.post("/api/admin/trunks", json=unnamed), 422, "invalid_input")
    assert bad["fields"][0]["field"] == "body.username"
    assert_error(admin.post("/api/admin/trunks", json=TRUNK), 409, "already_exists")
    assert_error(admin.put("/api/admin/trunks/99999", json=TRUNK), 404, "not_found")
    assert_error(http("alice").get("/api/admin/trunks"), 403)
    before = {t["id"] for t in admin.get("/api/admin/trunks").json()}
    for made in (trunk, second.json()):
        assert admin.delete(f"/api/admin/trunks/{made['id']}").status_code == 204
    after = {t["id"] for t in admin.get("/api/admin/trunks").json()}
    assert after == before - {trunk["id"], second.json()["id"]}
    assert "carrier-a" not in admin.get("/api/admin/trunks").text


def test_a_trunk_that_requires_registration_registers_with_digest(
    http: Clients, registrar: Registrar
) -> None:
    admin = http("admin")
    body = dict(TRUNK, name="registering", port=registrar.port, register=True)
    created = admin.post("/api/admin/trunks", json=body)
    assert created.status_code == 201, created.text
    trunk_id = created.json()["id"]
    try:

        def registered() -> dict[str, object] | None:
            rows = {t["id"]: t for t in admin.get("/api/admin/trunks").json()}
            row = rows[trunk_id]
            return row if row["registration"] == "registered" else None

        row = wait_for(registered, timeout=15, message="the trunk registered")
        assert registrar.authorized and registrar.authorized[0] == "acct"
        assert registrar.expires == ["3600"]
        assert row["registration_error"] is None and row["registered_until"] is not None
    finally:
        admin.delete(f"/api/admin/trunks/{trunk_id}")
    # Removed while registered: unregistered (Expires 0), with digest again.
    wait_for(lambda: registrar.expires[1:] == ["0"], timeout=10, message="the unregistration")
    assert registrar.authorized == ["acct", "acct"]
