"""An inbound call from a SIPp customer to a baresip agent phone, driven through the REST API."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SERVICE_ID, Rig
from tests.support.rtp import PCMA, decode, match_audio, pcap_payloads, samples_to_frames
from tests.support.sipp import sipp_pcap

pytestmark = pytest.mark.e2e


def test_inbound_call_is_queued_offered_answered_bridged_and_ended_by_the_customer(
    rig: Rig,
) -> None:
    alice = rig.agent("alice")
    admin = rig.admin()
    phone = rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")

    # Nobody is Ready: the call waits in the service's queue.
    customer, rtp = rig.customer()
    queue = admin.wait_queue(SERVICE_ID, 1)
    assert queue["calls"][0]["caller"] == "5551234"
    assert alice.state()["offer"] is None

    # Ready: the queued call is offered to alice, with the customer matched by number.
    alice.set_status("ready")
    offer = alice.wait_offer()
    assert offer["caller"] == "5551234"
    assert offer["customer_name"] == "Dana Scully"
    assert offer["service_id"] == SERVICE_ID
    assert alice.state()["status"] == "ringing"

    mark = phone.mark()
    alice.answer(offer["call_id"])
    phone.wait_event("CALL_ESTABLISHED", since=mark)  # the switch rang the phone, it picked up
    customer.wait_answered()
    rig.aim(customer, rtp)
    call = alice.wait_talking()
    assert call["customer_number"] == "5551234"
    assert call["direction"] == "inbound"

    # Bridged: what the agent's phone sends reaches the customer, byte for byte.
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25, match

    # A ticket was opened when the call connected.
    assert call["ticket_id"] is not None
    ticket = alice.ticket(call["ticket_id"])
    assert ticket["customer_number"] == "5551234"
    assert ticket["customer"]["name"] == "Dana Scully"
    assert ticket["direction"] == "inbound"
    assert any(t["id"] == call["ticket_id"] for t in alice.tickets())

    # The customer hangs up (BYE): the phone is released, alice goes to ticket processing.
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    phone.wait_event("CALL_CLOSED", since=mark)
    state = alice.wait_status("ticket_processing")
    assert state["call"] is None
    ended = alice.ticket(call["ticket_id"])
    assert ended["ended_at"] is not None

    # And the customer's audio reached the phone (what baresip decoded, dumped by sndfile).
    heard = match_audio(samples_to_frames(phone.heard()), rig.signal("customer"))
    assert heard.matched_loud >= 50, f"agent phone heard the customer: {heard}"


def test_agent_ends_the_call_from_the_api_and_the_customer_gets_a_bye(rig: Rig) -> None:
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    mark = phone.mark()
    customer, rtp, call = rig.connect_inbound("alice")
    rtp.wait_matching(rig.signal("alice"))

    alice.call_action(call["id"], "end")
    assert customer.wait_ended() == "by_switch"
    phone.wait_event("CALL_CLOSED", since=mark)
    state = alice.wait_status("ticket_processing")
    assert state["call"] is None
    ticket = alice.ticket(call["ticket_id"])
    assert ticket["ended_at"] is not None
    # Ticket processing is Business: no new call is offered until alice goes Ready herself.
    second, _ = rig.customer()
    rig.admin().wait_queue(SERVICE_ID, 1)
    assert alice.state()["offer"] is None
    alice.set_status("ready")
    assert alice.wait_offer()["caller"] == "5551234"
    second.hang_up()
    assert second.wait_ended() == "cancelled"


def test_customer_pcap_audio_reaches_the_agent_phone(rig: Rig) -> None:
    """SIPp plays Debian's g711a.pcap (PCMA) as the customer; the PCMU phone hears it."""
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    pcap = sipp_pcap("g711a.pcap")
    customer = rig.sipp_customer(pcap=pcap, codec=PCMA)
    mark = phone.mark()
    alice.answer(alice.wait_offer()["call_id"])
    customer.wait_answered()
    alice.wait_talking()
    phone.wait_event("CALL_ESTABLISHED", since=mark)
    # The pcap lasts about 8 s; give it time to play, then hang up and look at what was heard.
    customer.sipp.wait_log(r"^answered ")
    phone.wait_event("CALL_RTPESTAB", since=mark)
    phone.wait_heard(6.0)
    customer.hang_up()
    customer.wait_ended()
    phone.wait_event("CALL_CLOSED", since=mark)

    reference = [s for payload in pcap_payloads(pcap) for s in decode(payload, PCMA)]
    heard = match_audio(samples_to_frames(phone.heard()), reference, tolerance=0.35)
    assert heard.matched_loud >= 100, f"phone heard the pcap: {heard}"


def test_customer_echo_returns_the_agent_audio(rig: Rig) -> None:
    """SIPp's -rtp_echo as the customer: the agent's own audio comes back through the switch."""
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    customer = rig.sipp_customer(echo=True)
    mark = phone.mark()
    alice.answer(alice.wait_offer()["call_id"])
    customer.wait_answered()
    alice.wait_talking()
    phone.wait_event("CALL_RTPESTAB", since=mark)
    phone.wait_heard(4.0)
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    phone.wait_event("CALL_CLOSED", since=mark)
    heard = match_audio(samples_to_frames(phone.heard()), rig.signal("alice"))
    assert heard.matched_loud >= 100, f"phone heard its own audio echoed: {heard}"
