"""The caller hanging up at awkward moments, SIP over TCP, and DTMF passed through."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Rig

pytestmark = pytest.mark.e2e


def test_caller_hanging_up_while_offered_withdraws_the_offer(rig: Rig) -> None:
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.ready()
    customer, _ = rig.customer()
    alice.wait_offer()
    customer.hang_up()
    assert customer.wait_ended() == "cancelled"
    state = alice.wait_state(lambda s: s["offer"] is None, "the offer withdrawn")
    alice.wait_status("ready")
    assert state["call"] is None
    # And alice is offered the next call as usual.
    second, _ = rig.customer()
    assert alice.wait_offer()["caller"] == "5551234"
    second.hang_up()
    second.wait_ended()


def test_caller_hanging_up_during_a_consultation_releases_both_phones(rig: Rig) -> None:
    alice, bob = rig.agent("alice"), rig.agent("bob")
    alice_phone, bob_phone = rig.phone("alice"), rig.phone("bob")
    alice.ready()
    bob.ready()
    alice_mark, bob_mark = alice_phone.mark(), bob_phone.mark()
    customer, _, call = rig.connect_inbound("alice")
    alice.call_action(call["id"], "transfer", json={"number": "1002"})
    bob_phone.wait_event("CALL_ESTABLISHED", since=bob_mark)

    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    bob_phone.wait_event("CALL_CLOSED", since=bob_mark)
    alice_phone.wait_event("CALL_CLOSED", since=alice_mark)
    alice.wait_status("ticket_processing")
    ticket = alice.ticket(call["ticket_id"])
    assert ticket["ended_at"] is not None


def test_an_inbound_call_over_tcp_is_answered_and_ended(rig: Rig) -> None:
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    customer = rig.sipp_customer(transport="tcp", echo=True)
    mark = phone.mark()
    alice.answer(alice.wait_offer()["call_id"])
    customer.wait_answered()
    call = alice.wait_talking()
    phone.wait_event("CALL_RTPESTAB", since=mark)
    alice.call_action(call["id"], "end")
    assert customer.wait_ended() == "by_switch"
    phone.wait_event("CALL_CLOSED", since=mark)


def test_dtmf_from_the_customer_reaches_the_agent_phone(rig: Rig) -> None:
    """RFC 4733 telephone-events are relayed to the agent's leg (baresip reports each key)."""
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    customer, rtp, _ = rig.connect_inbound("alice")
    rtp.wait_matching(rig.signal("alice"))
    mark = phone.mark()
    for digit in "5#":
        rtp.send_digit(digit)
    keys = [phone.wait_event("CALL_DTMF_START", since=mark)]
    keys.append(
        phone.wait_event("CALL_DTMF_START", since=mark, where=lambda e: e.get("param") == "#")
    )
    assert [k["param"] for k in keys] == ["5", "#"]
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
