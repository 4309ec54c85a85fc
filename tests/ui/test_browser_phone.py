"""The browser phone in Debian's chromium against `ringdesk serve --https`.

Signalling: the agent chooses Browser in the widget, CTI Login registers JsSIP over wss (the
server's own view of the contact says `wss`), a reload and a dropped socket register again,
CTI Logout unregisters, an INVITE the engine sends when she answers an offer reaches JsSIP over
the socket, and closing the page unregisters at once.

A call with audio: a customer (SIPp, its RTP ours) calls in, the agent clicks Answer, the page
answers the switch's WebRTC offer (ICE-lite, DTLS-SRTP: media/webrtc.py) with chromium's fake
microphone playing a 1 kHz tone; the customer hears that tone and the browser receives the
customer's audio (getStats inbound-rtp), then End hangs the customer up."""

from __future__ import annotations

import base64
import hashlib
import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, Playwright, expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.support.rtp import PCMU, decode, make_signal
from tests.support.server import RunningServer, start_server
from tests.support.webrtc import dominant_frequency, fake_media_args, tone, write_wav48
from tests.ui.browser_phone import (
    customer_calls,
    sign_in_with_browser_phone,
    wait_receiving,
)
from tests.ui.calls import call_in
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.ui.desk import Desk, api, wait_until

BROWSER_TONE = 1000.0  # Hz, chromium's fake microphone


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("browser-phone"), serve_args=["--https"])
    try:
        yield running
    finally:
        running.stop()


def _spki_hash(cert: Path) -> str:
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    spki = loaded.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def launch_with_tone(playwright: Playwright, server: RunningServer, frequency: float) -> Browser:
    """Chromium trusting exactly the server's self-signed key (so wss is really checked), its
    fake microphone playing `frequency` Hz (the flag is per browser)."""
    wav = server.data_dir.parent / f"tone-{frequency:g}.wav"
    microphone = write_wav48(wav, tone(frequency, 60, 48000))
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            f"--ignore-certificate-errors-spki-list={_spki_hash(server.tls_cert)}",
            *fake_media_args(microphone),
        ],
    )


@pytest.fixture(scope="module")
def browser(playwright: Playwright, server: RunningServer) -> Iterator[Browser]:
    launched = launch_with_tone(playwright, server, BROWSER_TONE)
    try:
        yield launched
    finally:
        launched.close()


def _registered(server: RunningServer) -> bool:
    with api(server, "alice") as http:
        return bool(http.get("/api/cti/state").json()["phone_registered"])


def _contacts(server: RunningServer) -> list[str]:
    with api(server, "admin") as http:
        rows = {r["name"]: r for r in http.get("/api/admin/cti/agents").json()}
        return list(rows["Alice Martin"]["phone_contacts"])


def _allow_browser(server: RunningServer, name: str = "Alice Martin") -> None:
    """The admin allows the agent `name` the browser phone."""
    with api(server, "admin") as http:
        rows = {r["name"]: r for r in http.get("/api/admin/cti/agents").json()}
        row = rows[name]
        body = {
            "cti_id": row["cti_id"],
            "cti_number": row["cti_number"],
            "browser_phone_allowed": True,
        }
        assert http.put(f"/api/admin/cti/agents/{row['user_id']}", json=body).status_code == 200


