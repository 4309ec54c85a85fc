"""SRTP legs on the real MediaServer over UDP loopback: the test's phones protect and check
their packets with libsrtp (pylibsrtp) themselves, with the keys an SDES exchange would give."""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pylibsrtp
import pytest

from ringdesk.media import g711, sounds
from ringdesk.media.api import RemoteMedia, SrtpKeys
from ringdesk.media.endpoint import Endpoint
from ringdesk.media.rtp import RtpPacket, parse_rtp
from ringdesk.media.server import MediaServer
from ringdesk.media.srtp import PROFILES

from .rtp_peer import WAIT, RtpPeer
from .test_rtcp import open_rtcp, phone_pair
from .test_server import assert_continuous, payload, tone_wav

SIZES = {
    "AES_CM_128_HMAC_SHA1_80": 30,
    "AES_CM_128_HMAC_SHA1_32": 30,
    "AEAD_AES_128_GCM": 28,
    "AEAD_AES_256_GCM": 44,
}


def session(suite: str, key: bytes, outbound: bool) -> pylibsrtp.Session:
    ssrc = pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
    policy = pylibsrtp.Policy(key=key, ssrc_type=ssrc, srtp_profile=PROFILES[suite])
    return pylibsrtp.Session(policy)


class SrtpPhone(RtpPeer):
    """A phone speaking SRTP: its key protects what it sends, the switch's key checks what it
    gets; `raw` keeps the packets as they came over the wire."""

    def __init__(self, suite: str = "AES_CM_128_HMAC_SHA1_80") -> None:
        super().__init__()
        self.suite = suite
        self.key = secrets.token_bytes(SIZES[suite])  # the phone's (in its SDP)
        self.switch_key = secrets.token_bytes(SIZES[suite])  # the switch's (in our SDP)
        self.tx = session(suite, self.key, outbound=True)
        self.rx = session(suite, self.switch_key, outbound=False)
        self.rejected = 0

    @classmethod
    async def open_srtp(cls, suite: str = "AES_CM_128_HMAC_SHA1_80") -> SrtpPhone:
        phone = cls(suite)
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: phone, local_addr=("127.0.0.1", 0)
        )
        return phone

    def keys(self) -> SrtpKeys:
        """The leg's keys as the switch holds them."""
        return SrtpKeys(self.suite, send_key=self.switch_key, receive_key=self.key)

    def remote(self, payload_type: int = 0, te: int | None = 101) -> RemoteMedia:
        return RemoteMedia("127.0.0.1", self.port, payload_type, te, srtp=self.keys())

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.raw.append(data)
        self.sources.append(addr)
        try:
            plain = self.rx.unprotect(data)
        except pylibsrtp.Error:
            self.rejected += 1
            return
        self.packets.append(parse_rtp(plain))

    def send(
        self, port: int, payload: bytes, *, pt: int = 0, marker: bool = False, step: int = 160
    ) -> RtpPacket:
        packet = RtpPacket(pt, self.seq, self.ts, self.ssrc, payload, marker=marker)
        self.last_wire = self.tx.protect(packet.build())
        self.send_raw(self.last_wire, port)
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + step) & 0xFFFFFFFF
        return packet


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    server = MediaServer("127.0.0.1")
    yield server
    await server.close()


async def legs(media: MediaServer, a: RtpPeer, b: RtpPeer) -> tuple[Endpoint, Endpoint]:
    leg_a, leg_b = await media.open_endpoint("a"), await media.open_endpoint("b")
    leg_a.set_remote(a.remote())
    leg_b.set_remote(b.remote())
    media.bridge("a", "b")
    return leg_a, leg_b


async def test_an_srtp_leg_and_a_plain_leg_hear_each_other_frame_for_frame(
    media: MediaServer,
) -> None:
    phone, plain = await SrtpPhone.open_srtp(), await RtpPeer.open()
    try:
        leg_a, leg_b = await legs(media, phone, plain)
        sent = [phone.send(leg_a.port, payload(i)) for i in range(20)]
        got = await plain.wait_for(20)
        assert [p.payload for p in got] == [p.payload for p in sent]  # decrypted, intact
        assert_continuous(got)
        assert plain.raw[0][12:] == payload(0)  # the plain leg gets plain RTP
        assert phone.last_wire[12:172] != payload(19)  # what the phone sent was encrypted

        back = [plain.send(leg_b.port, payload(100 + i)) for i in range(20)]
        heard = await phone.wait_for(20)
        assert [p.payload for p in heard] == [p.payload for p in back]
        assert_continuous(heard)
        assert phone.rejected == 0
        # On the wire to the phone: ciphertext plus the 80-bit tag, not the plain payload.
        assert all(len(raw) == 12 + 160 + 10 for raw in phone.raw)
        assert all(payload(100 + i) not in raw for i, raw in enumerate(phone.raw))
        assert leg_a.received == 20 and leg_a.srtp_rejected == 0
    finally:
        phone.close()
        plain.close()


