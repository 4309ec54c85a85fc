"""A queued callback answered by an agent with nothing but a browser: a SIPp caller books it by
keys, the widget offers it as a callback ("Call back"), the browser phone is the agent's leg,
the switch calls the customer on a SIPp trunk from the service's number, and both hear each
other (the customer hears chromium's fake-microphone tone; the browser receives the
customer's audio)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.agents import AdminApi
from tests.support.callback import book_callback
from tests.support.rtp import PCMU, RtpEndpoint, decode, make_signal
from tests.support.sipp import CARRIER, Customer, Trunk, header
from tests.support.webrtc import dominant_frequency
from tests.ui.browser_phone import sign_in_with_browser_phone, wait_receiving
from tests.ui.calls import INBOUND_NUMBER
from tests.ui.desk import Desk
from tests.ui.test_browser_phone import (  # noqa: F401  (module fixtures reused)
    BROWSER_TONE,
    _allow_browser,
    browser,
    server,
)

WANTS_CALLBACK = "5557777"


def test_a_browser_agent_calls_a_queued_callback_back_and_they_talk(
    desk: Desk, tmp_path: Path
) -> None:
    running = desk.server
    _allow_browser(running)
    admin = AdminApi(running, "admin", "admin-demo")
    trunk_rtp = RtpEndpoint()
    trunk = Trunk(tmp_path, "answer", rtp_port=trunk_rtp.port).start()
    before = running.trunk()
    running.update_trunk(host="127.0.0.1", port=trunk.port)
    rtp = RtpEndpoint()
    try:
        admin.call(
            "PATCH",
            "/api/admin/services/1",
            json={"callback_enabled": True, "announce_every_seconds": 0},
        )
        running.trust_source(CARRIER)
        customer = Customer(
            tmp_path,
            (running.sip_host, running.sip_port),
            INBOUND_NUMBER,
            caller=WANTS_CALLBACK,
            rtp_port=rtp.port,
        ).start()
        book_callback(customer, rtp, admin.sound, 1, WANTS_CALLBACK, tmp_path / "speech")

        sign_in_with_browser_phone(desk)
        desk.open_widget()  # Ready: the callback waiting is offered at once
        desk.widget.get_by_role("button", name="Status").click()
        desk.widget.get_by_role("menuitemradio", name="Ready").click()
        offer = desk.widget.locator(".offer-card")
        expect(offer).to_contain_text(f"Callback to {WANTS_CALLBACK}")
        desk.button("Call back").click()
        invite = trunk.wait_invite()
        assert header(invite, "From") is not None and "5550100" in (header(invite, "From") or "")
        desk.expect_status("On Call")
        expect(desk.widget).to_contain_text(WANTS_CALLBACK)

        # The customer hears the browser's microphone, relayed from DTLS-SRTP to the trunk.
        packets = trunk_rtp.wait_packets(150, timeout=30)
        heard = [x for p in packets[-100:] if p.payload_type == PCMU for x in decode(p.payload)]
        assert abs(dominant_frequency(heard) - BROWSER_TONE) <= 20, dominant_frequency(heard)
        trunk_rtp.send_samples(make_signal(30.0, seed=11))  # back where the agent's audio came
        stats = wait_receiving(desk, "the browser receiving the customer's audio")
        assert stats["packets"] >= 100
        desk.button("End").click()
        trunk.sipp.wait_log(r"^ended \S+ by_switch")
        desk.expect_status("Business (Ticket Processing)")
        calls = [t for t in admin.tickets() if t["callback"]]
        assert [t["callback"]["status"] for t in calls] == ["done"], calls
    finally:
        admin.call("PATCH", "/api/admin/services/1", json={"callback_enabled": False})
        running.update_trunk(host=before["host"], port=before["port"])
        admin.close()
        trunk.stop()
        rtp.close()
        trunk_rtp.close()
