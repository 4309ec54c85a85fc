"""Two agents with browser phones, in two Debian chromiums with different fake microphones
(Alice's plays 1000 Hz, Bob's 600 Hz), so the customer's RTP says which browser it hears.

Transfer with consultation: a SIPp customer (its RTP ours) calls, Alice answers in the
browser, consults Bob, whose browser phone takes the consultation; his widget shows it as a
consultation from Alice with only the buttons he can use (Hold, End consultation); he holds his
end: Alice's browser then receives the hold music instead of his tone (a WebAudio analyser on
her page) and her widget says Bob put her on hold; Alt+H resumes and his tone comes back to her;
Alice clicks Connect to Customer; the customer then hears Bob's tone and Bob's browser receives
the customer's audio, Alice is in wrap-up and Bob's widget shows the customer's call and ticket.

Pickup timeout: both Ready, the offer goes to one, who does not answer within the (shortened)
pickup time; the engine re-offers to the other, who answers in the browser and talks both ways;
the first is put in the pickup timeout status with the reason in her widget, and the call her
browser took early with the offer (its media set up before Answer) is hung up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, expect

from tests.support.rtp import PCMU, RtpEndpoint, RtpPacket, decode, make_signal
from tests.support.server import RunningServer
from tests.support.sipp import CARRIER, Customer
from tests.support.webrtc import dominant_frequency
from tests.ui.browser_phone import INBOUND_STATS, sign_in_with_browser_phone
from tests.ui.calls import INBOUND_NUMBER
from tests.ui.desk import Desk, api
from tests.ui.test_browser_phone import (  # noqa: F401  (module fixtures reused)
    BROWSER_TONE,
    _allow_browser,
    browser,
    launch_with_tone,
    server,
)

BOB_TONE = 600.0  # Hz, the second chromium's fake microphone (Alice's is BROWSER_TONE)
TICKET_URL = re.compile(r"/tickets/(\d+)$")
NAMES = {"alice": "Alice Martin", "bob": "Bob Chen"}
SEEN_CONSULT = """window.__consult = [];
new MutationObserver(() => {
  const line = document.querySelector('.consulted-card .consult');
  const text = line ? line.textContent : null;
  if (text && window.__consult[window.__consult.length - 1] !== text) window.__consult.push(text);
}).observe(document, {subtree: true, childList: true, characterData: true});"""

# The loudest frequency the page's browser call receives (its remote track through a WebAudio
# analyser, spectra of ~0.6 s averaged), with its level in dB; null while there is no call.
HEARD_TONE = """import('/static/js/phone/media.js').then(async (m) => {
  const call = m.currentCall();
  const receiver = call && call.connection
    ? call.connection.getReceivers().find((r) => r.track && r.track.kind === "audio") : null;
  if (!receiver) return null;
  const ctx = window.__heardCtx || (window.__heardCtx = new AudioContext());
  if (ctx.state !== "running") await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  const source = ctx.createMediaStreamSource(new MediaStream([receiver.track]));
  source.connect(analyser);
  const sum = new Float64Array(analyser.frequencyBinCount);
  const bins = new Float32Array(analyser.frequencyBinCount);
  for (let round = 0; round < 6; round++) {
    await new Promise((done) => setTimeout(done, 100));
    analyser.getFloatFrequencyData(bins);
    for (let i = 0; i < bins.length; i++) sum[i] += Math.max(bins[i], -160) / 6;
  }
  source.disconnect();
  let best = 2;
  for (let i = 3; i < sum.length / 2; i++) if (sum[i] > sum[best]) best = i;
  return {freq: (best * ctx.sampleRate) / analyser.fftSize, db: sum[best]};
})"""


def _heard(desk: Desk) -> dict[str, float]:
    got = desk.page.evaluate(HEARD_TONE)
    assert got is not None, "no browser call on the page"
    return dict(got)


def _hears_in_browser(desk: Desk, freq: float, what: str) -> dict[str, float]:
    """Wait until the page's browser call receives mostly `freq`."""
    return dict(
        desk.wait_until(
            lambda: (got := _heard(desk)) and abs(got["freq"] - freq) <= 20 and got,
            what=what,
        )
    )


