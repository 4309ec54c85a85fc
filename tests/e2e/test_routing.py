"""Routing with real phones: the pickup timeout reassigns a call; with nobody Ready the caller
waits in the queue hearing the queue music."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import SERVICE_ID, Rig
from tests.support.rtp import match_audio, read_wav

pytestmark = pytest.mark.e2e


def test_unanswered_offer_goes_to_the_next_ready_agent_and_the_first_goes_rest(rig: Rig) -> None:
    rig.admin().update_settings(pickup_seconds=3, pickup_timeout_status="rest")
    alice, bob = rig.agent("alice"), rig.agent("bob")
    rig.phone("alice")
    bob_phone = rig.phone("bob")
    alice.ready()
    time.sleep(0.1)  # alice has been Ready longer: longest-idle offers to her first
    bob.ready()

    customer, rtp = rig.customer()
    first = alice.wait_offer()
    assert first["pickup_seconds"] == 3
    assert bob.state()["offer"] is None

    # Alice lets it ring: after the pickup time the call is taken back and offered to bob.
    second = bob.wait_offer(timeout=30)
    assert second["call_id"] == first["call_id"]
    # Not before alice's pickup time ran out (server and test share the clock; 0.5 s slack).
    expired = datetime.fromisoformat(first["expires_at"].replace("Z", "+00:00"))
    assert datetime.now(UTC) >= expired - timedelta(seconds=0.5)
    state = alice.wait_status("rest")
    assert state["offer"] is None
    assert state["chosen"] == "rest"

    mark = bob_phone.mark()
    bob.answer(second["call_id"])
    bob_phone.wait_event("CALL_ESTABLISHED", since=mark)
    customer.wait_answered()
    rig.aim(customer, rtp)
    bob.wait_talking()
    match, _ = rtp.wait_matching(rig.signal("bob"))
    assert match.matched_loud >= 25
    assert alice.state()["status"] == "rest"  # she stays out of the rotation
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    bob.wait_status("ticket_processing")


def test_with_nobody_ready_the_caller_waits_in_the_queue_hearing_queue_music(rig: Rig) -> None:
    admin = rig.admin()
    queue_music = read_wav(admin.sound("queue_music"))
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()  # Business: not offered calls
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")

    customer, rtp = rig.customer(send=False)
    queue = admin.wait_queue(SERVICE_ID, 1)
    assert queue["calls"][0]["caller"] == "5551234"
    # The switch plays the queue music to the waiting caller (early media or answered).
    match, _ = rtp.wait_matching(queue_music, frames=100, min_loud=40)
    assert match.matched == 100
    assert alice.state()["offer"] is None

    # Still queued a while later, still with music, not dropped.
    time.sleep(3)
    assert admin.wait_queue(SERVICE_ID, 1)["waiting"] == 1
    match, _ = rtp.wait_matching(queue_music, frames=50, min_loud=20)
    assert match.matched == 50

    # As soon as an agent is Ready the queued call is offered.
    alice.set_status("ready")
    offer = alice.wait_offer()
    assert offer["caller"] == "5551234"
    alice.answer(offer["call_id"])
    customer.wait_answered()
    rig.aim(customer, rtp)
    alice.wait_talking()
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25
    admin.wait_queue(SERVICE_ID, 0)
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"


def test_caller_hanging_up_in_the_queue_leaves_it_empty(rig: Rig) -> None:
    admin = rig.admin()
    customer, _ = rig.customer(send=False)
    admin.wait_queue(SERVICE_ID, 1)
    customer.hang_up()
    assert customer.wait_ended() == "cancelled"
    admin.wait_queue(SERVICE_ID, 0)
    today = {s["service_id"]: s for s in admin.board()["today"]}[SERVICE_ID]
    assert today["abandoned"] >= 1


def test_queue_music_in_answered_mode_then_the_agent_is_bridged(rig: Rig) -> None:
    """queue_music_mode "answered": the caller is answered (200) at once and hears the music."""
    admin = rig.admin()
    admin.update_settings(queue_music_mode="answered")
    queue_music = read_wav(admin.sound("queue_music"))
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")

    customer, rtp = rig.customer()
    customer.wait_answered()  # answered by the switch while nobody is Ready
    admin.wait_queue(SERVICE_ID, 1)
    match, _ = rtp.wait_matching(queue_music, frames=50, min_loud=20)
    assert match.matched == 50

    alice.set_status("ready")
    alice.answer(alice.wait_offer()["call_id"])
    alice.wait_talking()
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"


def test_max_queue_wait_hangs_up_with_the_overflow_message(rig: Rig) -> None:
    admin = rig.admin()
    admin.call(
        "PATCH",
        f"/api/admin/services/{SERVICE_ID}",
        json={"max_wait_seconds": 4, "overflow_action": "hang_up_with_message"},
    )
    overflow = read_wav(admin.sound("overflow"))
    customer, rtp = rig.customer(send=False)
    admin.wait_queue(SERVICE_ID, 1)
    start = rtp.mark()
    # Nobody becomes Ready: after 4 s the caller hears the overflow message, then the call
    # ends: BYE if the switch had answered, a final error response if it was early media.
    ended = customer.wait_ended(timeout=60)
    assert ended == "by_switch" or ended.startswith("rejected_"), ended
    admin.wait_queue(SERVICE_ID, 0)
    result = match_audio([p.payload for p in rtp.received(start)], overflow)
    assert result.matched_loud >= 25, f"the caller heard the overflow message: {result}"
