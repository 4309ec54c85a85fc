"""The second SIP stack: linphonec (liblinphone) as bob's phone, registered with digest auth,
answering the switch's call and bridged to the customer both ways."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Rig
from tests.support.rtp import match_audio, samples_to_frames

pytestmark = pytest.mark.e2e


def test_linphonec_phone_registers_answers_and_is_bridged(rig: Rig) -> None:
    phone = rig.linphone("bob")
    # liblinphone answered the switch's digest challenge with one of the offered algorithms.
    algorithms = set(
        re.findall(r"Authorization:\s+Digest .*?algorithm=\"?([\w-]+)", phone.sip_log())
    )
    assert algorithms & {"MD5", "SHA-256"}, f"no digest Authorization in the log: {algorithms}"

    bob = rig.agent("bob")
    bob.ready()
    mark = phone.mark()
    customer, rtp = rig.customer()
    offer = bob.wait_offer()
    bob.answer(offer["call_id"])
    phone.wait_connected(since=mark)
    customer.wait_answered()
    rig.aim(customer, rtp)
    bob.wait_talking()
    match, _ = rtp.wait_matching(rig.signal("bob"))
    assert match.matched_loud >= 25

    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    phone.wait_ended(since=mark)
    bob.wait_status("ticket_processing")
    heard = match_audio(samples_to_frames(phone.heard()), rig.signal("customer"), tolerance=0.3)
    assert heard.matched_loud >= 25, f"linphonec heard the customer: {heard}"