@pytest.fixture(scope="module")
def bob_browser(
    playwright: Playwright,
    server: RunningServer,  # noqa: F811  (the module fixture)
) -> Iterator[Browser]:
    """A second chromium whose fake microphone plays BOB_TONE (the flag is per browser)."""
    launched = launch_with_tone(playwright, server, BOB_TONE)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def bob(
    bob_browser: Browser,
    server: RunningServer,  # noqa: F811  (the module fixture)
) -> Iterator[Desk]:
    with Desk.open(bob_browser, server) as opened:
        yield opened


def _browser_agent(desk: Desk, username: str) -> None:
    """Logged in to the desktop and to CTI with the browser as her phone, registered."""
    _allow_browser(desk.server, NAMES[username])
    sign_in_with_browser_phone(desk, username)


def _audio(packets: list[RtpPacket]) -> list[int]:
    return [x for p in packets if p.payload_type == PCMU for x in decode(p.payload)]


def _hears(desk: Desk, rtp: RtpEndpoint, freq: float, what: str) -> float:
    """Wait until the customer's last second of audio is dominated by `freq` (a browser's tone),
    counting only packets that arrive from now on."""
    since = rtp.mark()

    def check() -> float | None:
        got = rtp.received(since)
        if len(got) < 50:
            return None
        found = dominant_frequency(_audio(got[-50:]))
        return found if abs(found - freq) <= 20 else None

    return float(desk.wait_until(check, what=what))


def _window(desk: Desk, rtp: RtpEndpoint, seconds: float) -> list[RtpPacket]:
    """What the customer receives over the next `seconds` (the page's events keep running)."""
    start = rtp.mark()
    desk.page.wait_for_timeout(int(seconds * 1000))
    return rtp.received(start)


def _inbound(desk: Desk) -> dict[str, Any]:
    got = desk.page.evaluate(INBOUND_STATS)
    return got or {"packets": 0, "energy": 0.0}


def _receives_more(desk: Desk, than: dict[str, Any], what: str) -> dict[str, Any]:
    """The page's browser call receives at least 100 more packets, with more audio energy."""
    return dict(
        desk.wait_until(
            lambda: (
                (got := _inbound(desk))["packets"] >= than["packets"] + 100
                and got["energy"] > than["energy"]
                and got
            ),
            what=what,
        )
    )


def _customer(srv: RunningServer, workdir: Path, rtp: RtpEndpoint) -> Customer:
    srv.trust_source(CARRIER)
    return Customer(
        workdir, (srv.sip_host, srv.sip_port), INBOUND_NUMBER, rtp_port=rtp.port
    ).start()


