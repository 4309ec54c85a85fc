"""The Switch on UDP loopback (port 0), driven by small in-test SIP peers.

Media is an in-memory recorder: these tests are about signaling. Real RTP and real SIP
stacks (sipp, baresip, linphonec) are exercised in tests/e2e.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import (
    Bridge,
    CallArrived,
    HangUp,
    LegAnswered,
    LegFailed,
    LegHungUp,
    LegRinging,
    Originate,
    PhoneRegistered,
    PlaybackFinished,
    PlayThenHangUp,
    RingAgent,
    StartHoldMusic,
    StartQueueMusic,
    StopHoldMusic,
)
from ringdesk.sip.message import Request, Response, make_response, parse_message
from ringdesk.sip.sdp import parse_sdp
from ringdesk.switch import Switch

from .harness import Events, FakeDirectory, FakeMedia, Peer, answer_auth, sdp


@dataclass
class Rig:
    switch: Switch
    media: FakeMedia
    directory: FakeDirectory
    events: Events
    addr: tuple[str, int]

    async def peer(self) -> Peer:
        return await Peer().open(self.addr)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    media = FakeMedia()
    directory = FakeDirectory(tmp_path)
    events = Events()
    switch = Switch(
        "127.0.0.1", 0, directory=directory, sink=events, data_dir=tmp_path, media=media
    )
    await switch.start()
    try:
        yield Rig(switch, media, directory, events, ("127.0.0.1", switch.local_port))
    finally:
        await switch.stop()


async def register(
    rig: Rig, phone: Peer, cti_id: str = "1001", password: str = "phone1001-demo"
) -> Response:
    ruri = f"sip:{rig.addr[0]}:{rig.addr[1]}"
    to = f"<sip:{cti_id}@ringdesk.local>"
    phone.request("REGISTER", ruri, call_id=f"reg-{phone.port}", to=to, extra="Expires: 600\r\n")
    challenge = await phone.expect_response(401)
    auth = answer_auth(challenge, cti_id, password, ruri)
    phone.request(
        "REGISTER",
        ruri,
        call_id=f"reg-{phone.port}",
        cseq=2,
        to=to,
        extra="Expires: 600\r\n" + auth,
    )
    return await phone.expect_response(200)


async def test_register_with_digest(rig: Rig) -> None:
    phone = await rig.peer()
    ruri = f"sip:{rig.addr[0]}:{rig.addr[1]}"
    phone.request("REGISTER", ruri, call_id="r1", to="<sip:1001@ringdesk.local>")
    challenge = await phone.expect_response(401)
    algorithms = [
        v.split("algorithm=")[1].split(",")[0]
        for v in challenge.headers.get_all("www-authenticate")
    ]
    assert sorted(algorithms) == ["MD5", "SHA-256"]
    assert not rig.switch.is_registered("1001")
    ok = await register(rig, phone)
    assert f"127.0.0.1:{phone.port}" in (ok.headers.get("contact") or "")
    assert rig.switch.is_registered("1001")
    # The registration reaches the engine as an ordinary telephony event.
    assert await rig.events.wait_for(PhoneRegistered) == PhoneRegistered("1001", True)
    phone.close()


async def test_register_wrong_password_is_refused(rig: Rig) -> None:
    phone = await rig.peer()
    ruri = f"sip:{rig.addr[0]}:{rig.addr[1]}"
    to = "<sip:1001@ringdesk.local>"
    phone.request("REGISTER", ruri, call_id="r2", to=to)
    challenge = await phone.expect_response(401)
    auth = answer_auth(challenge, "1001", "not-the-password", ruri)
    phone.request("REGISTER", ruri, call_id="r2", cseq=2, to=to, extra=auth)
    await phone.expect_response(403)
    assert not rig.switch.is_registered("1001")
    phone.close()


async def test_options_and_unknown_method(rig: Rig) -> None:
    peer = await rig.peer()
    ruri = f"sip:{rig.addr[0]}:{rig.addr[1]}"
    peer.request("OPTIONS", ruri, call_id="o1")
    ok = await peer.expect_response(200)
    assert "INVITE" in (ok.headers.get("allow") or "")
    peer.request("PUBLISH", ruri, call_id="p1")
    refused = await peer.expect_response(405)
    assert "REGISTER" in (refused.headers.get("allow") or "")
    peer.close()


async def test_inbound_routing_refusals(rig: Rig) -> None:
    peer = await rig.peer()
    peer.request("INVITE", f"sip:5559999@{rig.addr[0]}", call_id="i404", body=sdp(30000))
    await peer.expect_response(404)
    peer.request("INVITE", f"sip:5550111@{rig.addr[0]}", call_id="i403", body=sdp(30000))
    refused = await peer.expect_response(403)
    assert refused.reason == "Inbound CTI disabled"
    rig.directory.trunk_settings = type(rig.directory.trunk_settings)(
        host="10.9.9.9", allow_any_source=False
    )
    peer.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id="i403b", body=sdp(30000))
    await peer.expect_response(403)
    no_codec = sdp(30000).replace("RTP/AVP 0 101", "RTP/AVP 18 101")
    rig.directory.trunk_settings = type(rig.directory.trunk_settings)(allow_any_source=True)
    peer.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id="i488", body=no_codec)
    await peer.expect_response(488)
    assert rig.events.items == []
    peer.close()


async def start_inbound(rig: Rig, customer: Peer, call_id: str) -> CallArrived:
    customer.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id=call_id, body=sdp(30000))
    await customer.expect_response(100)
    arrived = await rig.events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    return arrived


async def test_inbound_queue_music_then_cancel(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "in-cancel")
    assert (arrived.service_id, arrived.caller, arrived.called) == (1, "5551234", "5550100")
    endpoint = rig.media.endpoints[arrived.leg_id]
    assert endpoint.remote is not None and endpoint.remote.port == 30000
    rig.switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
    early = await customer.expect_response(183)
    audio = parse_sdp(early.body).audio()
    assert audio is not None and audio.port == endpoint.port
    assert ("play", arrived.leg_id, "queue_music.wav", "True") in rig.media.calls
    # A second caller hangs up while queued: CANCEL with the INVITE's branch.
    customer2 = await rig.peer()
    customer2.request(
        "INVITE",
        f"sip:5550100@{rig.addr[0]}",
        call_id="in-cancel-2",
        body=sdp(30002),
        branch="z9hG4bKcancel1",
    )
    arrived2 = await rig.events.wait_for(CallArrived)
    assert isinstance(arrived2, CallArrived)
    customer2.request(
        "CANCEL", f"sip:5550100@{rig.addr[0]}", call_id="in-cancel-2", branch="z9hG4bKcancel1"
    )
    await customer2.expect_response(200)
    await customer2.expect_response(487)
    hung = await rig.events.wait_for(LegHungUp)
    assert hung == LegHungUp(arrived2.leg_id, "cancelled")
    assert arrived.leg_id in rig.switch.legs
    customer.close()
    customer2.close()


async def answer_invite(phone: Peer, invite: Request, port: int = 31000) -> str:
    """Answer the switch's INVITE with 180 then 200; returns our To tag."""
    phone.send(make_response(invite, 180, to_tag="agenttag"))
    ok = make_response(
        invite,
        200,
        to_tag="agenttag",
        headers=[
            ("Contact", f"<sip:agent@127.0.0.1:{phone.port}>"),
            ("Content-Type", "application/sdp"),
        ],
        body=sdp(port).encode(),
    )
    phone.send(ok)
    return "agenttag"


