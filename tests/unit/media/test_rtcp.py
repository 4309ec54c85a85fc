"""RTCP: the rewrite of one leg's reports for the other (pure), and the relay between the
bridged legs' RTCP ports over UDP loopback, dropped while a leg hears a sound."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from ringdesk.media import rtcp
from ringdesk.media.api import RemoteMedia
from ringdesk.media.server import MediaServer
from ringdesk.sip.sdp import negotiate, parse_sdp

from .rtp_peer import WAIT, RtpPeer
from .test_server import payload, tone_wav

SENDER = 0x0A0A0A0A


def sender_report(ssrc: int, rtp_ts: int, reports: list[tuple[int, int]]) -> bytes:
    """SR with (reported SSRC, extended highest sequence) blocks, then an SDES CNAME."""
    blocks = b"".join(struct.pack("!IIIIII", s, 0, seq, 0, 0, 0) for s, seq in reports)
    words = (28 + len(blocks)) // 4 - 1
    sr = struct.pack("!BBHIIIIII", 0x80 | len(reports), 200, words, ssrc, 1, 2, rtp_ts, 7, 700)
    cname = b"\x01\x04abcd\x00\x00"  # CNAME "abcd", end, padding to a 32-bit boundary
    sdes = struct.pack("!BBHI", 0x81, 202, (8 + len(cname)) // 4 - 1, ssrc) + cname
    return sr + blocks + sdes


def read_report(data: bytes) -> tuple[int, int, list[tuple[int, int]], int]:
    """(sender SSRC, RTP timestamp, [(reported SSRC, highest seq)], SDES SSRC)."""
    count = data[0] & 0x1F
    ssrc, rtp_ts = struct.unpack_from("!I", data, 4)[0], struct.unpack_from("!I", data, 16)[0]
    blocks = [struct.unpack_from("!IxxxxI", data, 28 + 24 * i) for i in range(count)]
    end = (struct.unpack_from("!H", data, 2)[0] + 1) * 4
    return ssrc, rtp_ts, [(s, q) for s, q in blocks], struct.unpack_from("!I", data, end + 4)[0]


# ---- the rewrite (pure) --------------------------------------------------------------------------


def test_rewrite_maps_ssrcs_and_moves_timestamp_and_sequence() -> None:
    mapping = rtcp.Mapping(
        ssrc={SENDER: 0xB0B0B0B0, 0xC0C0C0C0: 0xD0D0D0D0},
        ts_offset={SENDER: 1000},
        seq_offset={0xC0C0C0C0: -5},
    )
    packet = sender_report(SENDER, 50_000, [(0xC0C0C0C0, 70_010), (0x12345678, 9)])
    out = rtcp.rewrite(packet, mapping)
    assert out is not None and len(out) == len(packet)
    assert read_report(out) == (
        0xB0B0B0B0,
        51_000,
        [(0xD0D0D0D0, 70_005), (0x12345678, 9)],  # an unknown SSRC passes unchanged
        0xB0B0B0B0,
    )
    assert out[8:16] == packet[8:16]  # the NTP time is the sender's


def test_receiver_report_and_bye() -> None:
    rr = struct.pack("!BBHI", 0x81, 201, 7, SENDER) + struct.pack("!IIIIII", 0xC, 0, 3, 0, 0, 0)
    bye = struct.pack("!BBHI", 0x81, 203, 1, SENDER)
    out = rtcp.rewrite(rr + bye, rtcp.Mapping(ssrc={SENDER: 1, 0xC: 2}, seq_offset={0xC: 10}))
    assert out is not None
    assert struct.unpack_from("!I", out, 4)[0] == 1
    assert struct.unpack_from("!I", out, 8)[0] == 2
    assert struct.unpack_from("!I", out, 16)[0] == 13
    assert struct.unpack_from("!I", out, len(rr) + 4)[0] == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\xc8\x00",  # too short
        struct.pack("!BBHI", 0x40, 201, 1, 1),  # version 1
        struct.pack("!BBHI", 0x80, 96, 1, 1),  # an RTP packet type
        struct.pack("!BBHI", 0x80, 201, 9, 1),  # length beyond the datagram
        struct.pack("!BBHI", 0x81, 201, 1, 1),  # one report block announced, none there
        struct.pack("!BBHI", 0x80, 201, 1, 1) + b"\x00",  # not a multiple of 4 bytes
    ],
)
def test_malformed_rtcp_is_refused(data: bytes) -> None:
    assert rtcp.rewrite(data, rtcp.Mapping()) is None


def test_sdp_rtcp_attribute_reaches_the_negotiated_answer() -> None:
    body = (
        "v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\na=rtcp:4567 IN IP4 127.0.0.2\r\n"
    )
    neg = negotiate(parse_sdp(body.encode()), ["PCMU"])
    assert (neg.rtcp_port, neg.rtcp_host) == (4567, "127.0.0.2")
    plain_body = body.replace("a=rtcp:4567 IN IP4 127.0.0.2\r\n", "")
    plain = negotiate(parse_sdp(plain_body.encode()), ["PCMU"])
    assert plain.rtcp_port is None


# ---- the relay over loopback -------------------------------------------------------------------


class RtcpPeer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)

    @property
    def port(self) -> int:
        assert self.transport is not None
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    def send(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, ("127.0.0.1", port))

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} RTCP packets arrived, not {count}")
            await asyncio.sleep(0.005)
        return self.received

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_rtcp(port: int = 0) -> RtcpPeer:
    peer = RtcpPeer()
    await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: peer, local_addr=("127.0.0.1", port)
    )
    return peer


async def phone_pair() -> tuple[RtpPeer, RtcpPeer]:
    """A phone whose RTCP is on its RTP port + 1, as when its SDP has no a=rtcp."""
    for _ in range(50):
        rtcp_peer = await open_rtcp()
        if rtcp_peer.port % 2 == 1:
            rtp_peer = RtpPeer()
            try:
                await asyncio.get_running_loop().create_datagram_endpoint(
                    lambda p=rtp_peer: p, local_addr=("127.0.0.1", rtcp_peer.port - 1)
                )
            except OSError:
                rtcp_peer.close()
                continue
            return rtp_peer, rtcp_peer
        rtcp_peer.close()
    raise AssertionError("no free UDP port pair on loopback")


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    server = MediaServer("127.0.0.1")
    yield server
    await server.close()


def rtcp_port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            return True
    return False


async def test_every_endpoint_binds_its_rtcp_port_and_frees_it(media: MediaServer) -> None:
    endpoint = await media.open_endpoint("a")
    assert endpoint.port % 2 == 0
    assert rtcp_port_in_use(endpoint.port + 1)
    media.close_endpoint("a")
    await asyncio.sleep(0)  # transports close on the next loop turn
    assert not rtcp_port_in_use(endpoint.port + 1)


async def test_rtcp_is_relayed_between_bridged_legs_and_rewritten(media: MediaServer) -> None:
    phone_a, rtcp_a = await phone_pair()  # RTCP on RTP + 1
    phone_b = await RtpPeer.open()
    rtcp_b = await open_rtcp()  # RTCP where its SDP's a=rtcp says
    try:
        leg_a, leg_b = await media.open_endpoint("a"), await media.open_endpoint("b")
        leg_a.set_remote(phone_a.remote())
        leg_b.set_remote(RemoteMedia("127.0.0.1", phone_b.port, 0, 101, rtcp_port=rtcp_b.port))
        media.bridge("a", "b")
        # RTP both ways first: the relay's streams (and so the SSRC mapping) exist.
        phone_a.send(leg_a.port, payload(1))
        phone_b.ssrc = 0x55667788
        phone_b.send(leg_b.port, payload(2))
        from_a = (await phone_b.wait_for(1))[0]
        from_b = (await phone_a.wait_for(1))[0]

        report = sender_report(phone_a.ssrc, phone_a.ts, [(from_b.ssrc, from_b.sequence)])
        rtcp_a.send(report, leg_a.port + 1)
        (got,) = await rtcp_b.wait_for(1)
        sender, rtp_ts, blocks, sdes = read_report(got)
        # B knows A's stream by the SSRC of the RTP it gets, and its own stream by its SSRC.
        assert sender == sdes == from_a.ssrc
        assert blocks == [(0x55667788, phone_b.seq - 1)]
        assert rtp_ts == (from_a.timestamp + 160) & 0xFFFFFFFF  # one frame after that packet

        rtcp_b.send(struct.pack("!BBHI", 0x80, 201, 1, 0x55667788), leg_b.port + 1)
        (back,) = await rtcp_a.wait_for(1)  # to A's RTP port + 1: nothing in its SDP
        assert struct.unpack_from("!I", back, 4)[0] == from_b.ssrc
    finally:
        for peer in (phone_a, rtcp_a, phone_b, rtcp_b):
            peer.close()


async def test_rtcp_is_dropped_while_a_leg_hears_a_sound(
    media: MediaServer, tmp_path: Path
) -> None:
    phone_a, rtcp_a = await phone_pair()
    phone_b, rtcp_b = await phone_pair()
    try:
        leg_a, leg_b = await media.open_endpoint("a"), await media.open_endpoint("b")
        leg_a.set_remote(phone_a.remote())
        leg_b.set_remote(phone_b.remote())
        media.bridge("a", "b")
        rr = struct.pack("!BBHI", 0x80, 201, 1, phone_a.ssrc)
        rtcp_a.send(rr, leg_a.port + 1)
        await rtcp_b.wait_for(1)  # bridged: relayed

        media.play("b", tone_wav(tmp_path / "hold.wav", 200), loop=True)  # B hears music
        await phone_b.wait_for(3)
        for _ in range(3):
            rtcp_a.send(rr, leg_a.port + 1)
            rtcp_b.send(struct.pack("!BBHI", 0x80, 201, 1, 7), leg_b.port + 1)
        deadline = time.monotonic() + 2.0
        while leg_a.rtcp_in < 4 or leg_b.rtcp_in < 3:  # they did reach the switch
            assert time.monotonic() < deadline, (leg_a.rtcp_in, leg_b.rtcp_in)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert len(rtcp_b.received) == 1 and rtcp_a.received == []

        media.bridge("a", "b")  # back from hold: reports flow again
        rtcp_a.send(rr, leg_a.port + 1)
        await rtcp_b.wait_for(2)
    finally:
        for peer in (phone_a, rtcp_a, phone_b, rtcp_b):
            peer.close()


async def test_rtcp_address_is_learnt_when_the_sdp_has_none(media: MediaServer) -> None:
    phone_a, rtcp_a = await phone_pair()
    phone_b = await RtpPeer.open()
    rtcp_b = await open_rtcp()
    try:
        leg_a, leg_b = await media.open_endpoint("a"), await media.open_endpoint("b")
        leg_a.set_remote(phone_a.remote())
        leg_b.set_remote(RemoteMedia("0.0.0.0", 0, 0, 101))  # nothing usable: latch
        media.bridge("a", "b")
        rtcp_b.send(struct.pack("!BBHI", 0x80, 201, 1, 9), leg_b.port + 1)  # B speaks first
        await rtcp_a.wait_for(1)
        rtcp_a.send(struct.pack("!BBHI", 0x80, 201, 1, 8), leg_a.port + 1)
        await rtcp_b.wait_for(1)  # answered where B's RTCP came from
        assert leg_b.rtcp_out == 1
    finally:
        for peer in (phone_a, rtcp_a, phone_b, rtcp_b):
            peer.close()
