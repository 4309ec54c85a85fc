"""The browser phone's controls and the call actions with it, in Debian's chromium.

One inbound flow: a SIPp customer (its RTP ours) calls, the agent answers in the browser, then
Mute (the customer hears silence), the keypad (RFC 4733 events reach the customer as payload
type 101), the level meter, Hold (the customer gets hold music, not the browser's tone; the
browser's inbound packet count stops growing), Resume (audio both ways again), Force Disconnect.
A microphone that cannot be opened, or a browser phone that cannot register: the widget says
why and refuses Ready.
Dial up through a SIPp trunk with the browser phone: the trunk hears the browser's tone.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from playwright.sync_api import expect

from tests.support.rtp import PCMU, RtpEndpoint, RtpPacket, decode, make_signal
from tests.support.sipp import Trunk
from tests.support.webrtc import dominant_frequency
from tests.ui.browser_phone import INBOUND_STATS, customer_calls
from tests.ui.desk import Desk
from tests.ui.test_browser_phone import (  # noqa: F401  (module fixtures reused)
    BROWSER_TONE,
    _allow_browser,
    browser,
    server,
)

EVENT = 101  # telephone-event in the switch's offer to the browser


def _audio(packets: list[RtpPacket]) -> list[int]:
    return [x for p in packets if p.payload_type == PCMU for x in decode(p.payload)]


def _rms(samples: list[int]) -> float:
    return math.sqrt(sum(x * x for x in samples) / len(samples)) if samples else 0.0


def _window(rtp: RtpEndpoint, seconds: float, desk: Desk) -> list[RtpPacket]:
    """What the endpoint receives over the next `seconds` (the page's events keep running)."""
    start = rtp.mark()
    desk.page.wait_for_timeout(int(seconds * 1000))
    return rtp.received(start)


def _browser_phone(desk: Desk) -> None:
    _allow_browser(desk.server)
    desk.goto("/")
    desk.login("alice")
    phone = desk.open_widget().locator("[data-sip-phone]")
    phone.get_by_label("Phone").select_option("browser")
    expect(desk.widget.locator(".mic-why")).to_contain_text("asks once to use your microphone")
    desk.cti_login()
    expect(phone).to_have_attribute("data-state", "registered")


def test_browser_controls_and_hold_resume_force_disconnect(desk: Desk, tmp_path: Path) -> None:
    srv = desk.server
    _browser_phone(desk)
    desk.set_status("Ready")
    controls = desk.widget.locator("[data-phone-controls]")
    expect(controls).to_be_hidden()  # nothing to control before a call

    rtp, customer = customer_calls(srv, tmp_path)
    try:
        expect(desk.widget.locator(".offer-card")).to_contain_text("5551234")
        before = rtp.mark()
        clicked = time.monotonic()
        desk.button("Answer").click()
        media = customer.media()
        rtp.remote = (media.host, media.port)
        rtp.send_samples(make_signal(120.0, seed=12))
        # The first packet carrying the browser's tone (not silence, not a queue sound).
        loud_packet = desk.wait_until(
            lambda: next(
                (
                    p
                    for p in rtp.received(before)
                    if _rms(_audio([p])) > 1000
                    and abs(dominant_frequency(_audio([p])) - BROWSER_TONE) <= 60
                ),
                None,
            ),
            what="the browser's tone's first packet at the customer",
        )
        first_audio = loud_packet.at - clicked
        print(f"Answer click to the customer's first audio packet: {first_audio * 1000:.0f} ms")
        assert first_audio < 10, first_audio
        desk.expect_status("On Call")
        expect(controls).to_be_visible()
        heard = _audio(rtp.wait_packets(100, since=rtp.mark(), timeout=20))
        assert abs(dominant_frequency(heard) - BROWSER_TONE) <= 20
        loud = _rms(heard)

        # The level meter shows the microphone's tone.
        meter = controls.locator("meter.mic-level")
        desk.wait_until(
            lambda: float(meter.evaluate("m => m.value")) > 0.05, what="the level meter moving"
        )

        # Mute: the track is disabled, the customer gets silence (or nothing).
        controls.get_by_role("button", name="Mute").click()
        expect(controls.get_by_role("button", name="Unmute")).to_have_attribute(
            "aria-pressed", "true"
        )
        desk.page.wait_for_timeout(500)
        muted = _audio(_window(rtp, 1.5, desk))
        assert _rms(muted) < loud / 20, (_rms(muted), loud)
        expect(meter).to_have_js_property("value", 0)
        controls.get_by_role("button", name="Unmute").click()
        desk.page.wait_for_timeout(500)
        again = _audio(_window(rtp, 1.0, desk))
        assert abs(dominant_frequency(again) - BROWSER_TONE) <= 20

        # Another microphone: the sender's track is replaced (no renegotiation), the tone goes on.
        track_id = (
            "import('/static/js/phone/media.js').then(m => m.currentCall().connection"
            ".getSenders().find(s => s.track).track.id)"
        )
        old_track = desk.page.evaluate(track_id)
        picker = controls.get_by_label("Microphone", exact=True)
        options = picker.locator("option")
        expect(options).not_to_have_count(0)
        assert options.count() >= 2, options.all_inner_texts()
        picker.select_option(index=1)
        desk.wait_until(
            lambda: desk.page.evaluate(track_id) != old_track, what="the microphone replaced"
        )
        desk.page.wait_for_timeout(500)
        replaced = _audio(_window(rtp, 1.0, desk))
        assert abs(dominant_frequency(replaced) - BROWSER_TONE) <= 20

        # The speaker: setSinkId on the page's <audio> (chromium has it).
        speaker = controls.get_by_label("Speaker", exact=True)
        outputs = speaker.locator("option")
        expect(outputs).not_to_have_count(0)
        wanted = str(outputs.last.get_attribute("value"))
        speaker.select_option(wanted)
        sink = "document.querySelector('audio[data-browser-phone=speaker]').sinkId"
        desk.wait_until(lambda: desk.page.evaluate(sink) == wanted, what="the speaker chosen")

        # The keypad: RFC 4733 events (payload type 101) for 5 and #.
        mark = rtp.mark()
        controls.locator("summary", has_text="Keypad").click()
        controls.locator("[data-dtmf='5']").click()
        desk.page.wait_for_timeout(400)
        controls.locator("[data-dtmf='#']").click()
        desk.wait_until(
            lambda: (
                {p.payload[0] for p in rtp.received(mark) if p.payload_type == EVENT} >= {5, 11}
            ),
            timeout=10,
            what="telephone-events 5 and # at the customer",
        )
        expect(controls.locator(".dtmf-sent")).to_have_text("5#")

        # Hold: the customer hears hold music (its RTP keeps coming, not the browser's tone);
        # the browser receives nothing while held.
        desk.button("Hold").click()
        desk.expect_status("On Hold")
        desk.page.wait_for_timeout(700)
        held_start = desk.page.evaluate(INBOUND_STATS)["packets"]
        music = _window(rtp, 2.0, desk)
        held_end = desk.page.evaluate(INBOUND_STATS)["packets"]
        assert len(music) >= 50, len(music)
        assert abs(dominant_frequency(_audio(music)) - BROWSER_TONE) > 50
        assert held_end - held_start <= 5, (held_start, held_end)

        # Resume: both ways again.
        desk.button("Resume").click()
        desk.expect_status("On Call")
        desk.page.wait_for_timeout(700)
        resumed = _audio(_window(rtp, 1.0, desk))
        assert abs(dominant_frequency(resumed) - BROWSER_TONE) <= 20
        desk.wait_until(
            lambda: desk.page.evaluate(INBOUND_STATS)["packets"] > held_end + 25,
            timeout=10,
            what="the browser receiving again after Resume",
        )

        # Force Disconnect: the customer hears the message, then the switch hangs up.
        keep_track = (
            "import('/static/js/phone/media.js').then(m => { window.micTrack = m.currentCall()"
            ".connection.getSenders().find(s => s.track).track; })"
        )
        desk.page.evaluate(keep_track)
        desk.button("Force Disconnect").click()
        desk.dialog().get_by_role("button", name="Force Disconnect").click()
        assert customer.wait_ended(timeout=60) == "by_switch"
        expect(controls).to_be_hidden()
        # The microphone is released, the replaced one too (the browser's indicator goes).
        desk.wait_until(
            lambda: desk.page.evaluate("window.micTrack.readyState") == "ended",
            timeout=10,
            what="the microphone track stopped",
        )
    finally:
        rtp.close()
        customer.stop()


def test_a_refused_microphone_is_explained_and_keeps_the_agent_out_of_ready(
    desk: Desk,
) -> None:
    # The browser refuses the microphone as it does when the agent clicks Block.
    desk.page.add_init_script(
        """navigator.mediaDevices.getUserMedia = () =>
             Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"""
    )
    _browser_phone(desk)
    error = desk.widget.locator(".mic-error")
    expect(error).to_contain_text("the microphone permission was refused")
    desk.widget.get_by_role("button", name="Status").click()
    desk.widget.get_by_role("menuitemradio", name="Ready").click()
    expect(desk.widget.locator(".callout-error[role=alert]").last).to_contain_text(
        "You cannot go Ready"
    )
    desk.page.wait_for_timeout(500)
    desk.expect_status("Business")


def test_dial_up_with_the_browser_phone_reaches_the_trunk(desk: Desk, tmp_path: Path) -> None:
    srv = desk.server
    _browser_phone(desk)
    rtp = RtpEndpoint()
    carrier = Trunk(tmp_path, rtp_port=rtp.port).start()
    before = srv.trunk()
    srv.update_trunk(host="127.0.0.1", port=carrier.port)
    try:
        desk.button("Dial up").click()
        dialog = desk.dialog()
        dialog.get_by_label("Customer number").fill("5555678")
        dialog.get_by_label("Calling number").select_option("5550199")
        dialog.get_by_role("button", name="Confirm").click()
        carrier.wait_invite()
        desk.expect_status("On Call")
        heard = _audio(rtp.wait_packets(150, timeout=30)[-100:])
        assert abs(dominant_frequency(heard) - BROWSER_TONE) <= 20, dominant_frequency(heard)
        desk.open_widget()
        desk.button("End").click()
        desk.expect_status("Business (Ticket Processing)")
    finally:
        rtp.close()
        carrier.stop()
        srv.update_trunk(host=before["host"], port=before["port"])


def test_ready_waits_for_a_registered_browser_phone(desk: Desk) -> None:
    # The SIP WebSocket is closed as soon as it opens (a proxy that refuses WebSockets).
    desk.page.route_web_socket("**/api/sip**", lambda ws: ws.close(code=1011))
    _allow_browser(desk.server)
    desk.goto("/")
    desk.login("alice")
    phone = desk.open_widget().locator("[data-sip-phone]")
    phone.get_by_label("Phone").select_option("browser")
    desk.cti_login()
    expect(phone).to_have_attribute("data-state", "failed")
    expect(desk.widget.locator(".callout-warn")).to_contain_text(
        "until the browser phone registers"
    )
    desk.widget.get_by_role("button", name="Status").click()
    desk.widget.get_by_role("menuitemradio", name="Ready").click()
    expect(desk.widget.locator(".callout-error[role=alert]").last).to_contain_text(
        "your browser phone is not registered yet"
    )
    desk.page.wait_for_timeout(500)
    desk.expect_status("Business")
