"""A browser phone that loses its page or its socket in a call gets the call back.

The agent answers a SIPp customer in the browser; then she reloads the page: the new page
registers again, the switch rings it again for the call it lost (switch/reattach.py) and the
page answers at once: the customer hears the browser's tone again and the browser receives the
customer again, the widget still shows the call. Then her phone's socket is dropped under the
page (what a network change does to the WebSocket): the same again, without a reload. Last, she
ends the call from the widget and the customer gets the BYE: the new dialog is the leg's.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from pathlib import Path

from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.support.rtp import PCMU, RtpEndpoint, RtpPacket, decode, make_signal
from tests.support.webrtc import dominant_frequency
from tests.ui.browser_phone import INBOUND_STATS, customer_calls, sign_in_with_browser_phone
from tests.ui.desk import Desk
from tests.ui.test_browser_phone import (  # noqa: F401  (module fixtures reused)
    BROWSER_TONE,
    _allow_browser,
    browser,
    server,
)


def _audio(packets: list[RtpPacket]) -> list[int]:
    return [x for p in packets if p.payload_type == PCMU for x in decode(p.payload)]


def _hears_the_browser(desk: Desk, rtp: RtpEndpoint, since: int, what: str) -> float:
    """Wait until the customer receives the browser's tone again; the time it took."""
    started = time.monotonic()

    def toned() -> bool:
        got = _audio(rtp.received(since)[-50:])
        return len(got) >= 8000 and abs(dominant_frequency(got) - BROWSER_TONE) <= 20

    desk.wait_until(toned, timeout=30, what=what)
    return time.monotonic() - started


def _browser_receives(desk: Desk, what: str) -> None:
    desk.wait_until(
        lambda: (got := desk.page.evaluate(INBOUND_STATS)) and got["packets"] >= 50,
        timeout=30,
        what=what,
    )


def test_a_reload_or_a_lost_socket_in_a_call_gives_the_call_back(
    desk: Desk, tmp_path: Path
) -> None:
    srv = desk.server
    _allow_browser(srv)
    phone = sign_in_with_browser_phone(desk)
    desk.set_status("Ready")
    rtp, customer = customer_calls(srv, tmp_path)
    try:
        expect(desk.widget.locator(".offer-card")).to_contain_text("5551234")
        desk.button("Answer").click()
        media = customer.media()
        rtp.remote = (media.host, media.port)
        rtp.send_samples(make_signal(120.0, seed=21))
        _hears_the_browser(desk, rtp, rtp.mark(), "the browser's tone after Answer")
        desk.expect_status("On Call")
        _browser_receives(desk, "the browser receiving the customer")

        # A reload in the call: the page comes back with the call and its audio.
        mark = rtp.mark()
        desk.page.reload()
        phone = desk.open_widget().locator("[data-sip-phone]")
        expect(phone).to_have_attribute("data-state", "registered")
        took = _hears_the_browser(desk, rtp, mark, "the browser's tone after the reload")
        print(f"reload: the customer heard the browser again {took:.1f} s after registering")
        desk.expect_status("On Call")
        _browser_receives(desk, "the browser receiving the customer after the reload")

        # The phone's socket dropped under the page (a network change): the page registers
        # again over a new socket and the call comes back without a reload.
        token = desk.page.evaluate("localStorage.getItem('ringdesk.token')")
        with srv.client(token) as http:
            ticket = http.post("/api/cti/sip-ticket").json()["ticket"]
        url = f"wss://127.0.0.1:{srv.http_port}/api/sip?ticket={ticket}"
        tls = ssl.create_default_context(cafile=str(srv.tls_cert))
        mark = rtp.mark()
        with connect(url, subprotocols=[Subprotocol("sip")], ssl=tls) as intruder:
            expect(phone).not_to_have_attribute("data-state", "registered")
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                intruder.recv(timeout=20)  # the page's new socket replaces this one in turn
        expect(phone).to_have_attribute("data-state", "registered")
        _hears_the_browser(desk, rtp, mark, "the browser's tone after the socket came back")
        _browser_receives(desk, "the browser receiving the customer after the socket drop")
        desk.expect_status("On Call")

        # End in the widget: the BYE goes over the new dialog and reaches the customer.
        desk.open_widget()
        desk.button("End").click()
        assert customer.wait_ended(timeout=30) == "by_switch"
        desk.expect_status("Business (Ticket Processing)")
    finally:
        rtp.close()
        customer.stop()
