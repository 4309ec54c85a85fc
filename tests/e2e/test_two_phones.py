"""An agent with two phones registered under the same CTI ID (a desk phone and a softphone):
both ring, the one that answers gets the call, the other (two SIPp UAS here, real SIP over
UDP loopback) receives a CANCEL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import AGENTS, Rig
from tests.support.rtp import free_udp_port
from tests.support.sipp import Sipp, register

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).parent / "scenarios"
ANSWERING = Path(__file__).parents[1] / "support" / "sip_scenarios" / "agent_uas.xml"


def _phone(rig: Rig, scenario: Path, name: str) -> Sipp:
    """A SIPp phone registered as alice (digest auth), then taking calls on that port."""
    alice = AGENTS["alice"]
    port = free_udp_port()
    status, _ = register(rig.tmp, rig.switch, alice.cti_id, alice.phone_password, local_port=port)
    assert status == 200, f"{name} could not register: {status}"
    phone = Sipp(str(scenario), rig.tmp, local_port=port, name=f"{name}-{uuid.uuid4().hex[:6]}")
    rig._closers.append(phone.stop)
    return phone.start()


def test_the_answering_phone_wins_and_the_ringing_one_gets_cancel(rig: Rig) -> None:
    ringing = _phone(rig, SCENARIOS / "agent_ringing.xml", "softphone")
    answering = _phone(rig, ANSWERING, "deskphone")
    alice = rig.agent("alice")
    alice.ready()
    customer, _ = rig.customer()
    offer = alice.wait_offer()
    alice.answer(offer["call_id"])

    customer.wait_answered()
    call = alice.wait_talking()
    assert call["direction"] == "inbound"
    ringing.wait_log(r"^ringing ", timeout=30)  # it was rung too, at the same time
    ringing.wait_log(r"^cancelled ", timeout=30)
    ringing.expect_success(timeout=30)  # CANCEL, 200, 487, ACK: exactly the scenario
    assert len(ringing.received_requests("CANCEL")) == 1
    assert ringing.received_requests("BYE") == []
    assert len(answering.received_requests("INVITE")) == 1

    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    answering.expect_success(timeout=30)  # its call ended with the switch's BYE
    assert len(answering.received_requests("BYE")) == 1
    alice.wait_status("ticket_processing")
