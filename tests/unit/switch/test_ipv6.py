"""The Switch over IPv6 loopback and dual stack: bracketed addresses in Via and Contact
(RFC 5118), SDP in IN IP6 toward an IPv6 peer, a '::' bind serving both families, and a clean
488 (one log line) for an offer whose family our RTP cannot serve."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvloop

from ringdesk import tls
from ringdesk.core.telephony import (
    CallArrived,
    LegAnswered,
    Originate,
    PhoneRegistered,
    RingAgent,
    StartQueueMusic,
)
from ringdesk.media.server import MediaServer
from ringdesk.sip.message import Request, make_response, parse_message
from ringdesk.sip.sdp import parse_sdp
from ringdesk.sip.transaction import ServerTransaction
from ringdesk.switch import Switch
from ringdesk.switch.addresses import Addresses
from ringdesk.switch.gate import Gate, GateSettings, unmapped
from ringdesk.switch.lookup import TrunkSettings
from ringdesk.switch.stack import RequestHandler, SipStack
from ringdesk.switch.transport import Address
from tests.support.rtp import free_udp_port

from .harness import Events, FakeDirectory, FakeMedia, Peer, answer_auth, sdp


async def _switch(tmp_path: Path, host: str, media: FakeMedia | None) -> Switch:
    switch = Switch(
        host,
        0,
        directory=FakeDirectory(tmp_path),
        sink=Events(),
        data_dir=tmp_path,
        media=media,
        addresses=Addresses(host),
        media_addresses=Addresses(host),
    )
    await switch.start()
    return switch


@pytest.fixture
async def v6(tmp_path: Path) -> AsyncIterator[tuple[Switch, FakeMedia]]:
    media = FakeMedia()
    switch = await _switch(tmp_path, "::1", media)
    try:
        yield switch, media
    finally:
        await switch.stop()


def events_of(switch: Switch) -> Events:
    sink = switch.state.sink
    assert isinstance(sink, Events)
    return sink


async def test_call_over_ipv6_loopback(v6: tuple[Switch, FakeMedia]) -> None:
    switch, media = v6
    addr = ("::1", switch.local_port)
    events = events_of(switch)
    # An agent's phone registers over IPv6.
    phone = await Peer("::1").open(addr)
    ruri = f"sip:[::1]:{switch.local_port}"
    to = "<sip:1001@ringdesk.local>"
    phone.request("REGISTER", ruri, call_id="reg6", to=to, extra="Expires: 600\r\n")
    challenge = await phone.expect_response(401)
    auth = answer_auth(challenge, "1001", "phone1001-demo", ruri)
    phone.request("REGISTER", ruri, call_id="reg6", cseq=2, to=to, extra="Expires: 600\r\n" + auth)
    await phone.expect_response(200)
    assert await events.wait_for(PhoneRegistered) == PhoneRegistered("1001", True)
    # A customer calls in over IPv6 with an IPv6 offer.
    customer = await Peer("::1").open(addr)
    customer.request("INVITE", "sip:5550100@[::1]", call_id="in6", body=sdp(30000, host="::1"))
    await customer.expect_response(100)
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    remote = media.endpoints[arrived.leg_id].remote
    assert remote is not None and (remote.host, remote.port) == ("::1", 30000)
    switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
    early = await customer.expect_response(183)
    assert early.headers.get("contact") == f"<sip:ringdesk@[::1]:{switch.local_port}>"
    assert b"c=IN IP6 ::1\r\n" in early.body
    # The switch rings the phone: bracketed Via and Contact, an IPv6 offer.
    switch.execute(RingAgent(arrived.call_id, "agent6", 2, "1001", auto_answer=True))
    invite = await phone.expect_request("INVITE")
    via = invite.headers.get("via") or ""
    assert via.startswith(f"SIP/2.0/UDP [::1]:{switch.local_port};"), via
    assert invite.headers.get("contact") == f"<sip:ringdesk@[::1]:{switch.local_port}>"
    offer = parse_sdp(invite.body)
    assert b"c=IN IP6 ::1\r\n" in invite.body and offer.audio() is not None
    ok = make_response(
        invite,
        200,
        to_tag="agent6tag",
        headers=[
            ("Contact", f"<sip:agent@[::1]:{phone.port}>"),
            ("Content-Type", "application/sdp"),
        ],
        body=sdp(31000, host="::1").encode(),
    )
    phone.send(ok)
    assert await events.wait_for(LegAnswered) == LegAnswered("agent6")
    ack = await phone.expect_request("ACK")
    assert ack.to_addr.tag == "agent6tag"
    agent_remote = media.endpoints["agent6"].remote
    assert agent_remote is not None and agent_remote.host == "::1"
    phone.close()
    customer.close()


async def test_ipv4_offer_to_an_ipv6_only_switch_gets_488(
    v6: tuple[Switch, FakeMedia], caplog: pytest.LogCaptureFixture
) -> None:
    switch, media = v6
    customer = await Peer("::1").open(("::1", switch.local_port))
    with caplog.at_level(logging.WARNING, logger="ringdesk.switch"):
        customer.request(
            "INVITE", "sip:5550100@[::1]", call_id="v4offer", body=sdp(30000, host="127.0.0.1")
        )
        resp = await customer.expect_response(488)
    assert "IPv4" in resp.reason
    assert media.endpoints == {}
    assert len([r for r in caplog.records if "488" in r.getMessage()]) == 1
    customer.close()


async def test_ipv6_offer_to_a_v4_only_server_with_real_media_gets_488(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The real MediaServer on 127.0.0.1: no endpoint is opened, one line is logged, nothing
    per packet (the caller's RTP never reaches a leg)."""
    switch = await _switch(tmp_path, "127.0.0.1", None)
    customer = await Peer().open(("127.0.0.1", switch.local_port))
    try:
        with caplog.at_level(logging.DEBUG, logger="ringdesk"):
            customer.request(
                "INVITE",
                "sip:5550100@127.0.0.1",
                call_id="v6offer",
                body=sdp(30000, host="::1"),
            )
            resp = await customer.expect_response(488)
            await asyncio.sleep(0.3)
        assert "IPv6" in resp.reason
        assert switch.media is not None and len(switch.media) == 0  # type: ignore[arg-type]
        assert switch.legs == {}
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "IPv6" in warnings[0].getMessage()
        assert not any(r.exc_info for r in caplog.records)
    finally:
        customer.close()
        await switch.stop()