@pytest.mark.parametrize(
    ("suite_a", "suite_b"),
    [
        ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"),
        ("AEAD_AES_128_GCM", "AEAD_AES_256_GCM"),
    ],
)
async def test_two_srtp_legs_with_their_own_keys_and_suites(
    media: MediaServer, suite_a: str, suite_b: str
) -> None:
    a, b = await SrtpPhone.open_srtp(suite_a), await SrtpPhone.open_srtp(suite_b)
    try:
        leg_a, leg_b = await legs(media, a, b)
        b.ssrc = 0x99887766
        sent_a = [a.send(leg_a.port, payload(i)) for i in range(10)]
        sent_b = [b.send(leg_b.port, payload(50 + i)) for i in range(10)]
        assert [p.payload for p in await b.wait_for(10)] == [p.payload for p in sent_a]
        assert [p.payload for p in await a.wait_for(10)] == [p.payload for p in sent_b]
        assert a.rejected == b.rejected == 0
    finally:
        a.close()
        b.close()


async def test_forged_replayed_and_unkeyed_packets_are_dropped_counted_and_logged_once(
    media: MediaServer, caplog: pytest.LogCaptureFixture
) -> None:
    phone, plain = await SrtpPhone.open_srtp(), await RtpPeer.open()
    attacker = await RtpPeer.open()
    try:
        leg_a, _ = await legs(media, phone, plain)
        phone.send(leg_a.port, payload(1))
        await plain.wait_for(1)
        caplog.set_level(logging.WARNING, logger="ringdesk.media.srtp")
        replay = phone.last_wire
        forged = bytearray(replay)
        forged[20] ^= 0x01  # one bit of the ciphertext: the tag no longer matches
        for _ in range(30):
            phone.send_raw(replay, leg_a.port)  # a replay of a packet already taken
            phone.send_raw(bytes(forged), leg_a.port)
            attacker.send(leg_a.port, payload(7))  # plain RTP from someone without the key
        deadline = time.monotonic() + WAIT
        while leg_a.srtp_rejected < 90:
            assert time.monotonic() < deadline, leg_a.srtp_rejected
            await asyncio.sleep(0.01)
        phone.send(leg_a.port, payload(2))  # the real phone goes on undisturbed
        got = await plain.wait_for(2)
        await asyncio.sleep(0.05)
        assert [p.payload for p in got] == [payload(1), payload(2)]
        assert leg_a.received == 2  # only authenticated packets count as the leg's media
        assert leg_a.address == ("127.0.0.1", phone.port)
        warnings = [r for r in caplog.records if r.name == "ringdesk.media.srtp"]
        # One line per kind of failure (replay, bad tag), not one per packet.
        assert 1 <= len(warnings) <= 3, [r.getMessage() for r in warnings]
        assert all("leg a" in r.getMessage() for r in warnings)
        caplog.set_level(logging.INFO, logger="ringdesk.media.server")
        media.close_endpoint("a")  # and the leg's total when it ends
        assert "leg a ended: 90 SRTP/SRTCP packets from it dropped" in caplog.text
    finally:
        for peer in (phone, plain, attacker):
            peer.close()


async def test_only_an_authenticated_packet_latches_the_legs_address(
    media: MediaServer,
) -> None:
    phone, plain = await SrtpPhone.open_srtp(), await RtpPeer.open()
    attacker = await RtpPeer.open()
    try:
        leg_a, leg_b = await media.open_endpoint("a"), await media.open_endpoint("b")
        # No usable address in the SDP (a host name, 0.0.0.0): the leg's address is learned.
        leg_a.set_remote(RemoteMedia("0.0.0.0", phone.port, 0, 101, srtp=phone.keys()))
        leg_b.set_remote(plain.remote())
        media.bridge("a", "b")
        attacker.send(leg_a.port, payload(1))
        await asyncio.sleep(0.05)
        assert leg_a.address is None and leg_a.srtp_rejected == 1
        phone.send(leg_a.port, payload(2))
        await plain.wait_for(1)
        assert leg_a.address == ("127.0.0.1", phone.port)
        plain.send(leg_b.port, payload(3))
        assert [p.payload for p in await phone.wait_for(1)] == [payload(3)]
        assert attacker.packets == []
    finally:
        for peer in (phone, plain, attacker):
            peer.close()


