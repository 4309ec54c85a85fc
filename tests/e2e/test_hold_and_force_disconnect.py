"""Hold puts the hold music on the customer's line; Force Disconnect plays the message, then BYE.

The customer's RTP is compared, frame by frame, with the WAV files the API serves: a frame
counts only if its bytes (or, within codec rounding, its samples) occur in the file.
"""

from __future__ import annotations

import time
from itertools import pairwise

import pytest

from tests.e2e.conftest import Rig
from tests.support.rtp import FRAME, RATE, match_audio, read_wav

pytestmark = pytest.mark.e2e


def test_hold_plays_hold_music_to_the_customer_and_resume_restores_the_agent(rig: Rig) -> None:
    hold_music = read_wav(rig.admin().sound("hold_music"))
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.ready()
    customer, rtp, call = rig.connect_inbound("alice")
    rtp.wait_matching(rig.signal("alice"))

    state = alice.call_action(call["id"], "hold/start")
    assert state["status"] == "on_hold"
    match, _ = rtp.wait_matching(hold_music, frames=100, min_loud=40)
    assert match.matched == 100, match
    assert alice.state()["call"]["state"] == "on_hold"

    state = alice.call_action(call["id"], "hold/stop")
    assert state["status"] == "on_call"
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25
    # Hold and resume twice: the switch can switch a leg back and forth.
    alice.call_action(call["id"], "hold/start")
    rtp.wait_matching(hold_music, frames=50, min_loud=20)
    alice.call_action(call["id"], "hold/stop")
    rtp.wait_matching(rig.signal("alice"))

    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    alice.wait_status("ticket_processing")


def test_customer_hanging_up_on_hold_ends_the_call_everywhere(rig: Rig) -> None:
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    mark = phone.mark()
    customer, _rtp, call = rig.connect_inbound("alice")
    alice.call_action(call["id"], "hold/start")
    alice.wait_status("on_hold")
    # The hold's re-INVITE is answered and acknowledged before the customer hangs up (SIPp
    # aborts on a control message while it waits for the ACK).
    customer.sipp.wait_log(r"^acked \S+ reinvite")
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    phone.wait_event("CALL_CLOSED", since=mark)
    alice.wait_status("ticket_processing")
    assert alice.ticket(call["ticket_id"])["ended_at"] is not None


def test_force_disconnect_plays_the_message_then_sends_bye(rig: Rig) -> None:
    message = read_wav(rig.admin().sound("force_disconnect"))
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    mark = phone.mark()
    customer, rtp, call = rig.connect_inbound("alice")
    rtp.wait_matching(rig.signal("alice"))

    start = rtp.mark()
    asked = time.monotonic()
    alice.call_action(call["id"], "force-disconnect")
    assert customer.wait_ended(timeout=60) == "by_switch"
    took = time.monotonic() - asked
    # The agent's phone is released, and alice moves on to the ticket.
    phone.wait_event("CALL_CLOSED", since=mark)
    alice.wait_status("ticket_processing")

    # What reached the customer between the click and the BYE: the whole message, then nothing.
    got = [p.payload for p in rtp.received(start)]
    result = match_audio(got, message)
    message_frames = len(message) // FRAME
    loud_in_message = sum(
        1
        for i in range(0, len(message) - FRAME + 1, FRAME)
        if sum(abs(s) for s in message[i : i + FRAME]) / FRAME >= 200
    )
    assert result.matched_loud >= 0.8 * loud_in_message, (
        f"customer heard {result} of a {len(message) / RATE:.1f} s message "
        f"({message_frames} frames, {loud_in_message} not silent)"
    )
    assert took >= 0.9 * len(message) / RATE, "the BYE came before the message could play"
    ticket = alice.ticket(call["ticket_id"])
    assert ticket["outcome"] == "force_disconnected"


def test_hold_and_resume_keep_the_customer_stream_continuous(rig: Rig) -> None:
    """Relay, then hold music, then relay again reach the customer as one RTP stream: one SSRC,
    sequence numbers without jumps, timestamps moving forward, a marker where the source
    changes (RFC 3550 talk spurt), so the customer's jitter buffer never resets."""
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.ready()
    customer, rtp, call = rig.connect_inbound("alice")
    _, start = rtp.wait_matching(rig.signal("alice"))
    alice.call_action(call["id"], "hold/start")
    rtp.wait_matching(read_wav(rig.admin().sound("hold_music")), frames=50, min_loud=20)
    alice.call_action(call["id"], "hold/stop")
    rtp.wait_matching(rig.signal("alice"))
    packets = rtp.received(start)
    customer.hang_up()
    customer.wait_ended()

    assert {p.ssrc for p in packets} == {packets[0].ssrc}, "the SSRC changed"
    jumps = [
        (a.sequence, b.sequence)
        for a, b in pairwise(packets)
        if (b.sequence - a.sequence) & 0xFFFF != 1
    ]
    assert len(jumps) <= 2, f"sequence not continuous: {jumps[:10]}"
    backwards = [
        (a.timestamp, b.timestamp)
        for a, b in pairwise(packets)
        if not 0 < (b.timestamp - a.timestamp) & 0xFFFFFFFF < 2**31
    ]
    assert not backwards, f"timestamps not moving forward: {backwards[:10]}"
    assert sum(p.marker for p in packets) >= 2, "no marker bit where hold began or ended"