async def test_main_call_flow(rig: Rig) -> None:
    """Inbound call, ring the agent's phone, bridge, hold/resume, agent hangs up."""
    phone = await rig.peer()
    await register(rig, phone)
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "main-1")

    rig.switch.execute(RingAgent(arrived.call_id, "agent-leg", 2, "1001", auto_answer=True))
    invite = await phone.expect_request("INVITE")
    assert "answer-after=0" in (invite.headers.get("call-info") or "")
    assert any("alert-autoanswer" in v for v in invite.headers.get_all("alert-info"))
    assert invite.from_addr.uri.user == "5551234"  # the agent's phone shows the caller
    offer = parse_sdp(invite.body).audio()
    assert offer is not None and offer.formats[:2] == ["0", "8"]
    await answer_invite(phone, invite)
    assert await rig.events.wait_for(LegRinging) == LegRinging("agent-leg")
    assert await rig.events.wait_for(LegAnswered) == LegAnswered("agent-leg")
    ack = await phone.expect_request("ACK")
    assert ack.to_addr.tag == "agenttag"
    agent_remote = rig.media.endpoints["agent-leg"].remote
    assert agent_remote is not None and agent_remote.port == 31000

    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, "agent-leg"))
    ok = await customer.expect_response(200)
    assert ok.to_addr.tag and ok.body
    assert ("bridge", arrived.leg_id, "agent-leg") in rig.media.calls
    customer.request(
        "ACK",
        f"sip:5550100@{rig.addr[0]}",
        call_id="main-1",
        to=ok.headers.get("to"),
        cseq=1,
    )

    rig.switch.execute(StartHoldMusic(arrived.call_id, arrived.leg_id))
    reinvite = await customer.expect_request("INVITE")
    audio = parse_sdp(reinvite.body).audio()
    assert audio is not None and audio.direction == "sendonly"
    assert ("play", arrived.leg_id, "hold_music.wav", "True") in rig.media.calls
    customer.send(
        make_response(
            reinvite,
            200,
            body=sdp(30000, "recvonly").encode(),
            headers=[("Content-Type", "application/sdp")],
        )
    )
    await customer.expect_request("ACK")

    rig.switch.execute(StopHoldMusic(arrived.call_id, arrived.leg_id))
    resume = await customer.expect_request("INVITE")
    audio = parse_sdp(resume.body).audio()
    assert audio is not None and audio.direction == "sendrecv"
    assert resume.cseq[0] > reinvite.cseq[0]
    customer.send(
        make_response(
            resume, 200, body=sdp(30000).encode(), headers=[("Content-Type", "application/sdp")]
        )
    )
    await customer.expect_request("ACK")
    assert rig.media.calls.count(("bridge", arrived.leg_id, "agent-leg")) == 2

    # The agent hangs up on the phone: BYE in the agent's dialog.
    bye = (
        f"BYE sip:ringdesk@{rig.addr[0]}:{rig.addr[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{phone.port};branch=z9hG4bKbye1\r\n"
        f"From: {invite.headers.get('to')};tag=agenttag\r\n"
        f"To: {invite.headers.get('from')}\r\n"
        f"Call-ID: {invite.call_id}\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    phone.send_raw(bye.encode())
    await phone.expect_response(200)
    assert await rig.events.wait_for(LegHungUp) == LegHungUp("agent-leg", "remote_bye")

    # The engine then hangs up the customer: BYE from the switch.
    rig.switch.execute(HangUp(arrived.call_id, arrived.leg_id))
    customer_bye = await customer.expect_request("BYE")
    customer.send(make_response(customer_bye, 200))
    assert await rig.events.wait_for(LegHungUp) == LegHungUp(arrived.leg_id, "normal")
    phone.close()
    customer.close()


async def test_ring_unregistered_agent_fails_at_once(rig: Rig) -> None:
    rig.switch.execute(RingAgent("c1", "l1", 3, "1002"))
    failed = await rig.events.wait_for(LegFailed)
    assert failed == LegFailed("l1", FailureReason.NOT_REGISTERED, "phone not registered")


@pytest.mark.parametrize(
    ("status", "reason"),
    [(486, FailureReason.BUSY), (480, FailureReason.NO_ANSWER), (603, FailureReason.REJECTED)],
)
async def test_agent_phone_failures_map_to_reasons(
    rig: Rig, status: int, reason: FailureReason
) -> None:
    phone = await rig.peer()
    await register(rig, phone)
    rig.switch.execute(RingAgent("c1", "l1", 2, "1001"))
    invite = await phone.expect_request("INVITE")
    phone.send(make_response(invite, status, to_tag="x"))
    failed = await rig.events.wait_for(LegFailed)
    assert isinstance(failed, LegFailed) and failed.reason is reason
    ack = await phone.expect_request("ACK")  # the client transaction ACKs the failure
    assert ack.cseq == (1, "ACK")
    phone.close()


async def test_hang_up_ringing_agent_sends_cancel(rig: Rig) -> None:
    phone = await rig.peer()
    await register(rig, phone)
    rig.switch.execute(RingAgent("c1", "l1", 2, "1001"))
    invite = await phone.expect_request("INVITE")
    phone.send(make_response(invite, 180, to_tag="t"))
    await rig.events.wait_for(LegRinging)
    rig.switch.execute(HangUp("c1", "l1"))
    cancel = await phone.expect_request("CANCEL")
    assert cancel.top_via.branch == invite.top_via.branch
    phone.send(make_response(cancel, 200))
    phone.send(make_response(invite, 487, to_tag="t"))
    await phone.expect_request("ACK")
    assert await rig.events.wait_for(LegHungUp) == LegHungUp("l1", "normal")
    assert not [e for e in rig.events.items if isinstance(e, LegFailed)]
    phone.close()


async def test_originate_through_trunk_with_calling_number(rig: Rig) -> None:
    trunk = await rig.peer()
    rig.directory.trunk_settings = type(rig.directory.trunk_settings)(
        host="127.0.0.1", port=trunk.port, username="acct", password="secret"
    )
    rig.switch.execute(Originate("c9", "out-leg", "5551234", "5550199"))
    invite = await trunk.expect_request("INVITE")
    assert invite.uri.user == "5551234" and invite.uri.port == trunk.port
    assert invite.from_addr.uri.user == "5550199"
    assert "5550199" in (invite.headers.get("p-asserted-identity") or "")
    # The trunk asks for credentials: the switch retries once with digest.
    challenge = 'Digest realm="carrier", nonce="abc123", qop="auth", algorithm=MD5'
    trunk.send(make_response(invite, 407, to_tag="t1", headers=[("Proxy-Authenticate", challenge)]))
    await trunk.expect_request("ACK")
    retry = await trunk.expect_request("INVITE")
    auth = retry.headers.get("proxy-authorization") or ""
    assert 'username="acct"' in auth and 'realm="carrier"' in auth
    assert retry.cseq[0] == invite.cseq[0] + 1
    trunk.send(make_response(retry, 183, to_tag="t2"))
    assert await rig.events.wait_for(LegRinging) == LegRinging("out-leg")
    trunk.send(
        make_response(
            retry,
            200,
            to_tag="t2",
            headers=[
                ("Contact", f"<sip:trunk@127.0.0.1:{trunk.port}>"),
                ("Content-Type", "application/sdp"),
            ],
            body=sdp(32000).encode(),
        )
    )
    assert await rig.events.wait_for(LegAnswered) == LegAnswered("out-leg")
    await trunk.expect_request("ACK")
    trunk.close()


async def test_originate_without_trunk_is_unreachable(rig: Rig) -> None:
    rig.directory.trunk_settings = type(rig.directory.trunk_settings)(host=None)
    rig.switch.execute(Originate("c9", "out-leg", "5551234", "5550199"))
    failed = await rig.events.wait_for(LegFailed)
    assert isinstance(failed, LegFailed) and failed.reason is FailureReason.UNREACHABLE


async def test_play_then_hang_up(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "force-1")
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await customer.expect_response(200)
    customer.request(
        "ACK", f"sip:5550100@{rig.addr[0]}", call_id="force-1", to=ok.headers.get("to")
    )
    rig.switch.execute(PlayThenHangUp(arrived.call_id, arrived.leg_id, "force_disconnect"))
    await rig.media.wait_call(("play", arrived.leg_id, "force_disconnect.wav", "False"))
    early = await customer.quiet(0.3)
    assert not any(d.startswith(b"BYE") for d in early)  # no BYE before the message played
    rig.media.on_done[arrived.leg_id]()
    bye = await customer.expect_request("BYE")
    customer.send(make_response(bye, 200))
    assert await rig.events.wait_for(PlaybackFinished) == PlaybackFinished(arrived.leg_id)
    hung = await rig.events.wait_for(LegHungUp)
    assert isinstance(hung, LegHungUp) and hung.leg_id == arrived.leg_id
    customer.close()


async def test_garbage_is_answered_and_the_call_stays_up(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "robust-1")
    rig.switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
    await customer.expect_response(183)

    attacker = await rig.peer()
    attacker.send_raw(b"\x00\x01garbage that is not SIP")
    attacker.send_raw(
        f"INVITE sip:5550100@x SIP/3.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{attacker.port};"
        "branch=z9hG4bKv\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: v\r\n"
        "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n".encode()
    )
    assert (await attacker.expect_response(505)).call_id == "v"
    attacker.send_raw(
        f"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{attacker.port};"
        "branch=z9hG4bKw\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: w\r\n"
        "CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n".encode()
    )
    bad = await attacker.expect_response(400)
    assert "CSeq" in bad.reason
    attacker.send_raw(
        f"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{attacker.port};"
        "branch=z9hG4bKz\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: z\r\n"
        "CSeq: 1 OPTIONS\r\nRequire: foo\r\nContent-Length: 0\r\n\r\n".encode()
    )
    assert (await attacker.expect_response(420)).headers.get("unsupported") == "foo"

    # The call in the queue is untouched: it can still be answered.
    assert arrived.leg_id in rig.switch.legs
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await customer.expect_response(200)
    assert ok.call_id == "robust-1"
    assert rig.events.items == []
    attacker.close()
    customer.close()


async def test_retransmitted_invite_is_absorbed(rig: Rig) -> None:
    customer = await rig.peer()
    data = customer.request(
        "INVITE",
        f"sip:5550100@{rig.addr[0]}",
        call_id="rt-1",
        body=sdp(30000),
        branch="z9hG4bKsame",
    )
    await customer.expect_response(100)
    await rig.events.wait_for(CallArrived)
    customer.send_raw(data)
    await customer.expect_response(100)  # the last response again, not a second call
    await asyncio.sleep(0.2)
    assert not [e for e in rig.events.items if isinstance(e, CallArrived)]
    customer.close()


async def test_2xx_is_retransmitted_until_ack(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "rtx-1")
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    first = await customer.expect_response(200)
    again = await customer.expect_response(200, timeout=5)  # T1 later, no ACK yet
    assert again.to_addr.tag == first.to_addr.tag
    customer.request(
        "ACK", f"sip:5550100@{rig.addr[0]}", call_id="rtx-1", to=first.headers.get("to")
    )
    leg = rig.switch.legs[arrived.leg_id]
    for _ in range(500):  # poll: the ACK is handled when the loop gets to it
        if leg.retrans is None:
            break
        await asyncio.sleep(0.02)
    assert leg.retrans is None
    await customer.quiet(0.05)  # one may have crossed the ACK
    assert await customer.quiet(2.5) == []  # then no more: T1 doublings would be at 1.5 s+
    customer.close()


async def test_remote_reinvite_is_answered_with_mirrored_direction(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "rhold-1")
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await customer.expect_response(200)
    to = ok.headers.get("to")
    customer.request("ACK", f"sip:5550100@{rig.addr[0]}", call_id="rhold-1", to=to)
    customer.request(
        "INVITE",
        f"sip:ringdesk@{rig.addr[0]}",
        call_id="rhold-1",
        cseq=2,
        to=to,
        body=sdp(30010, "sendonly"),
    )
    answer = await customer.expect_response(200)
    audio = parse_sdp(answer.body).audio()
    assert audio is not None and audio.direction == "recvonly"
    remote = rig.media.endpoints[arrived.leg_id].remote
    assert remote is not None and remote.port == 30010
    customer.close()


async def test_bye_for_unknown_dialog_is_481(rig: Rig) -> None:
    peer = await rig.peer()
    peer.request("BYE", f"sip:x@{rig.addr[0]}", call_id="nope", to="<sip:x@y>;tag=zz")
    await peer.expect_response(481)
    peer.close()


async def test_register_and_ring_over_tcp(rig: Rig) -> None:
    reader, writer = await asyncio.open_connection(*rig.addr)
    local_port = writer.get_extra_info("sockname")[1]
    ruri = f"sip:{rig.addr[0]}:{rig.addr[1]}"

    def register_text(cseq: int, extra: str = "") -> bytes:
        return (
            f"REGISTER {ruri};transport=tcp SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:{local_port};branch=z9hG4bKtcp{cseq}\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:1001@ringdesk.local>;tag=tt\r\n"
            "To: <sip:1001@ringdesk.local>\r\nCall-ID: tcp-reg\r\n"
            f"CSeq: {cseq} REGISTER\r\nContact: <sip:1001@127.0.0.1:{local_port};transport=tcp>\r\n"
            f"{extra}Content-Length: 0\r\n\r\n"
        ).encode()

    async def read_message() -> Request | Response:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
        return parse_message(head + body, stream=True)

    # Two messages in one write: stream framing must split them by Content-Length.
    writer.write(b"\r\n\r\n" + register_text(1))
    assert await asyncio.wait_for(reader.readexactly(2), 10) == b"\r\n"  # RFC 5626 pong
    challenge = await read_message()
    assert isinstance(challenge, Response) and challenge.status == 401
    auth = answer_auth(challenge, "1001", "phone1001-demo", f"{ruri};transport=tcp")
    writer.write(register_text(2, auth))
    ok = await read_message()
    assert isinstance(ok, Response) and ok.status == 200
    assert rig.switch.is_registered("1001")

    rig.switch.execute(RingAgent("c1", "l1", 2, "1001"))
    invite = await read_message()
    assert isinstance(invite, Request) and invite.method == "INVITE"
    assert invite.top_via.transport == "TCP"
    writer.close()


async def test_delayed_offer_gets_our_offer_in_200_and_answer_in_ack(rig: Rig) -> None:
    customer = await rig.peer()
    customer.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id="late-1")
    await customer.expect_response(100)
    arrived = await rig.events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    rig.switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
    await customer.expect_response(180)  # no SDP in a 183 without the caller's offer
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await customer.expect_response(200)
    offer = parse_sdp(ok.body).audio()
    assert offer is not None and offer.formats == ["0", "8", "101"]
    assert rig.media.endpoints[arrived.leg_id].remote is None
    customer.request(
        "ACK",
        f"sip:5550100@{rig.addr[0]}",
        call_id="late-1",
        to=ok.headers.get("to"),
        body=sdp(30400),
    )
    await asyncio.sleep(0.3)
    remote = rig.media.endpoints[arrived.leg_id].remote
    assert remote is not None and (remote.port, remote.payload_type) == (30400, 0)
    customer.close()


