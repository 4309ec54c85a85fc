"""A real inbound call (SIPp customer, baresip agent phone) reaches a webhook as call.offered,
call.answered, ticket.opened and call.ended, in that order, about the same call, signed."""

from __future__ import annotations

from typing import Any

import pytest

from ringdesk.store.webhooks import EVENTS
from tests.api.conftest import wait_for
from tests.api.test_webhooks import Receiver, assert_signed
from tests.e2e.conftest import SERVICE_ID, Rig

pytestmark = pytest.mark.e2e


def test_an_inbound_call_reaches_the_webhook_as_its_events(rig: Rig) -> None:
    receiver = Receiver()
    try:
        admin = rig.admin()
        hook: dict[str, Any] = admin.call(
            "POST",
            "/api/admin/webhooks",
            expect=201,
            json={"url": receiver.url, "events": [e for e in EVENTS if e != "agent.status"]},
        )
        alice = rig.agent("alice")
        rig.phone("alice")
        alice.cti_login()
        alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
        alice.set_status("ready")
        customer, _call, talking = rig.connect_inbound("alice")
        customer.hang_up()
        assert customer.wait_ended() == "by_customer"

        def ended() -> bool:
            return bool(receiver.events("call.ended"))

        wait_for(ended, timeout=30, message="call.ended")
        bodies = [assert_signed(r, hook["secret"]) for r in receiver.got]
        names = [b["event"] for b in bodies]
        assert names == ["call.offered", "call.answered", "ticket.opened", "call.ended"], names
        data = {b["event"]: b["data"] for b in bodies}
        call_id = talking["id"]
        assert {d["call_id"] for d in data.values()} == {call_id}
        assert data["call.offered"]["agent_id"] == alice.id
        assert data["call.offered"]["customer_number"] == "5551234"
        assert data["call.answered"]["direction"] == "inbound"
        assert data["call.answered"]["service_id"] == SERVICE_ID
        assert data["ticket.opened"]["ticket_id"] == talking["ticket_id"]
        assert data["call.ended"]["outcome"] == "answered"
        assert data["call.ended"]["ended_by"] == "customer"
        assert data["call.ended"]["customer_number"] == "5551234"
        assert data["call.ended"]["talk_seconds"] > 0
    finally:
        receiver.down()