def test_consult_a_browser_agent_then_connect_the_customer_to_her(
    desk: Desk, bob: Desk, tmp_path: Path
) -> None:
    alice = desk
    srv = alice.server
    _browser_agent(alice, "alice")
    # Every text Bob's consultation line shows, however briefly.
    bob.page.add_init_script(SEEN_CONSULT)
    _browser_agent(bob, "bob")
    alice.set_status("Ready")  # Bob stays in Business: the call is Alice's

    rtp = RtpEndpoint()
    customer = _customer(srv, tmp_path, rtp)
    try:
        expect(alice.widget.locator(".offer-card")).to_contain_text("5551234")
        alice.button("Answer").click()
        alice.page.wait_for_url(TICKET_URL)
        found = TICKET_URL.search(alice.page.url)
        assert found
        ticket_id = int(found[1])
        alice.expect_status("On Call")
        media = customer.media()
        rtp.remote = (media.host, media.port)
        rtp.send_samples(make_signal(120.0, seed=21))
        _hears(alice, rtp, BROWSER_TONE, "the customer hearing Alice's browser")

        # Alice consults Bob, Ready now; his browser phone takes the consultation.
        bob.set_status("Ready")
        alice.button("Transfer").click()
        agents = alice.dialog().locator("section", has_text="Available Agents")
        agents.get_by_role("button", name="Connect Bob Chen").click()
        alice.expect_status("On Call (Transfer in Progress)")
        card = bob.widget.locator(".call-card")
        expect(card.get_by_role("heading")).to_have_text("Consultation from Alice Martin")
        expect(card.locator(".consult")).to_have_text("Talking")
        expect(card).to_contain_text("Dana Scully")
        expect(card.get_by_role("button")).to_have_text(["Hold", "End consultation"])
        # His browser phone answers by itself: never told to pick up a phone he does not have.
        seen = bob.page.evaluate("window.__consult")
        print("Bob's consultation line showed:", seen)
        assert set(seen) <= {"Connecting… your browser phone answers by itself", "Talking"}, seen
        expect(alice.widget.locator(".consult")).to_contain_text("Bob Chen")
        expect(alice.widget.locator(".consult")).to_contain_text("talking")
        # Alice and Bob talk: Bob's browser receives audio (Alice's) on the consultation, and
        # the customer, on hold, hears the music: neither browser's tone.
        consulting = _receives_more(bob, {"packets": 0, "energy": 0.0}, "Bob hearing Alice")
        held = _window(alice, rtp, 2.0)
        assert len(held) >= 50, len(held)
        for freq in (BROWSER_TONE, BOB_TONE):
            assert abs(dominant_frequency(_audio(held)) - freq) > 50, freq

        # Bob holds his end ("let me check something"): Alice's browser gets the hold music,
        # not his tone, and both widgets say so.
        talking = _hears_in_browser(alice, BOB_TONE, "Alice's browser hearing Bob's tone")
        print("Alice's browser hears while consulting:", talking)
        card.get_by_role("button", name="Hold", exact=True).click()
        bob.expect_status("On Hold")
        expect(card.locator(".consult")).to_have_text(
            "On hold: Alice Martin hears the hold music. Resume to talk again."
        )
        expect(card.get_by_role("button")).to_have_text(["Resume", "End consultation"])
        expect(alice.widget.locator(".consult")).to_contain_text("Bob Chen put you on hold")
        alice.expect_status("On Call (Transfer in Progress)")

        def music_at_alice() -> dict[str, float] | None:
            got = _heard(alice)
            return got if abs(got["freq"] - BOB_TONE) > 50 and got["db"] > -70 else None

        music = alice.wait_until(music_at_alice, what="Alice's browser hearing the hold music")
        print("Alice's browser hears while Bob holds:", music)
        # Alt+H is the same button for him: Resume, and Alice hears his tone again.
        bob.page.keyboard.press("Alt+KeyH")
        bob.expect_status("On Call")
        expect(card.locator(".consult")).to_have_text("Talking")
        expect(alice.widget.locator(".consult")).to_contain_text("talking")
        _hears_in_browser(alice, BOB_TONE, "Alice's browser hearing Bob again after his Resume")
        _receives_more(bob, _inbound(bob), "Bob's browser hearing Alice again after his Resume")

        alice.button("Connect to Customer").click()
        alice.expect_status("Business (Ticket Processing)")
        # The customer now hears Bob's browser, not Alice's.
        heard = _hears(bob, rtp, BOB_TONE, "the customer hearing Bob's browser")
        print(f"the customer hears {heard:.0f} Hz after Connect to Customer (Bob: {BOB_TONE})")
        # And Bob's browser receives the customer (Alice's leg is gone: these are theirs).
        got = _receives_more(bob, _inbound(bob), "Bob's browser receiving the customer")
        assert got["packets"] > consulting["packets"]
        expect(bob.widget.get_by_role("heading", name="On call with Dana Scully")).to_be_visible()
        for name in ("Hold", "Transfer", "End"):
            expect(bob.button(name)).to_be_visible()
        expect(bob.page).to_have_url(re.compile(rf"/tickets/{ticket_id}$"))
        bob.expect_status("On Call")
        expect(bob.widget.locator("[data-phone-controls]")).to_be_visible()
        # Alice's browser call is over; she is in wrap-up on the ticket.
        alice.wait_until(
            lambda: alice.page.evaluate(
                "import('/static/js/phone/media.js').then(m => m.currentCall() === null)"
            ),
            what="Alice's browser call ended",
        )
        expect(alice.widget.locator("[data-phone-controls]")).to_be_hidden()

        # The consultation's leg is Bob's call now: Hold gives the customer the music, Resume
        # brings Bob's browser back.
        bob.button("Hold").click()
        bob.expect_status("On Hold")
        bob.page.wait_for_timeout(700)
        music = _window(bob, rtp, 2.0)
        assert len(music) >= 50, len(music)
        assert abs(dominant_frequency(_audio(music)) - BOB_TONE) > 50
        bob.button("Resume").click()
        bob.expect_status("On Call")
        _hears(bob, rtp, BOB_TONE, "the customer hearing Bob again after Resume")
        bob.button("End").click()
        assert customer.wait_ended() == "by_switch"
        bob.expect_status("Business (Ticket Processing)")
    finally:
        rtp.close()
        customer.stop()