async def test_merged_and_looped_requests_get_482(rig: Rig) -> None:
    customer = await rig.peer()
    customer.request(
        "INVITE",
        f"sip:5550100@{rig.addr[0]}",
        call_id="merge-1",
        body=sdp(30000),
        branch="z9hG4bKpath1",
    )
    await customer.expect_response(100)
    await rig.events.wait_for(CallArrived)
    # The same request (From tag, Call-ID, CSeq) by another path: another branch.
    customer.request(
        "INVITE",
        f"sip:5550100@{rig.addr[0]}",
        call_id="merge-1",
        body=sdp(30000),
        branch="z9hG4bKpath2",
    )
    assert (await customer.expect_response(482)).call_id == "merge-1"

    # An outbound INVITE of ours that the trunk sends back to us carries our own branch.
    trunk = await rig.peer()
    rig.directory.trunk_settings = type(rig.directory.trunk_settings)(
        host="127.0.0.1", port=trunk.port, allow_any_source=True
    )
    rig.switch.execute(Originate("c9", "loop-leg", "5550100", "5550199"))
    ours = await trunk.expect_request("INVITE")
    looped = ours.to_bytes().replace(
        b"Via: ",
        f"Via: SIP/2.0/UDP 127.0.0.1:{trunk.port};branch=z9hG4bKtrunk1\r\nVia: ".encode(),
        1,
    )
    trunk.send_raw(looped)
    assert (await trunk.expect_response(482)).call_id == ours.call_id
    customer.close()
    trunk.close()


