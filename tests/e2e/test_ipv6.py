"""IPv6 and dual stack with real peers: the server bound to '::' takes a SIPp customer's call
over IPv6 loopback (SIP from ::1, an SDP in IN IP6) and relays its audio to and from an agent's
baresip phone registered over IPv4, checked frame by frame as the other e2e tests do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import INBOUND, Rig, running_rig
from tests.support.rtp import RtpEndpoint, match_audio, samples_to_frames
from tests.support.sipp import Customer

pytestmark = pytest.mark.e2e


@pytest.fixture
def dual_rig(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    signals: dict[str, tuple[Path, list[int]]],
) -> Iterator[Rig]:
    with running_rig(request, tmp_path, signals, serve_args=("--sip-host", "::")) as rig:
        rig.server.trust_source("::1")  # the IPv6 customer calls as a trunk source
        rig.server.sip_host = "127.0.0.1"  # the phones register over IPv4
        yield rig


def test_ipv6_customer_reaches_an_ipv4_phone_with_audio_both_ways(dual_rig: Rig) -> None:
    rig = dual_rig
    with rig.server.client() as http:  # /healthz says what is bound
        addresses = http.get("/healthz").json()["addresses"]
    assert addresses["sip_bound"].startswith("::") and addresses["rtp_bound"] == "::"
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()

    rtp = RtpEndpoint("::1")
    customer = Customer(
        rig.tmp, ("::1", rig.server.sip_port), INBOUND, rtp_port=rtp.port, source="::1"
    )
    try:
        customer.start()
        rtp.send_samples(rig.signal("customer"))
        offer = alice.wait_offer()
        mark = phone.mark()
        alice.answer(offer["call_id"])
        phone.wait_event("CALL_ESTABLISHED", since=mark)
        customer.wait_answered()
        media = customer.media()
        assert media.host == "::1"  # our SDP toward the IPv6 customer: IN IP6, its family
        invite = customer.sipp.messages()
        assert f"<sip:ringdesk@[::1]:{rig.server.sip_port}>" in invite  # RFC 5118 Contact
        rtp.remote = (media.host, media.port)
        call = alice.wait_talking()

        # The phone's audio reaches the IPv6 customer, byte for byte.
        match, _ = rtp.wait_matching(rig.signal("alice"))
        assert match.matched_loud >= 25, match
        alice.call_action(call["id"], "end")
        assert customer.wait_ended() == "by_switch"
        phone.wait_event("CALL_CLOSED", since=mark)
    finally:
        customer.stop()
        rtp.close()
    # And the customer's audio, sent from ::1, reached the IPv4 phone.
    heard = match_audio(samples_to_frames(phone.heard()), rig.signal("customer"))
    assert heard.matched_loud >= 50, f"agent phone heard the customer: {heard}"
    log = rig.server.log_path.read_text(errors="replace")
    assert "Traceback" not in log
    assert "RTP bound on ::" in log


def test_an_ipv6_offer_to_an_ipv4_only_server_gets_488_and_the_next_call_is_taken(
    rig: Rig,
) -> None:
    """A real server on 127.0.0.1 (SIP and RTP IPv4 only): the carrier's INVITE offers media
    in IN IP6 only. It is refused with 488 and one log line, nothing is opened for it, and the
    next call (IPv4) is taken and hears the queue, from the same server."""
    with rig.server.client() as http:
        assert http.get("/healthz").json()["addresses"]["rtp_bound"] == "127.0.0.1"
    refused = Customer(rig.tmp, rig.switch, INBOUND, media_host="::1")
    try:
        refused.start()
        assert refused.wait_ended() == "rejected_488"
    finally:
        refused.stop()
    messages = refused.sipp.messages()
    assert "c=IN IP6 ::1" in messages  # what it offered
    assert "SIP/2.0 488 IPv6 media not served here" in messages
    with rig.server.client(rig.server.login("admin", "admin-demo")) as http:
        assert http.get("/api/admin/sip/refusals").json()["live_inbound_calls"] == 0

    customer, rtp = rig.customer()
    media = customer.media()  # early media: the call waits in the queue
    assert media.host == "127.0.0.1" and media.kind == "early"
    rtp.remote = (media.host, media.port)
    assert len(rtp.wait_packets(25)) >= 25  # the queue's music reaches it
    customer.hang_up()
    assert customer.wait_ended() == "cancelled"

    log = rig.server.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "bad SIP message" not in log  # its ACK was fine too
    lines = [line for line in log.splitlines() if "IPv6" in line and "488" in line]
    assert len(lines) == 1, lines  # one line for the refused leg, none per packet