async def test_dual_stack_bind_answers_both_families_in_their_own_address(
    tmp_path: Path,
) -> None:
    switch = await _switch(tmp_path, "::", FakeMedia())
    port = switch.local_port
    v4 = await Peer("127.0.0.1").open(("127.0.0.1", port))
    v6 = await Peer("::1").open(("::1", port))
    try:
        for peer, ruri in ((v4, f"sip:127.0.0.1:{port}"), (v6, f"sip:[::1]:{port}")):
            peer.request("OPTIONS", ruri, call_id=f"opt-{peer.host}")
            await peer.expect_response(200)
        events = events_of(switch)
        for peer, host, ip in ((v4, "127.0.0.1", "IP4"), (v6, "::1", "IP6")):
            peer.request(
                "INVITE",
                f"sip:5550100@{peer.uri_host}",
                call_id=f"in-{host}",
                body=sdp(30000 if ip == "IP4" else 30002, host=host),
            )
            await peer.expect_response(100)
            arrived = await events.wait_for(CallArrived)
            assert isinstance(arrived, CallArrived)
            switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
            early = await peer.expect_response(183)
            # Each peer is told our address in its own family (the routed one toward it).
            assert early.headers.get("contact") == f"<sip:ringdesk@{peer.uri_host}:{port}>"
            assert f"c=IN {ip} {host}\r\n".encode() in early.body
        # TCP listens on both families too.
        for host in ("127.0.0.1", "::1"):
            _reader, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
    finally:
        v4.close()
        v6.close()
        await switch.stop()