async def test_hold_reinvite_glare_is_retried(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "glare-1")
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await customer.expect_response(200)
    customer.request(
        "ACK", f"sip:5550100@{rig.addr[0]}", call_id="glare-1", to=ok.headers.get("to")
    )
    rig.switch.execute(StartHoldMusic(arrived.call_id, arrived.leg_id))
    first = await customer.expect_request("INVITE")
    customer.send(make_response(first, 491))
    await customer.expect_request("ACK")
    retry = await customer.expect_request("INVITE", timeout=10)  # after a random 0.5-2 s
    assert retry.cseq[0] > first.cseq[0]
    audio = parse_sdp(retry.body).audio()
    assert audio is not None and audio.direction == "sendonly"
    customer.close()


async def test_registrations_survive_a_restart(rig: Rig, tmp_path: Path) -> None:
    phone = await rig.peer()
    await register(rig, phone)
    await rig.switch.stop()
    again = Switch(
        "127.0.0.1",
        0,
        directory=rig.directory,
        sink=rig.events,
        data_dir=tmp_path,
        media=rig.media,
    )
    await again.start()
    try:
        assert again.is_registered("1001")
        assert not again.is_registered("1002")
        # Calls reach the phone at the address it registered from.
        rig.switch = again  # the fixture stops this one
        again.execute(RingAgent("c1", "l1", 2, "1001"))
        invite = await phone.expect_request("INVITE")
        assert invite.uri.user == "peer"
    finally:
        phone.close()


