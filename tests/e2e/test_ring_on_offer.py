"""A desk phone that does not answer by itself (baresip, answermode manual) rings as soon as a
call is offered, before any Answer click; picking it up answers the call with audio both ways.
When the customer hangs up first, the ringing phone is cancelled and the agent is Ready again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.agents import AdminApi
from tests.e2e.conftest import Rig
from tests.support.rtp import match_audio, samples_to_frames

pytestmark = pytest.mark.e2e


def _ring_on_offer(admin: AdminApi, cti_id: str) -> dict[str, Any]:
    row = next(a for a in admin.cti_agents() if a["cti_id"] == cti_id)
    saved: dict[str, Any] = admin.call(
        "PUT",
        f"/api/admin/cti/agents/{row['user_id']}",
        json={"cti_id": cti_id, "cti_number": cti_id, "ring_on_offer": True},
    )
    return saved


def test_the_phone_rings_with_the_offer_and_picking_it_up_answers(rig: Rig) -> None:
    saved = _ring_on_offer(rig.admin(), "1001")
    assert (saved["ring_on_offer"], saved["auto_answer"]) == (True, False)
    alice = rig.agent("alice")
    phone = rig.phone("alice", answermode="manual", sip_trace=True)
    alice.ready()

    mark = phone.mark()
    customer, rtp = rig.customer()
    offer = alice.wait_offer()
    # The phone rings while the widget shows the offer; nobody has clicked Answer.
    phone.wait_event("CALL_INCOMING", since=mark)
    state = alice.state()
    assert state["status"] == "ringing" and state["offer"]["call_id"] == offer["call_id"]
    assert state["call"] is None and state["offer"]["phone_ringing"] is True
    invite = phone.received("INVITE")[-1]
    assert "answer-after" not in invite.lower() and "auto-answer" not in invite.lower()

    phone.accept()  # the agent picks the phone up
    customer.wait_answered()
    rig.aim(customer, rtp)
    call = alice.wait_talking()
    assert (call["id"], call["customer_number"]) == (offer["call_id"], "5551234")
    assert alice.state()["status"] == "on_call"
    assert call["ticket_id"] is not None
    # Audio both ways: the customer hears the agent's phone, the phone hears the customer.
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25, match
    phone.wait_heard(3.0)
    heard = match_audio(samples_to_frames(phone.heard()), rig.signal("customer"))
    assert heard.matched_loud >= 25, heard

    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    alice.wait_status("ticket_processing")


def test_the_customer_hanging_up_cancels_the_ringing_phone(rig: Rig) -> None:
    _ring_on_offer(rig.admin(), "1001")
    alice = rig.agent("alice")
    phone = rig.phone("alice", answermode="manual", sip_trace=True)
    alice.ready()

    mark = phone.mark()
    customer, _ = rig.customer()
    alice.wait_offer()
    phone.wait_event("CALL_INCOMING", since=mark)
    customer.hang_up()
    assert customer.wait_ended() == "cancelled"
    phone.wait_event("CALL_CLOSED", since=mark)
    assert phone.received("CANCEL"), phone.log()
    state = alice.wait_state(lambda s: s["offer"] is None, "the offer withdrawn")
    assert state["call"] is None
    alice.wait_status("ready")