async def test_exhausted_rtp_range_answers_503_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One even pair in the range: the first caller gets it, the second a 503 and one log
    line, and the first call is untouched."""
    low = free_udp_port(even=True)
    media = MediaServer("127.0.0.1", port_range=(low, low + 2))
    switch = Switch(
        "127.0.0.1",
        0,
        directory=FakeDirectory(tmp_path),
        sink=Events(),
        data_dir=tmp_path,
        media=media,
    )
    await switch.start()
    first, second = await Peer().open(("127.0.0.1", switch.local_port)), None
    try:
        events = events_of(switch)
        first.request("INVITE", "sip:5550100@127.0.0.1", call_id="ports-1", body=sdp(30000))
        arrived = await events.wait_for(CallArrived)
        assert isinstance(arrived, CallArrived)
        assert media.endpoint(arrived.leg_id).port == low
        second = await Peer().open(("127.0.0.1", switch.local_port))
        with caplog.at_level(logging.WARNING, logger="ringdesk"):
            second.request("INVITE", "sip:5550100@127.0.0.1", call_id="ports-2", body=sdp(30002))
            await second.expect_response(503)
        lines = [r for r in caplog.records if "no RTP port" in r.getMessage()]
        assert len(lines) == 1 and not any(r.exc_info for r in caplog.records)
        assert arrived.leg_id in switch.legs and len(media) == 1
    finally:
        first.close()
        if second is not None:
            second.close()
        await switch.stop()


def test_an_ipv4_mapped_source_is_named_as_its_ipv4_address() -> None:
    assert unmapped(("::ffff:10.201.10.130", 5060)) == ("10.201.10.130", 5060)
    assert unmapped(("10.201.10.130", 5060)) == ("10.201.10.130", 5060)
    assert unmapped(("fd00::2", 5060)) == ("fd00::2", 5060)
    # The gate trusts, limits and bans an IPv4 peer of a '::' socket by its IPv4 address.
    gate = Gate(GateSettings())
    gate.set_trunk(["10.201.10.130"], 5060)
    assert gate.trusted(("::ffff:10.201.10.130", 5060))
    gate.ban("192.0.2.9", "test", 0.0)
    assert not gate.admit(("::ffff:192.0.2.9", 5060), b"INVITE", 1.0)


async def test_dual_stack_switch_trusts_an_ipv4_trunk_source_by_its_ipv4_address(
    tmp_path: Path,
) -> None:
    """On '::' the kernel names an IPv4 peer ::ffff:a.b.c.d: a trunk source listed as
    127.0.0.1 is still the trunk (no 403), Via's received names it as itself, and what we send
    back to it (plain IPv4 above the transport) still reaches it."""
    directory = FakeDirectory(tmp_path)
    directory.trunk_settings = TrunkSettings(host="192.0.2.50", sources=("127.0.0.1",))
    switch = Switch(
        "::",
        0,
        directory=directory,
        sink=Events(),
        data_dir=tmp_path,
        media=FakeMedia(),
        addresses=Addresses("::"),
        media_addresses=Addresses("::"),
    )
    await switch.start()
    carrier = await Peer("127.0.0.1").open(("127.0.0.1", switch.local_port))
    try:
        carrier.request("INVITE", "sip:5550100@127.0.0.1", call_id="mapped-trunk", body=sdp(30000))
        trying = await carrier.expect_response(100)
        assert "ffff" not in (trying.headers.get("via") or "")
        arrived = await events_of(switch).wait_for(CallArrived)
        assert isinstance(arrived, CallArrived)
        leg = switch.legs[arrived.leg_id]
        assert leg.peer[0] == "127.0.0.1"
        switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
        early = await carrier.expect_response(183)
        assert b"c=IN IP4 127.0.0.1\r\n" in early.body
    finally:
        carrier.close()
        await switch.stop()


def test_a_dual_stack_stack_sends_to_a_plain_ipv4_address_under_uvloop() -> None:
    """The server runs on uvloop, whose sendto on an IPv6 socket refuses ('127.0.0.1', port)
    (ValueError: socket family mismatch, not an OSError): the stack hands the transport the
    IPv4-mapped form, so a trunk or phone named by its IPv4 address is reached from '::'."""

    async def run() -> bytes:
        stack = SipStack("::", 0, RequestHandler())
        await stack.start()
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        try:
            port = peer.getsockname()[1]
            options = parse_message(
                f"OPTIONS sip:{port}@127.0.0.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP [::]:{stack.port};branch=z9hG4bKplain4\r\n"
                "From: <sip:ringdesk@ringdesk.local>;tag=a\r\nTo: <sip:x@127.0.0.1>\r\n"
                "Call-ID: plain4\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".encode()
            )
            assert isinstance(options, Request)
            stack.send_stateless(options, ("127.0.0.1", port), "udp")
            loop = asyncio.get_running_loop()
            return await asyncio.wait_for(loop.sock_recv(peer, 65535), 5)
        finally:
            peer.close()
            await stack.stop()

    assert uvloop.run(run()).startswith(b"OPTIONS sip:")


@pytest.mark.parametrize("tp", ["tcp", "tls"])
async def test_a_dual_stack_stack_answers_an_ipv4_peer_on_its_own_connection(
    tmp_path: Path, tp: str
) -> None:
    """An IPv4 phone's accepted TCP or TLS connection to '::' (TLS listens on one dual-stack
    socket, so the transport keys that connection by the mapped address), while the stack
    names the phone by its IPv4 address: a request to that address goes over the phone's own
    connection (reuse, as for a phone behind NAT), not a new dial that would fail."""
    seen: list[tuple[str, int]] = []

    class Handler(RequestHandler):
        def on_request(
            self, req: Request, txn: ServerTransaction | None, src: Address, tp: str
        ) -> None:
            seen.append(src)

    cert = tls.certificate(tmp_path, None, None, ["localhost", "127.0.0.1"])
    stack = SipStack("::", 0, Handler(), tls=tls.context(cert.cert, cert.key))
    await stack.start()
    port = stack.port_for(tp)
    client = ssl.create_default_context(cafile=str(cert.cert)) if tp == "tls" else None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
    try:
        mine = writer.get_extra_info("sockname")[1]
        writer.write(
            f"OPTIONS sip:ringdesk@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{tp.upper()} 127.0.0.1:{mine};branch=z9hG4bKconn4\r\n"
            "From: <sip:1001@ringdesk.local>;tag=p\r\nTo: <sip:ringdesk@ringdesk.local>\r\n"
            "Call-ID: conn4\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".encode()
        )
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert seen == [("127.0.0.1", mine)]  # named as itself, not ::ffff:127.0.0.1
        ping = parse_message(
            f"OPTIONS sip:1001@127.0.0.1:{mine};transport={tp} SIP/2.0\r\n"
            f"Via: SIP/2.0/{tp.upper()} [::]:{port};branch=z9hG4bKback4\r\n"
            "From: <sip:ringdesk@ringdesk.local>;tag=s\r\nTo: <sip:1001@ringdesk.local>\r\n"
            "Call-ID: back4\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".encode()
        )
        assert isinstance(ping, Request)
        stack.send_stateless(ping, seen[0], tp)
        data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert data.startswith(b"OPTIONS sip:1001@127.0.0.1")
    finally:
        writer.close()
        await stack.stop()


async def test_a_dual_stack_switch_reaches_a_trunk_whose_name_has_ipv4_addresses(
    tmp_path: Path,
) -> None:
    """Bound to '::', a trunk host name is looked up for both families: `localhost` (only
    127.0.0.1 in this machine's /etc/hosts) was 'Name or service not known' for IPv6 alone,
    so every call to an IPv4-only provider named by DNS failed on a dual-stack server."""
    directory = FakeDirectory(tmp_path)
    switch = Switch(
        "::",
        0,
        directory=directory,
        sink=Events(),
        data_dir=tmp_path,
        media=FakeMedia(),
        addresses=Addresses("::"),
        media_addresses=Addresses("::"),
    )
    await switch.start()
    trunk = await Peer("127.0.0.1").open(("127.0.0.1", switch.local_port))
    try:
        assert "127.0.0.1" in await switch.state.resolver.resolve("localhost")
        directory.trunk_settings = TrunkSettings(host="localhost", port=trunk.port)
        switch.execute(Originate("c1", "out-1", "5551234", "5550199"))
        invite = await trunk.expect_request("INVITE")
        assert invite.uri.host == "localhost"
        assert "ffff" not in (invite.headers.get("via") or "")
    finally:
        trunk.close()
        await switch.stop()