async def test_phone_gone_fails_fast_as_unreachable(rig: Rig) -> None:
    phone = await rig.peer()
    await register(rig, phone)
    phone.close()  # the port is closed now: our INVITE draws an ICMP port unreachable
    await asyncio.sleep(0.1)
    rig.switch.execute(RingAgent("c1", "l1", 2, "1001"))
    # Well before timer B (32 s): the ICMP error fails the transaction at once.
    failed = await rig.events.wait_for(LegFailed, timeout=10)
    assert isinstance(failed, LegFailed) and failed.reason is FailureReason.UNREACHABLE
    # The phone is gone: it is no longer offered calls, and the engine hears of it.
    assert not rig.switch.is_registered("1001")
    await asyncio.sleep(0.05)
    gone = [e for e in rig.events.items if isinstance(e, PhoneRegistered)]
    assert gone and gone[-1] == PhoneRegistered("1001", False)


async def test_update_with_an_offer_is_answered_in_its_200(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "upd-1")
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await customer.expect_response(200)
    to = ok.headers.get("to")
    customer.request("ACK", f"sip:5550100@{rig.addr[0]}", call_id="upd-1", to=to)
    customer.request(
        "UPDATE",
        f"sip:ringdesk@{rig.addr[0]}",
        call_id="upd-1",
        cseq=2,
        to=to,
        body=sdp(30020, "inactive"),
    )
    answer = await customer.expect_response(200)
    audio = parse_sdp(answer.body).audio()
    assert audio is not None and audio.direction == "inactive"
    remote = rig.media.endpoints[arrived.leg_id].remote
    assert remote is not None and remote.port == 30020
    customer.close()


