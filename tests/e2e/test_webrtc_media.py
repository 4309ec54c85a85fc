"""WebRTC media against the real peer: Debian's chromium and our ICE-lite / DTLS-SRTP transport.

No SIP here (the browser's signalling is another part): a test-only page, served by the test
through Playwright's routing, makes an RTCPeerConnection with chromium's fake microphone playing
a generated 1 kHz tone; the test hands SDP between the page and a harness that runs our
MediaServer on loopback with one WebRTC endpoint bridged (by the relay, as the switch bridges
legs) to a plain RTP endpoint, which a test RTP port (tests/support/rtp.py) talks to. Then:

- the browser's tone arrives, decrypted, as PCMU at the test RTP port and is a 1 kHz tone;
- the test port's 440 Hz stream reaches the browser: getStats inbound-rtp packetsReceived and
  totalAudioEnergy grow;
- both ways round: the browser offers (we answer a=setup:active, we are the DTLS client) and we
  offer (actpass; chromium answers active, we are the DTLS server);
- a browser offer whose a=fingerprint is not its certificate's: our side refuses the handshake,
  one log line, no audio either way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from ringdesk.media.api import RemoteMedia, WebRtcRemote
from ringdesk.media.server import MediaServer
from ringdesk.media.webrtc import WebRtcEndpoint
from ringdesk.sip import sdp
from tests.support.rtp import PCMU, RtpEndpoint, decode, free_udp_port, samples_to_frames
from tests.support.webrtc import dominant_frequency, fake_media_args, tone, write_wav48
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

T = TypeVar("T")
FIXTURES = Path(__file__).resolve().parent.parent / "unit" / "sip" / "fixtures"
PAGE_URL = "http://127.0.0.1/webrtc-test"  # answered by page.route, no server behind it
BROWSER_TONE = 1000.0  # Hz, the fake microphone
OUR_TONE = 440.0  # Hz, what the harness sends the browser

PAGE = """<!doctype html><meta charset="utf-8"><title>webrtc media test</title>
<audio id="remote" autoplay></audio>
<script>
let pc = null;
async function makePc() {
  pc = new RTCPeerConnection({iceServers: [], rtcpMuxPolicy: "require"});
  pc.ontrack = (e) => {
    document.getElementById("remote").srcObject = e.streams[0] || new MediaStream([e.track]);
  };
  const stream = await navigator.mediaDevices.getUserMedia({audio: {
    echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  return stream;
}
window.browserOffer = async () => {
  const stream = await makePc();
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription.sdp;
};
window.takeAnswer = async (sdp) => { await pc.setRemoteDescription({type: "answer", sdp}); };
window.browserAnswer = async (sdp) => {
  const stream = await makePc();
  await pc.setRemoteDescription({type: "offer", sdp});
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.sdp;
};
window.inbound = async () => {
  const stats = await pc.getStats();
  let out = {packetsReceived: 0, totalAudioEnergy: 0, audioLevel: 0};
  stats.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") {
    out = {packetsReceived: s.packetsReceived || 0, totalAudioEnergy: s.totalAudioEnergy || 0,
           audioLevel: s.audioLevel || 0}; } });
  out.connectionState = pc.connectionState;
  return out;
};
</script>"""


class Harness:
    """Our media on an event loop in a thread: a WebRTC leg bridged to a plain RTP leg whose far
    end is the test's RTP port."""

    def __init__(self, rtp: RtpEndpoint) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        low = free_udp_port(even=True)
        self.media = MediaServer("127.0.0.1", port_range=(low, low + 4))
        self.rtp = rtp
        self.states: list[str] = []
        self.browser: WebRtcEndpoint = self.run(self._open())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=20)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapped() -> T:
            return fn()

        return self.run(wrapped())

    async def _open(self) -> WebRtcEndpoint:
        browser = await self.media.open_webrtc_endpoint("browser", on_state=self.states.append)
        phone = await self.media.open_endpoint("phone")
        phone.set_remote(RemoteMedia("127.0.0.1", self.rtp.port, PCMU))
        self.media.bridge("browser", "phone")
        self.phone_port = phone.port
        return browser

    def attributes(self, peer_setup: str | None, mid: str | None) -> sdp.WebRtcAttributes:
        local = self.call(lambda: self.browser.local_webrtc(peer_setup))
        return sdp.WebRtcAttributes(
            local.ice_ufrag,
            local.ice_pwd,
            local.fingerprint,
            local.setup,
            candidates=(("127.0.0.1", local.port),),
            mid=mid,
        )

    def apply(self, negotiated: sdp.Negotiated) -> None:
        peer = negotiated.webrtc
        assert peer is not None
        remote = RemoteMedia(
            negotiated.host,
            negotiated.port,
            negotiated.payload_type,
            negotiated.telephone_event_pt,
            webrtc=WebRtcRemote(peer.ice_ufrag, peer.ice_pwd, peer.fingerprints, peer.setup),
        )
        self.call(lambda: self.browser.set_remote(remote))

    def answer(self, offer_text: str) -> str:
        negotiated = sdp.negotiate(sdp.parse_sdp(offer_text.encode()), ["PCMU"], webrtc=True)
        assert negotiated.webrtc is not None
        attributes = self.attributes(negotiated.webrtc.setup, negotiated.webrtc.mid)
        self.apply(negotiated)
        return sdp.build_sdp(
            address="127.0.0.1",
            port=attributes.candidates[0][1],
            session_id="1",
            version=1,
            payload_types=[negotiated.payload_type],
            telephone_event=negotiated.telephone_event_pt,
            webrtc=attributes,
        ).decode()

    def offer(self) -> str:
        attributes = self.attributes(None, "0")
        return sdp.build_sdp(
            address="127.0.0.1",
            port=attributes.candidates[0][1],
            session_id="2",
            version=1,
            payload_types=[PCMU],
            webrtc=attributes,
        ).decode()

    def close(self) -> None:
        self.run(self.media.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@dataclass
class Rig:
    page: Page
    harness: Harness
    rtp: RtpEndpoint


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    wav = write_wav48(
        tmp_path_factory.mktemp("webrtc") / "tone.wav", tone(BROWSER_TONE, 30.0, 48000)
    )
    args = [
        *CHROMIUM_ARGS,
        *fake_media_args(wav),
        "--allow-loopback-in-peer-connection",
    ]
    with sync_playwright() as p:
        yield from _launch(p, args)


def _launch(p: Playwright, args: list[str]) -> Iterator[Browser]:
    browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def rig(chromium: Browser) -> Iterator[Rig]:
    context = chromium.new_context(permissions=["microphone"])
    page = context.new_page()
    page.route(PAGE_URL, lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    page.goto(PAGE_URL)
    rtp = RtpEndpoint()
    harness = Harness(rtp)
    try:
        yield Rig(page, harness, rtp)
    finally:
        rtp.stop_sending()
        harness.close()
        rtp.close()
        context.close()


def wait_browser_hears(page: Page, timeout: float = 20.0) -> dict[str, Any]:
    deadline = page.evaluate("Date.now()") + timeout * 1000
    stats: dict[str, Any] = {}
    while page.evaluate("Date.now()") < deadline:
        stats = page.evaluate("inbound()")
        if stats["packetsReceived"] >= 50 and stats["totalAudioEnergy"] > 0:
            return stats
        page.wait_for_timeout(200)
    raise AssertionError(f"the browser did not hear our stream: {stats}")


def assert_audio_both_ways(rig: Rig) -> None:
    # Browser -> us: its tone, decrypted from SRTP, relayed as plain PCMU to the test port.
    rig.rtp.wait_packets(100, timeout=20)
    window = [p for p in rig.rtp.received() if p.payload_type == PCMU][-50:]
    assert len(window) == 50
    samples = [s for p in window for s in decode(p.payload, PCMU)]
    assert sum(abs(s) for s in samples) / len(samples) > 1000, "the browser's audio is silent"
    assert abs(dominant_frequency(samples) - BROWSER_TONE) <= 20
    # Us -> browser: the test port's tone through the relay, protected by the DTLS keys.
    rig.rtp.send_frames(
        samples_to_frames(tone(OUR_TONE, 4.0, 8000)), remote=("127.0.0.1", rig.harness.phone_port)
    )
    stats = wait_browser_hears(rig.page)
    assert stats["connectionState"] == "connected"
    browser = rig.harness.browser
    assert browser.state == "connected" and browser.failure is None
    assert browser.srtp is not None and browser.srtp.rejected == 0
    assert browser.srtp.keys.suite in ("AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80")
    assert rig.harness.states == ["connected"]


def test_browser_offers_we_answer_active(rig: Rig) -> None:
    offer = rig.page.evaluate("browserOffer()")
    if _capture():
        (FIXTURES / "chromium_offer.sdp").write_text(offer)
    answer = rig.harness.answer(offer)
    assert "a=setup:active" in answer and "a=ice-lite" in answer
    rig.page.evaluate("(sdp) => takeAnswer(sdp)", answer)
    assert_audio_both_ways(rig)
    dtls = rig.harness.browser.dtls
    assert dtls is not None and dtls.client  # we answered active: we started the handshake


def test_we_offer_browser_answers(rig: Rig) -> None:
    offer = rig.harness.offer()
    assert "a=setup:actpass" in offer
    answer_text = rig.page.evaluate("(sdp) => browserAnswer(sdp)", offer)
    if _capture():
        (FIXTURES / "chromium_answer.sdp").write_text(answer_text)
    negotiated = sdp.answer_remote(sdp.parse_sdp(answer_text.encode()), [PCMU], webrtc=True)
    assert negotiated.webrtc is not None and negotiated.webrtc.setup == "active"
    rig.harness.apply(negotiated)
    assert_audio_both_ways(rig)
    dtls = rig.harness.browser.dtls
    assert dtls is not None and not dtls.client  # chromium is active: it started
    assert dtls.profile == "SRTP_AEAD_AES_128_GCM"  # as DTLS server we pick, GCM first


def test_wrong_fingerprint_is_refused(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ringdesk.media")
    offer = rig.page.evaluate("browserOffer()")
    # Another certificate's fingerprint: the first hex pair changed.
    forged = re.sub(
        r"(a=fingerprint:sha-256 )([0-9A-F]{2})",
        lambda m: m.group(1) + ("00" if m.group(2) != "00" else "11"),
        offer,
    )
    assert forged != offer
    answer = rig.harness.answer(forged)
    rig.page.evaluate("(sdp) => takeAnswer(sdp)", answer)
    rig.rtp.send_frames(
        samples_to_frames(tone(OUR_TONE, 4.0, 8000)), remote=("127.0.0.1", rig.harness.phone_port)
    )
    deadline = 20.0
    waited = 0.0
    while rig.harness.call(lambda: rig.harness.browser.state) != "failed" and waited < deadline:
        rig.page.wait_for_timeout(200)
        waited += 0.2
    browser = rig.harness.browser
    assert browser.state == "failed"
    assert browser.failure == "the peer's certificate does not match its a=fingerprint"
    assert rig.harness.states == ["failed"]
    rig.page.wait_for_timeout(2000)  # time for any audio that would leak
    refused = [r for r in caplog.records if "WebRTC media refused" in r.getMessage()]
    assert len(refused) == 1, [r.getMessage() for r in caplog.records]
    assert browser.srtp is None and browser.received == 0
    assert rig.rtp.received() == []  # nothing of the browser reached the other leg
    stats = rig.page.evaluate("inbound()")
    assert stats["packetsReceived"] == 0  # and nothing of ours reached the browser


def _capture() -> bool:
    """RINGDESK_CAPTURE_SDP=1 rewrites the unit tests' chromium SDP fixtures from this run."""
    return os.environ.get("RINGDESK_CAPTURE_SDP") == "1"
