"""The dial plan on the wire, with SIPp as the trunk: an allowed number reaches the trunk with
the Request-URI the plan made of it (normalised, "#" escaped as %23, read back by our parser), a
premium-rate or international number never does, and one agent has one live outbound call."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

import pytest

from ringdesk.sip.message import Request, parse_message
from tests.e2e.agents import AgentApi
from tests.e2e.conftest import SERVICE_ID, Rig

pytestmark = pytest.mark.e2e


def _dial(api: AgentApi, number: str, *, expect: int = 200) -> Any:
    body = {"service_id": SERVICE_ID, "number": number, "calling_number": "5550199"}
    return api.call("POST", "/api/calls/dial", json=body, expect=expect)


def _invite(text: str) -> Request:
    invite = parse_message(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())
    assert isinstance(invite, Request) and invite.method == "INVITE"
    return invite


def _logged_in(rig: Rig) -> AgentApi:
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    return alice


def test_an_allowed_number_reaches_the_trunk_escaped_and_a_second_dial_is_refused(
    rig: Rig,
) -> None:
    trunk, _ = rig.trunk("answer")
    alice = _logged_in(rig)
    state = _dial(alice, "555-1234 #9")
    assert state["call"]["customer_number"] == "5551234#9"

    raw = trunk.wait_invite()
    request_line = raw.splitlines()[0]
    assert request_line.startswith("INVITE sip:5551234%239@"), request_line
    invite = _invite(raw)
    assert unquote(invite.uri.user or "") == "5551234#9"
    assert unquote(invite.to_addr.uri.user or "") == "5551234#9"

    error = _dial(alice, "5555678", expect=409)
    assert error["code"] == "outbound_call_in_progress", error
    call = alice.wait_talking()
    assert call["customer_number"] == "5551234#9"
    time.sleep(1)
    assert len(trunk.invites()) == 1  # the refused second call sent nothing
    alice.call_action(call["id"], "end")
    trunk.sipp.wait_log(r"^ended \S+ by_switch")


@pytest.mark.parametrize(
    "number", ["+1 900 555 0100", "0900 123 456", "0049 30 1234567", "011 44 20 7946 0000"]
)
def test_premium_and_international_numbers_never_reach_the_trunk(rig: Rig, number: str) -> None:
    trunk, _ = rig.trunk("answer")
    alice = _logged_in(rig)
    error = _dial(alice, number, expect=409)
    assert error["code"] == "destination_not_allowed", error
    assert alice.state()["call"] is None
    time.sleep(2)  # give a wrongly sent INVITE time to arrive
    assert trunk.invites() == []
    assert trunk.sipp.log_lines() == []


def test_with_the_country_set_the_trunk_gets_e164(rig: Rig) -> None:
    admin = rig.admin()
    plan = {"country_code": "49", "allowed_patterns": ["+1 212"]}
    admin.call("PATCH", f"/api/admin/services/{SERVICE_ID}", json={"dial_plan": plan})
    trunk, _ = rig.trunk("answer")
    alice = _logged_in(rig)
    _dial(alice, "(030) 123 45-67")
    invite = _invite(trunk.wait_invite())
    assert invite.uri.user == "+49301234567"
    call = alice.wait_talking()
    assert call["customer_number"] == "+49301234567"
    alice.call_action(call["id"], "end")
    trunk.sipp.wait_log(r"^ended \S+ by_switch")
    # The admin's allowed pattern opens that one range abroad, nothing else.
    error = _dial(alice, "+1 213 555 0100", expect=409)
    assert error["code"] == "destination_not_allowed"
