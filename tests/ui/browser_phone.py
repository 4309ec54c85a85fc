"""What the browser-phone UI tests do first: an agent signed in with the browser as her phone,
registered; a SIPp customer calling the inbound number from the test carrier, its RTP ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, expect

from tests.support.rtp import RtpEndpoint
from tests.support.server import RunningServer
from tests.support.sipp import CARRIER, Customer
from tests.ui.calls import INBOUND_NUMBER
from tests.ui.desk import Desk

# The page's inbound audio so far (getStats inbound-rtp): packets and energy, or null.
INBOUND_STATS = """import('/static/js/phone/media.js').then(async (m) => {
  const call = m.currentCall();
  if (!call || !call.connection) return null;
  let out = null;
  (await call.connection.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio")
      out = {packets: s.packetsReceived || 0, energy: s.totalAudioEnergy || 0};
  });
  return out;
})"""


def wait_receiving(desk: Desk, what: str, packets: int = 100) -> dict[str, Any]:
    """Wait until the browser has received `packets` RTP packets carrying sound; its stats."""
    stats: dict[str, Any] = desk.wait_until(
        lambda: (
            (got := desk.page.evaluate(INBOUND_STATS))
            and got["packets"] >= packets
            and got["energy"] > 0
            and got
        ),
        what=what,
    )
    return stats


def sign_in_with_browser_phone(desk: Desk, username: str = "alice") -> Locator:
    """Log in, choose the browser phone, CTI Login; the phone's line, once registered."""
    desk.goto("/")
    desk.login(username)
    phone = desk.open_widget().locator("[data-sip-phone]")
    phone.get_by_label("Phone").select_option("browser")
    desk.cti_login()
    expect(phone).to_have_attribute("data-state", "registered")
    return phone


def customer_calls(server: RunningServer, tmp_path: Path) -> tuple[RtpEndpoint, Customer]:
    """A SIPp customer calling the inbound number; the RTP endpoint that is its media."""
    server.trust_source(CARRIER)
    rtp = RtpEndpoint()
    customer = Customer(
        tmp_path, (server.sip_host, server.sip_port), INBOUND_NUMBER, rtp_port=rtp.port
    ).start()
    return rtp, customer
