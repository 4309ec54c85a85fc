"""Consultation to another agent's phone, Connect to Customer, Cancel and Resume, each with
what the customer hears checked (hold music while alice consults, then bob, or alice again)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Rig
from tests.support.rtp import match_audio, read_wav, samples_to_frames

pytestmark = pytest.mark.e2e


def test_consultation_then_connect_to_customer_bridges_the_customer_with_bob(rig: Rig) -> None:
    hold_music = read_wav(rig.admin().sound("hold_music"))
    alice, bob = rig.agent("alice"), rig.agent("bob")
    alice_phone = rig.phone("alice")
    bob_phone = rig.phone("bob")
    alice.ready()
    bob.ready()
    alice_mark, bob_mark = alice_phone.mark(), bob_phone.mark()
    customer, rtp, call = rig.connect_inbound("alice")
    rtp.wait_matching(rig.signal("alice"))

    # Consultation call to bob's CTI number: his phone rings (and answers), the customer holds.
    state = alice.call_action(call["id"], "transfer", json={"number": "1002"})
    assert state["status"] == "on_call_transfer"
    bob_phone.wait_event("CALL_ESTABLISHED", since=bob_mark)
    state = alice.wait_state(
        lambda s: (
            s["call"] is not None
            and s["call"]["consult"] is not None
            and s["call"]["consult"]["answered"]
        ),
        "the consultation answered",
    )
    assert state["call"]["consult"]["number"] == "1002"
    match, _ = rtp.wait_matching(hold_music, frames=50, min_loud=20)
    assert match.matched == 50

    # Connect to Customer: the customer now hears bob; alice is released.
    alice.call_action(call["id"], "transfer/complete")
    match, _ = rtp.wait_matching(rig.signal("bob"))
    assert match.matched_loud >= 25
    alice_phone.wait_event("CALL_CLOSED", since=alice_mark)
    alice.wait_status("ticket_processing")
    bob_call = bob.wait_talking()
    assert bob_call["customer_number"] == "5551234"

    # The customer hangs up: bob's phone is released too.
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    bob_phone.wait_event("CALL_CLOSED", since=bob_mark)
    bob.wait_status("ticket_processing")
    heard = match_audio(samples_to_frames(bob_phone.heard()), rig.signal("customer"))
    assert heard.matched_loud >= 25, f"bob heard the customer: {heard}"


def test_consultation_cancel_puts_alice_on_hold_and_resume_brings_the_customer_back(
    rig: Rig,
) -> None:
    hold_music = read_wav(rig.admin().sound("hold_music"))
    alice, bob = rig.agent("alice"), rig.agent("bob")
    rig.phone("alice")
    bob_phone = rig.phone("bob")
    alice.ready()
    bob.ready()
    bob_mark = bob_phone.mark()
    customer, rtp, call = rig.connect_inbound("alice")
    rtp.wait_matching(rig.signal("alice"))

    alice.call_action(call["id"], "transfer", json={"agent_id": bob.id})
    bob_phone.wait_event("CALL_ESTABLISHED", since=bob_mark)
    rtp.wait_matching(hold_music, frames=50, min_loud=20)
    # A second consultation while one is running is refused.
    response = alice.request("POST", f"/api/calls/{call['id']}/transfer", json={"number": "1003"})
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "transfer_in_progress"

    # Cancel: bob's phone is hung up, alice is On Hold, the customer still hears hold music.
    state = alice.call_action(call["id"], "transfer/cancel")
    assert state["status"] == "on_hold"
    bob_phone.wait_event("CALL_CLOSED", since=bob_mark)
    match, _ = rtp.wait_matching(hold_music, frames=50, min_loud=20)
    assert match.matched == 50

    # Resume: the customer hears alice again.
    state = alice.call_action(call["id"], "hold/stop")
    assert state["status"] == "on_call"
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    alice.wait_status("ticket_processing")