def test_browser_phone_registers_over_wss_rings_and_goes_with_the_page(
    desk: Desk, tmp_path: Path
) -> None:
    server = desk.server
    assert server.http_scheme == "https"
    _allow_browser(server)
    desk.goto("/")
    desk.login("alice")
    widget = desk.open_widget()
    phone = widget.locator("[data-sip-phone]")
    phone.get_by_label("Phone").select_option("browser")
    expect(phone).to_contain_text("starts with CTI Login")
    assert not _registered(server)

    started = time.monotonic()
    desk.cti_login()
    expect(phone).to_have_attribute("data-state", "registered")
    expect(phone).to_contain_text("Browser phone: registered")
    wait_until(lambda: _registered(server), timeout=10, what="phone_registered after CTI Login")
    registered_after = time.monotonic() - started
    assert registered_after < 10, registered_after
    contacts = _contacts(server)
    assert len(contacts) == 1 and contacts[0].startswith("wss 127.0.0.1:"), contacts

    # A reload: the old socket goes, the new page registers again with a fresh ticket.
    desk.page.reload()
    phone = desk.open_widget().locator("[data-sip-phone]")
    expect(phone).to_have_attribute("data-state", "registered")
    wait_until(lambda: _registered(server), timeout=10, what="registered after the reload")
    after_reload = _contacts(server)
    assert len(after_reload) == 1 and after_reload != contacts, (contacts, after_reload)

    # A socket dropped under the page (here: replaced by another of her session's sockets, as
    # the server allows one per session): the page notices and registers again, backing off.
    token = desk.page.evaluate("localStorage.getItem('ringdesk.token')")
    with server.client(token) as http:
        ticket = http.post("/api/cti/sip-ticket").json()["ticket"]
    url = f"wss://127.0.0.1:{server.http_port}/api/sip?ticket={ticket}"
    tls = ssl.create_default_context(cafile=str(server.tls_cert))
    with connect(url, subprotocols=[Subprotocol("sip")], ssl=tls) as intruder:
        expect(phone).not_to_have_attribute("data-state", "registered")
        # The page's new socket replaces this one in turn.
        with pytest.raises(ConnectionClosed):
            intruder.recv(timeout=20)
    expect(phone).to_have_attribute("data-state", "registered")
    wait_until(lambda: _registered(server), timeout=10, what="registered after the drop")

    # The engine rings her: the offer sends the INVITE to the browser's contact (its media
    # set up before Answer); Answer connects it.
    desk.set_status("Ready")
    customer = call_in(server, tmp_path)
    offer = desk.widget.locator(".offer-card")
    expect(offer).to_contain_text("5551234")
    desk.button("Answer").click()
    expect(phone).to_have_attribute("data-last-invite", re.compile(r".+"))
    assert "INVITE" not in desk.errors  # the page took it without a script error
    customer.wait_answered()  # hanging up before the 200 arrives would CANCEL across it
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"

    # CTI Logout stops the phone (un-REGISTER, socket closed); CTI Login starts it again.
    desk.open_widget()
    desk.widget.get_by_role("button", name="CTI Logout").click()
    expect(phone).to_contain_text("starts with CTI Login")
    wait_until(lambda: not _registered(server), timeout=5, what="unregistered on CTI Logout")
    desk.cti_login()
    expect(phone).to_have_attribute("data-state", "registered")
    wait_until(lambda: _registered(server), timeout=10, what="registered after CTI Login")

    # Closing the page closes the socket: unregistered at once (no expiry to wait for).
    desk.page.close()
    closed = time.monotonic()
    wait_until(lambda: not _registered(server), timeout=5, what="unregistered on close")
    assert time.monotonic() - closed < 3
    assert not _contacts(server)


def test_a_browser_agent_talks_with_a_customer_both_ways(desk: Desk, tmp_path: Path) -> None:
    server = desk.server
    _allow_browser(server)
    sign_in_with_browser_phone(desk)
    desk.set_status("Ready")
    rtp, customer = customer_calls(server, tmp_path)
    try:
        expect(desk.widget.locator(".offer-card")).to_contain_text("5551234")
        desk.button("Answer").click()
        desk.expect_status("On Call")
        media = customer.media()
        rtp.remote = (media.host, media.port)
        rtp.send_samples(make_signal(30.0, seed=11))
        # The customer hears the browser's microphone: its tone, relayed from DTLS-SRTP.
        packets = rtp.wait_packets(150, timeout=30)
        heard = [x for p in packets[-100:] if p.payload_type == PCMU for x in decode(p.payload)]
        assert abs(dominant_frequency(heard) - BROWSER_TONE) <= 20, dominant_frequency(heard)
        # The browser receives the customer's audio.
        stats = wait_receiving(desk, "the browser receiving the customer's audio")
        assert stats["packets"] >= 100
        desk.button("End").click()
        assert customer.wait_ended() == "by_switch"
        desk.expect_status("Business (Ticket Processing)")
    finally:
        rtp.close()
        customer.stop()