async def test_music_to_an_srtp_leg_is_protected_and_the_recording_is_plain(
    media: MediaServer, tmp_path: Path
) -> None:
    phone, plain = await SrtpPhone.open_srtp(), await RtpPeer.open()
    try:
        leg_a, _ = await legs(media, phone, plain)
        path = tmp_path / "call.wav"
        media.start_recording("a", "b", path)
        level = g711.encode(struct.pack("<160h", *([3000] * 160)), 0)
        for _ in range(10):
            phone.send(leg_a.port, level)
        await plain.wait_for(10)
        media.unbridge("a")  # closes the recording
        with wave.open(str(path), "rb") as reader:
            frames = reader.readframes(reader.getnframes())
        left = struct.unpack(f"<{len(frames) // 2}h", frames)[0::2]
        assert left.count(struct.unpack("<h", g711.decode(level[:1], 0))[0]) == 1600

        sound = tone_wav(tmp_path / "music.wav", 6)
        done = asyncio.Event()
        media.play("a", sound, on_done=done.set)
        await asyncio.wait_for(done.wait(), WAIT)
        played = await phone.wait_for(6)
        assert [p.payload for p in played] == list(
            sounds.to_frames(sounds.read_wav(sound.read_bytes()), 0)
        )
        assert_continuous(played)
        assert phone.rejected == 0
    finally:
        phone.close()
        plain.close()


async def test_srtcp_is_checked_rewritten_and_protected_again(media: MediaServer) -> None:
    phone_a, rtcp_a = await phone_pair()
    phone_b = await RtpPeer.open()
    rtcp_b = await open_rtcp()
    suite = "AES_CM_128_HMAC_SHA1_80"
    key_a, switch_key = secrets.token_bytes(30), secrets.token_bytes(30)
    tx = session(suite, key_a, outbound=True)
    rx = session(suite, switch_key, outbound=False)
    try:
        leg_a, leg_b = await media.open_endpoint("a"), await media.open_endpoint("b")
        leg_a.set_remote(
            RemoteMedia("127.0.0.1", phone_a.port, 0, 101, srtp=SrtpKeys(suite, switch_key, key_a))
        )
        leg_b.set_remote(RemoteMedia("127.0.0.1", phone_b.port, 0, 101, rtcp_port=rtcp_b.port))
        media.bridge("a", "b")
        first = RtpPacket(0, 1, 160, phone_a.ssrc, payload(1)).build()
        phone_a.send_raw(tx.protect(first), leg_a.port)
        from_a = (await phone_b.wait_for(1))[0]

        receiver_report = struct.pack("!BBHI", 0x80, 201, 1, phone_a.ssrc)
        rtcp_a.send(tx.protect_rtcp(receiver_report), leg_a.port + 1)
        (got,) = await rtcp_b.wait_for(1)  # plain RTCP on the plain leg, SSRC mapped
        assert len(got) == 8 and struct.unpack_from("!I", got, 4)[0] == from_a.ssrc
        rtcp_a.send(receiver_report, leg_a.port + 1)  # plain RTCP on an SRTP leg: dropped
        await asyncio.sleep(0.05)
        assert len(rtcp_b.received) == 1 and leg_a.rtcp_in == 1

        rtcp_b.send(struct.pack("!BBHI", 0x80, 201, 1, 0x55667788), leg_b.port + 1)
        (back,) = await rtcp_a.wait_for(1)
        assert len(back) > 8  # SRTCP: index and tag appended
        plain_back = rx.unprotect_rtcp(back)
        assert plain_back[:2] == b"\x80\xc9" and len(plain_back) == 8
    finally:
        for peer in (phone_a, rtcp_a, phone_b, rtcp_b):
            peer.close()


async def test_a_new_key_from_a_reinvite_replaces_only_that_direction(
    media: MediaServer,
) -> None:
    phone, plain = await SrtpPhone.open_srtp(), await RtpPeer.open()
    try:
        leg_a, leg_b = await legs(media, phone, plain)
        phone.send(leg_a.port, payload(1))
        plain.send(leg_b.port, payload(2))
        await plain.wait_for(1)
        await phone.wait_for(1)
        srtp = leg_a.srtp
        assert srtp is not None
        outbound = srtp._out
        # The phone re-keys (a re-INVITE with a new a=crypto); our key stays the same.
        old_tx = phone.tx
        phone.key = secrets.token_bytes(30)
        phone.tx = session(phone.suite, phone.key, outbound=True)
        leg_a.set_remote(phone.remote())
        assert leg_a.srtp is srtp and srtp._out is outbound  # our stream's session goes on
        phone.send(leg_a.port, payload(3))
        await plain.wait_for(2)
        phone.tx = old_tx  # the old key no longer gets in
        phone.send(leg_a.port, payload(4))
        await asyncio.sleep(0.05)
        assert [p.payload for p in plain.packets] == [payload(1), payload(3)]
        assert leg_a.srtp_rejected == 1
        plain.send(leg_b.port, payload(5))
        assert [p.payload for p in await phone.wait_for(2)] == [payload(2), payload(5)]
        # A re-INVITE back to plain RTP: plain both ways from then on.
        leg_a.set_remote(RemoteMedia("127.0.0.1", phone.port, 0, 101))
        assert leg_a.srtp is None
        plain.send(leg_b.port, payload(6))
        await asyncio.sleep(0.05)
        assert phone.raw[-1][12:] == payload(6)
    finally:
        phone.close()
        plain.close()
