"""TLS with real clients: phones over SIP/TLS (baresip, and SIPp behind stunnel since Debian's
sipp has no TLS), the browser over HTTPS with its feed over wss, all against the self-signed
certificate the server makes for itself when none is configured.

Two flows, each on its own server:
- the default server (loopback: plain HTTP, SIP over TLS on): its key file is 0600, the
  fingerprint it logs is the certificate its TLS port shows, baresip registers over TLS as the
  agent, SIPp registers with digest and calls in over TLS, the agent answers, the switch reaches
  baresip over the connection baresip opened; a plain-TCP client on the TLS port is dropped
  while the call goes on, audio and all; the agent ends the call and both phones get a BYE over
  TLS with our TLS Via.
- `--https`: chromium, trusting exactly the server's key, logs in over HTTPS and its feed
  connects over wss; HSTS is sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import ssl
import stat
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import WebSocket, expect, sync_playwright

from tests.e2e.conftest import INBOUND, running_rig
from tests.support.rtp import RtpEndpoint
from tests.support.sipp import CARRIER, Sipp
from tests.support.stunnel import TlsTunnel
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.ui.desk import Desk, wait_until

pytestmark = pytest.mark.e2e

Signals = dict[str, tuple[Path, list[int]]]


def _presented_certificate(address: tuple[str, int], cafile: Path) -> bytes:
    """The DER certificate the TLS port shows, checked against `cafile` and the IP address."""
    context = ssl.create_default_context(cafile=str(cafile))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(address, timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=address[0]) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def _fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the TLS port kept a plain-TCP client open for {timeout} s: {data!r}")


PLAIN_INVITE = (
    b"INVITE sip:5550100@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKplain1\r\n"
    b"From: <sip:plain@127.0.0.1>;tag=p1\r\nTo: <sip:5550100@127.0.0.1>\r\n"
    b"Call-ID: plain-on-tls\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


def test_phones_over_tls_and_a_plain_client_on_the_tls_port(
    request: pytest.FixtureRequest, tmp_path: Path, signals: Signals
) -> None:
    with running_rig(request, tmp_path, signals) as rig:
        server = rig.server
        assert server.http_scheme == "http", "loopback keeps plain HTTP by default"
        with server.client() as http:
            assert "strict-transport-security" not in http.get("/healthz").headers
        assert server.sip_tls_port, "SIP over TLS is on by default"
        tls_address = (server.sip_host, server.sip_tls_port)

        key = server.data_dir / "tls" / "selfsigned-key.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        presented = _presented_certificate(tls_address, server.tls_cert)
        logged = re.findall(r"SHA-256 fingerprint ([0-9A-F:]{95})", server.log_tail(200))
        assert logged == [_fingerprint(presented)]

        alice = rig.agent("alice")
        phone = rig.phone("alice", tls=True)
        alice.ready()

        # The caller's TLS connection comes from the test carrier's address (the demo takes
        # inbound calls from its trunk's sources only).
        tunnel = TlsTunnel(tmp_path, tls_address, server.tls_cert, source=CARRIER).start()
        rig._closers.append(tunnel.stop)
        rtp = RtpEndpoint()
        rig._closers.append(rtp.close)
        caller = Sipp(
            "tls_phone_call.xml",
            tmp_path,
            remote=("127.0.0.1", tunnel.port),
            service="1002",
            keys={"expires": "300", "number": INBOUND, "rtp_port": str(rtp.port)},
            extra=["-t", "t1", "-au", "1002", "-ap", "phone1002-demo"],
            name="tls-caller",
        )
        rig._closers.append(caller.stop)
        caller.start()
        caller.wait_log(r"^register 200")

        # Both registered over TLS; the saved registrations say so (and a restart skips them).
        # (written on the switch's next turn after the 200, by a worker thread)
        saved = server.data_dir / "sip-registrations.json"
        wanted = {"1001": "tls", "1002": "tls"}
        deadline = time.monotonic() + 5
        while True:
            rows = json.loads(saved.read_text()) if saved.exists() else []
            found = {row["cti_id"]: row["transport"] for row in rows}
            if found == wanted or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert found == wanted

        offer = alice.wait_offer()
        alice.answer(offer["call_id"])
        contact = caller.wait_log(r"^contact\s*(.+)$")[1]
        assert re.fullmatch(
            rf"<sip:ringdesk@127\.0\.0\.1:{server.sip_tls_port};transport=tls>", contact
        ), contact
        phone.wait_event("CALL_ESTABLISHED")
        call = alice.wait_talking()
        answer_port = int(caller.wait_log(r"^answered \S+ (\d+)")[1])
        rtp.send_samples(rig.signal("customer"), remote=("127.0.0.1", answer_port))
        phone.wait_heard(1.0)

        # A plain-TCP client speaking SIP to the TLS port: no SIP answer, the connection closed.
        with socket.create_connection(tls_address, timeout=10) as plain:
            plain.sendall(PLAIN_INVITE)
            assert b"SIP/2.0" not in _read_until_closed(plain, 15.0)
        # ... and the call in progress did not notice: still talking, audio still arriving.
        heard = len(phone.heard())
        assert alice.state()["call"]["state"] == "talking"
        wait_until(lambda: len(phone.heard()) >= heard + 8000, what="another second of audio")

        mark = phone.mark()
        alice.call_action(call["id"], "end")
        bye_via = caller.wait_log(r"^bye_via\s*(.+)$")[1]
        assert bye_via.startswith(f"SIP/2.0/TLS 127.0.0.1:{server.sip_tls_port};"), bye_via
        caller.expect_success(timeout=30)
        phone.wait_event("CALL_CLOSED", since=mark)
        assert "no TLS connection" not in server.log_tail(400)


def _spki_hash(cert: Path) -> str:
    """What chromium's --ignore-certificate-errors-spki-list takes: base64 SHA-256 of the key."""
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    spki = loaded.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_browser_over_https_with_the_feed_over_wss(
    request: pytest.FixtureRequest, tmp_path: Path, signals: Signals
) -> None:
    with running_rig(request, tmp_path, signals, serve_args=["--https"]) as rig:
        server = rig.server
        assert server.http_scheme == "https"
        assert server.base_url.startswith("https://127.0.0.1:")
        # Plain HTTP on the HTTPS port gets no page.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{server.http_port}/healthz", timeout=5)

        with sync_playwright() as playwright:
            # The browser trusts exactly this server's key, not every certificate.
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                args=[
                    *CHROMIUM_ARGS,
                    f"--ignore-certificate-errors-spki-list={_spki_hash(server.tls_cert)}",
                ],
            )
            try:
                with Desk.open(browser, server) as desk:
                    sockets: list[WebSocket] = []
                    frames: list[str | bytes] = []

                    def on_socket(ws: WebSocket) -> None:
                        sockets.append(ws)
                        ws.on("framereceived", lambda payload: frames.append(payload))

                    desk.page.on("websocket", on_socket)
                    response = desk.page.goto("/")
                    assert response is not None and response.ok
                    assert response.headers["strict-transport-security"] == "max-age=31536000"
                    assert desk.page.evaluate("window.isSecureContext") is True
                    desk.login("alice")
                    expect(desk.page.locator(".topbar")).to_contain_text("Alice Martin")
                    # Playwright's sync API delivers events only while it is called: wait in
                    # the page (which pumps them), not in time.sleep, or a frame that comes
                    # after the login is never seen.
                    wait_until(
                        lambda: desk.page.wait_for_timeout(100) or frames,
                        what="a feed message over the WebSocket",
                    )
                    assert sockets and all(ws.url.startswith("wss://127.0.0.1:") for ws in sockets)
            finally:
                browser.close()