def test_an_unanswered_offer_goes_to_the_next_browser_agent(
    desk: Desk, bob: Desk, tmp_path: Path
) -> None:
    srv = desk.server
    desks = {"alice": desk, "bob": bob}
    tones = {"alice": BROWSER_TONE, "bob": BOB_TONE}
    _browser_agent(desk, "alice")
    _browser_agent(bob, "bob")
    with api(srv, "admin") as http:
        settings = http.get("/api/admin/cti/settings").json()
        short = {**settings, "pickup_seconds": 4, "pickup_timeout_status": "rest"}
        assert http.put("/api/admin/cti/settings", json=short).status_code == 200
    rtp = RtpEndpoint()
    customer: Customer | None = None
    try:
        desk.set_status("Ready")
        bob.set_status("Ready")
        customer = _customer(srv, tmp_path, rtp)
        first_name = desk.wait_until(
            lambda: next(
                (n for n, d in desks.items() if d.widget.locator(".offer-card").count()), None
            ),
            what="the offer reaching one of the two",
        )
        second_name = "bob" if first_name == "alice" else "alice"
        first, second = desks[first_name], desks[second_name]
        expect(first.widget.locator(".offer-card")).to_contain_text("Answer within")
        expect(second.widget.locator(".offer-card")).to_have_count(0)

        # Nobody answers: taken back from the first, offered to the second.
        first.expect_status("Rest")
        expect(first.widget.locator(".offer-card")).to_have_count(0)
        expect(first.widget.locator(".status-reason")).to_contain_text("not answered in time")
        expect(first.toggle).not_to_have_class(re.compile(r"\bis-ringing\b"))
        expect(second.toggle).to_have_class(re.compile(r"\bis-ringing\b"))
        offer = second.widget.locator(".offer-card")
        expect(offer).to_contain_text("5551234")
        # The first's browser took the offer's leg early (its media set up before Answer) and
        # that call was hung up with the offer: nothing of it is left in her page.
        expect(first.widget.locator("[data-sip-phone]")).to_have_attribute(
            "data-last-invite", re.compile(r".+")
        )
        first.wait_until(
            lambda: first.page.evaluate(
                "import('/static/js/phone/media.js').then(m => m.currentCall() === null)"
            ),
            timeout=10,
            what="the first's prewarmed call hung up with the offer",
        )
        second.button("Answer").click()
        second.expect_status("On Call")
        media = customer.media()
        rtp.remote = (media.host, media.port)
        rtp.send_samples(make_signal(60.0, seed=22))
        heard = _hears(second, rtp, tones[second_name], "the customer hearing the second agent")
        print(f"{first_name} first, {second_name} answered; the customer hears {heard:.0f} Hz")
        _receives_more(second, {"packets": 0, "energy": 0.0}, "the second receiving the customer")
        second.button("End").click()
        assert customer.wait_ended() == "by_switch"
        second.expect_status("Business (Ticket Processing)")
        first.expect_status("Rest")
    finally:
        rtp.close()
        if customer is not None:
            customer.stop()
        with api(srv, "admin") as http:
            http.put("/api/admin/cti/settings", json=settings)
