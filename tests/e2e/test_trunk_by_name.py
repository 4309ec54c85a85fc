"""A trunk configured by host name, as providers are: `localhost` resolves to the SIPp trunk's
loopback address, so an outbound call reaches it and its INVITE is accepted as the trunk's; a
name that does not resolve fails the dial as unreachable with a message for the agent."""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import INBOUND, SERVICE_ID, Rig
from tests.support.rtp import free_udp_port
from tests.support.server import ServerError
from tests.support.sipp import sip_exchange

pytestmark = pytest.mark.e2e


def _dial(rig: Rig, number: str = "5555678") -> None:
    body = {"service_id": SERVICE_ID, "number": number, "calling_number": "5550199"}
    rig.agent("alice").call("POST", "/api/calls/dial", json=body)


def _next_event(ws: Any, kind: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if message.get("type") == kind:
            data: dict[str, Any] = message["data"]
            return data
    raise AssertionError(f"no {kind} event in {timeout} s")


def test_a_trunk_takes_a_host_name_and_refuses_garbage(rig: Rig) -> None:
    admin = rig.admin()
    # A name the hosts file answers (a made-up one would send the server's lookup to a DNS
    # server off this machine).
    saved = admin.update_trunk(host="localhost")
    assert saved["host"] == "localhost"
    for garbage in ("-bad-.example", "two..dots", "300.1.2.3", "sip:x@y"):
        with pytest.raises(ServerError, match="422") as refused:
            admin.update_trunk(host=garbage)
        assert '"code":"invalid_input"' in str(refused.value).replace(" ", ""), refused.value
    assert rig.server.trunk()["host"] == "localhost"
    # The CTI settings no longer hold a trunk: an old client's field is refused, not ignored.
    body = {**admin.settings(), "trunk_host": "10.0.0.5"}
    error = admin.call("PUT", "/api/admin/cti/settings", json=body, expect=422)
    assert error["code"] == "invalid_input" and "trunk_host" in str(error), error


def test_outbound_call_through_a_trunk_by_name(rig: Rig) -> None:
    trunk, rtp = rig.trunk("answer")
    rig.admin().update_trunk(host="localhost", port=trunk.port)
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    mark = phone.mark()

    _dial(rig)
    invite = trunk.wait_invite()
    assert invite.splitlines()[0].startswith("INVITE sip:5555678@localhost:"), invite
    phone.wait_event("CALL_ESTABLISHED", since=mark)
    call = alice.wait_talking()
    match, _ = rtp.wait_matching(rig.signal("alice"))  # media flows: the bridge is real
    assert match.matched_loud >= 25
    alice.call_action(call["id"], "end")
    trunk.sipp.wait_log(r"^ended \S+ by_switch")
    trunk.sipp.expect_success(timeout=20)


def test_inbound_from_a_trunk_by_name_when_other_sources_are_refused(rig: Rig) -> None:
    admin = rig.admin()
    # The trunk is `localhost` on SIPp's port, and no other source is listed: SIPp on
    # 127.0.0.1 at that port is the trunk, so its call is taken.
    port = free_udp_port()
    admin.update_trunk(host="localhost", port=port, sources=[])
    admin.update_settings(allow_any_source=False)
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.ready()
    customer = rig.sipp_customer(source="127.0.0.1", local_port=port)
    offer = alice.wait_offer()
    alice.answer(offer["call_id"])
    customer.wait_answered()
    alice.wait_talking()
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"

    # A trunk name that does not resolve: nobody is the trunk, the call is refused (403).
    admin.update_trunk(host="no-such-trunk.invalid")
    assert _invite_status(rig) == "403 Forbidden"


def _invite_status(rig: Rig) -> str:
    """Send one INVITE to the service's number from a raw UDP socket; its final status."""
    host, port = rig.switch
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        here = sock.getsockname()[1]
        body = (
            "v=0\r\no=c 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {here + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )
        text = (
            f"INVITE sip:{INBOUND}@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{here};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:5551234@127.0.0.1:{here}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{INBOUND}@{host}:{port}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:5551234@127.0.0.1:{here}>\r\n"
            "Content-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        reply = sip_exchange(sock, text, rig.switch, timeout=30)
    return reply.split("\r\n", 1)[0].split(" ", 1)[1]


def test_unresolvable_trunk_fails_the_dial_as_unreachable(rig: Rig) -> None:
    rig.admin().update_trunk(host="no-such-trunk.invalid", port=5080)
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    ws_url = rig.server.base_url.replace("http", "ws", 1) + "/api/ws"
    with connect(ws_url, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "auth", "token": alice.token}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "ready"}
        _dial(rig)
        failed = _next_event(ws, "call_failed")
    assert failed["reason"] == "unreachable", failed
    assert failed["message"]
    state = alice.wait_state(lambda s: s["call"] is None, "the failed call gone")
    assert state["status"] in ("business", "ticket_processing"), state
    log = rig.server.log_tail(400)
    assert log.count("trunk host 'no-such-trunk.invalid' does not resolve") == 1, log
