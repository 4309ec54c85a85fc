"""Auto Answer: a SIPp customer calls, a Ready agent with Auto Answer on is connected with no
Answer request, a ticket opens, and after wrap-up the next call connects with no request at all."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Rig

pytestmark = pytest.mark.e2e


def test_auto_answer_agent_is_connected_with_no_answer_request(rig: Rig) -> None:
    admin = rig.admin()
    alice = rig.agent("alice")
    row = next(a for a in admin.cti_agents() if a["cti_id"] == "1001")
    saved = admin.call(
        "PUT",
        f"/api/admin/cti/agents/{row['user_id']}",
        json={"cti_id": "1001", "cti_number": "1001", "auto_answer": True},
    )
    assert saved["auto_answer"] is True
    admin.update_settings(wrap_up_seconds=1)
    phone = rig.phone("alice")
    alice.ready()

    # The call: nobody calls POST /answer; the switch rings the phone, which picks up.
    mark = phone.mark()
    customer, rtp = rig.customer()
    phone.wait_event("CALL_ESTABLISHED", since=mark)
    customer.wait_answered()
    rig.aim(customer, rtp)
    call = alice.wait_talking()
    assert (call["customer_number"], call["direction"]) == ("5551234", "inbound")
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25, match

    # The ticket opened when the call connected, with the customer matched by number.
    assert call["ticket_id"] is not None
    ticket = alice.ticket(call["ticket_id"])
    assert ticket["customer"]["name"] == "Dana Scully"
    assert ticket["direction"] == "inbound"

    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    alice.wait_status("ticket_processing")

    # Wrap-up ends by itself (1 s) and the next caller is connected, again with no request.
    alice.wait_status("ready")
    mark = phone.mark()
    second, rtp2 = rig.customer(caller="5555678")
    phone.wait_event("CALL_ESTABLISHED", since=mark)
    second.wait_answered()
    rig.aim(second, rtp2)
    call2 = alice.wait_talking()
    assert call2["id"] != call["id"]
    assert call2["customer_number"] == "5555678"
    assert alice.ticket(call2["ticket_id"])["customer"]["name"] == "Fox Mulder"
    second.hang_up()
    assert second.wait_ended() == "by_customer"