async def test_overflow_message_to_a_queued_caller_then_480(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "overflow-1")
    rig.switch.execute(PlayThenHangUp(arrived.call_id, arrived.leg_id, "overflow"))
    early = await customer.expect_response(183)  # so the message can be heard unanswered
    assert early.body
    await rig.media.wait_call(("play", arrived.leg_id, "overflow.wav", "False"))
    rig.media.on_done[arrived.leg_id]()
    final = await customer.expect_response(480)
    assert final.to_addr.tag == early.to_addr.tag
    assert await rig.events.wait_for(PlaybackFinished) == PlaybackFinished(arrived.leg_id)
    assert await rig.events.wait_for(LegHungUp) == LegHungUp(arrived.leg_id, "overflow")
    assert ("close", arrived.leg_id) in rig.media.calls
    customer.close()


async def test_hang_up_a_queued_caller_and_record_a_bridged_call(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await start_inbound(rig, customer, "rec-1")
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id, record=True))
    ok = await customer.expect_response(200)
    assert ("record", arrived.leg_id, arrived.leg_id) in rig.media.calls
    customer.request("ACK", f"sip:5550100@{rig.addr[0]}", call_id="rec-1", to=ok.headers.get("to"))

    other = await rig.peer()
    queued = await start_inbound(rig, other, "busy-1")
    rig.switch.execute(HangUp(queued.call_id, queued.leg_id, "busy"))
    assert (await other.expect_response(486)).call_id == "busy-1"
    assert await rig.events.wait_for(LegHungUp) == LegHungUp(queued.leg_id, "busy")
    assert arrived.leg_id in rig.switch.legs  # the other call is untouched
    customer.close()
    other.close()


async def test_agent_leg_is_offered_the_customers_codec_first(rig: Rig) -> None:
    phone = await rig.peer()
    await register(rig, phone)
    customer = await rig.peer()
    pcma = sdp(30000).replace("RTP/AVP 0 101", "RTP/AVP 8 101").replace("0 PCMU", "8 PCMA")
    customer.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id="pcma-1", body=pcma)
    arrived = await rig.events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    remote = rig.media.endpoints[arrived.leg_id].remote
    assert remote is not None and remote.payload_type == 8
    rig.switch.execute(RingAgent(arrived.call_id, "agent-leg", 2, "1001"))
    invite = await phone.expect_request("INVITE")
    offer = parse_sdp(invite.body).audio()
    assert offer is not None and offer.formats[:2] == ["8", "0"]
    phone.close()
    customer.close()
