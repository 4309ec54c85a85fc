"""Phones registering with digest auth (baresip: MD5; SIPp: MD5; a raw client: SHA-256), what
the API says about registration, and malformed SIP that must not disturb a call in progress."""

from __future__ import annotations

import socket
import uuid

import pytest

from tests.e2e.conftest import Rig
from tests.support.sipp import digest_register, header, register, sip_exchange

pytestmark = pytest.mark.e2e


def test_baresip_registers_with_digest_and_the_api_reports_it(rig: Rig) -> None:
    alice = rig.agent("alice")
    admin = rig.admin()
    state = alice.cti_login()
    assert state["phone_registered"] is False
    rows = {row["cti_id"]: row for row in admin.cti_agents()}
    assert rows["1001"]["registered"] is False

    phone = rig.phone("alice")  # waits for baresip's own "OK" on its registration
    assert phone.registered()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    rows = {row["cti_id"]: row for row in admin.cti_agents()}
    assert rows["1001"]["registered"] is True
    assert rows["1002"]["registered"] is False


def test_sipp_register_md5_right_and_wrong_password(rig: Rig) -> None:
    code, _ = register(rig.tmp, rig.switch, "1002", "wrong-password")
    assert code in (401, 403)
    bob = rig.agent("bob")
    assert bob.cti_login()["phone_registered"] is False
    code, _ = register(rig.tmp, rig.switch, "1002", "phone1002-demo")
    assert code == 200
    bob.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    # An unknown user is refused just the same.
    code, _ = register(rig.tmp, rig.switch, "9999", "phone1002-demo")
    assert code in (401, 403, 404)


def test_register_with_sha256_digest(rig: Rig) -> None:
    """RFC 8760: the switch offers SHA-256 too, and accepts a response computed with it."""
    code, challenges = digest_register(rig.switch, "1003", "phone1003-demo", algorithm="SHA-256")
    assert any("SHA-256" in c for c in challenges), f"no SHA-256 challenge in {challenges}"
    assert code == 200
    carol = rig.agent("carol")
    carol.cti_login()
    carol.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    # The same with a wrong password is refused, and MD5 works as well.
    code, _ = digest_register(rig.switch, "1002", "not-his", algorithm="SHA-256")
    assert code in (401, 403)
    code, _ = digest_register(rig.switch, "1002", "phone1002-demo", algorithm="MD5")
    assert code == 200


def test_an_unregistered_phone_is_reported_and_not_offered_calls(rig: Rig) -> None:
    alice, bob = rig.agent("alice"), rig.agent("bob")
    rig.phone("bob")
    state = alice.cti_login()  # no phone for alice
    assert state["phone_registered"] is False
    alice.set_status("ready")
    bob.ready()
    customer, rtp = rig.customer()
    offer = bob.wait_offer()
    assert alice.state()["offer"] is None
    bob.answer(offer["call_id"])
    customer.wait_answered()
    rig.aim(customer, rtp)
    bob.wait_talking()
    assert alice.state()["offer"] is None
    assert alice.state()["phone_registered"] is False
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"


MALFORMED = {
    # Requests the switch can answer, but not serve: 400 Bad Request.
    "no Call-ID": (
        "OPTIONS sip:ringdesk@{host}:{sport} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKnocallid{n}\r\n"
        "From: <sip:fuzz@127.0.0.1>;tag=1\r\nTo: <sip:ringdesk@{host}>\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ),
    "bad CSeq": (
        "OPTIONS sip:ringdesk@{host}:{sport} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbadcseq{n}\r\n"
        "From: <sip:fuzz@127.0.0.1>;tag=1\r\nTo: <sip:ringdesk@{host}>\r\n"
        "Call-ID: bad-cseq-{n}\r\nCSeq: banana OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ),
    "body shorter than Content-Length": (
        "INVITE sip:5550100@{host}:{sport} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKshortbody{n}\r\n"
        "From: <sip:fuzz@127.0.0.1>;tag=1\r\nTo: <sip:5550100@{host}>\r\n"
        "Call-ID: short-body-{n}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        "Contact: <sip:fuzz@127.0.0.1:{port}>\r\nContent-Type: application/sdp\r\n"
        "Content-Length: 500\r\n\r\nv=0\r\n"
    ),
}
# A header line that is not a header: the rest of the request is fine, so it can be answered.
NO_COLON = (
    "OPTIONS sip:ringdesk@{host}:{sport} SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKnocolon{n}\r\n"
    "From: <sip:fuzz@127.0.0.1>;tag=1\r\nTo: <sip:ringdesk@{host}>\r\n"
    "Call-ID: no-colon-{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
    "this line is not a header\r\nContent-Length: 0\r\n\r\n"
)
GARBAGE = [
    b"\x00\x01\x02 this is not SIP at all",
    b"INVITE\r\n\r\n",
    b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n",  # a response to nothing: dropped
    b"X" * 5000,
]


def test_malformed_sip_gets_400_and_does_not_disturb_a_call(rig: Rig) -> None:
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.ready()
    customer, rtp, call = rig.connect_inbound("alice")
    rtp.wait_matching(rig.signal("alice"))

    host, sport = rig.switch
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        for n, (name, template) in enumerate(MALFORMED.items()):
            text = template.format(host=host, sport=sport, port=port, n=n)
            reply = sip_exchange(sock, text, rig.switch)
            assert reply.startswith("SIP/2.0 400"), f"{name}: {reply}"
        for blob in GARBAGE:
            sock.sendto(blob, rig.switch)
        # A well-formed OPTIONS still gets its 200: the switch is alive and parsing.
        options = (
            f"OPTIONS sip:ringdesk@{host}:{sport} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKgood{uuid.uuid4().hex[:8]}\r\n"
            f"From: <sip:probe@127.0.0.1>;tag=2\r\nTo: <sip:ringdesk@{host}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        reply = sip_exchange(sock, options, rig.switch)
        assert reply.startswith("SIP/2.0 200"), reply

    # The call went on: still talking, audio still flowing both ways.
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25
    assert alice.state()["call"]["id"] == call["id"]
    assert alice.state()["status"] == "on_call"
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    assert "Traceback" not in rig.server.log_tail(400)


def test_a_header_line_without_a_colon_gets_400(rig: Rig) -> None:
    host, sport = rig.switch
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        text = NO_COLON.format(host=host, sport=sport, port=port, n=0)
        reply = sip_exchange(sock, text, rig.switch)
    assert reply.startswith("SIP/2.0 400"), reply
    assert header(reply, "Call-ID") == "no-colon-0", reply
