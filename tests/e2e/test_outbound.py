"""Outbound calls through a SIPp trunk: the calling number on the wire, refusals before any SIP,
and the far end's busy / no answer / decline coming back to the agent as reasons."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.e2e.agents import AgentApi
from tests.e2e.conftest import SERVICE_ID, Rig
from tests.support.sipp import header

pytestmark = pytest.mark.e2e


def _user(value: str | None) -> str | None:
    """The user part of the first SIP URI in a header value."""
    found = re.search(r"sips?:([^@;>]+)@", value or "")
    return found[1] if found else None


def _dial(api: AgentApi, number: str, calling_number: str, *, expect: int = 200) -> Any:
    body = {"service_id": SERVICE_ID, "number": number, "calling_number": calling_number}
    return api.call("POST", "/api/calls/dial", json=body, expect=expect)


def test_dial_through_the_trunk_carries_the_calling_number_and_bridges(rig: Rig) -> None:
    trunk, rtp = rig.trunk("answer")
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    mark = phone.mark()

    state = _dial(alice, "5555678", "5550199")
    assert state["status"] in ("dialing", "on_call")
    invite = trunk.wait_invite()
    request_line = invite.splitlines()[0]
    assert _user(request_line) == "5555678", request_line
    assert _user(header(invite, "From")) == "5550199", header(invite, "From")
    assert _user(header(invite, "P-Asserted-Identity")) == "5550199", invite

    # The trunk answered: alice's phone is bridged to the far end, a ticket opened.
    phone.wait_event("CALL_ESTABLISHED", since=mark)
    call = alice.wait_talking()
    assert call["direction"] == "outbound"
    assert call["calling_number"] == "5550199"
    assert call["customer_number"] == "5555678"
    assert call["ticket_id"] is not None
    ticket = alice.ticket(call["ticket_id"])
    assert ticket["customer"]["name"] == "Fox Mulder"
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25

    alice.call_action(call["id"], "end")
    trunk.sipp.wait_log(r"^ended \S+ by_switch")
    trunk.sipp.expect_success(timeout=20)
    phone.wait_event("CALL_CLOSED", since=mark)
    alice.wait_status("ticket_processing")


def test_an_unregistered_calling_number_is_refused_before_any_sip_is_sent(rig: Rig) -> None:
    trunk, _ = rig.trunk("answer")
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")

    error = _dial(alice, "5555678", "5550142", expect=409)
    assert error["code"] == "calling_number_not_registered"
    bad = _dial(alice, "not-a-number", "5550199", expect=422)
    assert bad["code"] == "destination_invalid"
    assert alice.state()["status"] == "business"
    time.sleep(2)  # give a wrongly sent INVITE time to arrive
    assert trunk.invites() == []
    assert trunk.sipp.log_lines() == []


def _call_failed(ws: Any, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if message.get("type") == "call_failed":
            data: dict[str, Any] = message["data"]
            return data
    raise AssertionError(f"no call_failed event in {timeout} s")


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [("busy", "busy"), ("no_answer", "no_answer"), ("decline", "rejected")],
)
def test_far_end_refusals_come_back_as_reasons(rig: Rig, behaviour: str, reason: str) -> None:
    trunk, _ = rig.trunk(behaviour, no_answer_ms=3000)
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    ws_url = rig.server.base_url.replace("http", "ws", 1) + "/api/ws"
    with connect(ws_url, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "auth", "token": alice.token}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "ready"}
        _dial(alice, "5555678", "5550100")
        trunk.wait_invite()
        failed = _call_failed(ws, timeout=60)
    assert failed["reason"] == reason, failed
    assert failed["message"]
    trunk.sipp.expect_success(timeout=30)
    state = alice.wait_state(lambda s: s["call"] is None, "the failed call gone")
    assert state["status"] in ("business", "ticket_processing"), state


def test_the_far_end_hanging_up_ends_an_outbound_call(rig: Rig) -> None:
    trunk, rtp = rig.trunk("answer")
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    mark = phone.mark()
    _dial(alice, "5551234", "5550100")
    call = alice.wait_talking()
    rtp.wait_matching(rig.signal("alice"))

    trunk.hang_up()  # the customer hangs up: BYE from the trunk
    trunk.sipp.wait_log(r"^ended \S+ by_trunk")
    trunk.sipp.expect_success(timeout=20)
    phone.wait_event("CALL_CLOSED", since=mark)
    alice.wait_status("ticket_processing")
    assert alice.ticket(call["ticket_id"])["ended_at"] is not None
