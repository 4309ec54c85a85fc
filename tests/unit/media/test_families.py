"""The media server and IPv6: a dual-stack server on '::' relays between an IPv4 and an IPv6
leg; a v4-only server given an IPv6 address sends nothing and raises nothing, per packet; a
send that fails is logged once per leg and then counted; the port range runs out cleanly."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import struct
import wave
from pathlib import Path

import pytest
import uvloop

from ringdesk.media.api import RemoteMedia
from ringdesk.media.endpoint import for_socket
from ringdesk.media.server import MediaServer, PortsExhausted

from .rtp_peer import RtpPeer


def test_for_socket_maps_ipv4_on_a_dual_stack_socket() -> None:
    assert for_socket("192.0.2.7", 4000, socket.AF_INET6) == ("::ffff:192.0.2.7", 4000)
    assert for_socket("2001:db8::7", 4000, socket.AF_INET6) == ("2001:db8::7", 4000)
    assert for_socket("192.0.2.7", 4000, socket.AF_INET) == ("192.0.2.7", 4000)
    assert for_socket("::ffff:192.0.2.7", 4000, socket.AF_INET) == ("192.0.2.7", 4000)
    assert for_socket("2001:db8::7", 4000, socket.AF_INET) is None


async def test_dual_stack_server_relays_between_an_ipv4_and_an_ipv6_leg() -> None:
    media = MediaServer("::")
    v4, v6 = await RtpPeer.open("127.0.0.1"), await RtpPeer.open("::1")
    try:
        leg4 = await media.open_endpoint("v4")
        leg6 = await media.open_endpoint("v6")
        leg4.set_remote(v4.remote())
        leg6.set_remote(v6.remote())
        media.bridge("v4", "v6")
        sent4 = [v4.send(leg4.port, bytes([n]) * 160) for n in range(5)]
        sent6 = [v6.send(leg6.port, bytes([100 + n]) * 160) for n in range(5)]
        got6 = await v6.wait_for(5)
        got4 = await v4.wait_for(5)
        assert [p.payload for p in got6] == [p.payload for p in sent4]
        assert [p.payload for p in got4] == [p.payload for p in sent6]
        # Each leg hears us from our socket in its own family.
        assert v4.sources[0][0] == "127.0.0.1" and v6.sources[0][0] == "::1"
        assert leg4.errors == leg6.errors == 0
    finally:
        v4.close()
        v6.close()
        await media.close()


async def test_ipv6_remote_on_a_v4_server_sends_nothing_and_logs_nothing_per_packet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    media = MediaServer("127.0.0.1")
    caller = await RtpPeer.open("127.0.0.1")
    try:
        leg = await media.open_endpoint("v6-leg")
        other = await media.open_endpoint("other")
        leg.set_remote(RemoteMedia("::1", 40000, 0, 101))
        other.set_remote(caller.remote())
        media.bridge("v6-leg", "other")
        assert leg.address is None  # nothing to send to on this socket
        wav = tmp_path / "music.wav"
        _tone(wav)
        with caplog.at_level(logging.DEBUG, logger="ringdesk.media"):
            media.play("v6-leg", wav, loop=True)
            for n in range(20):  # relay toward the v6 leg as well
                caller.send(other.port, bytes([n]) * 160)
            await asyncio.sleep(0.5)
        assert leg.sent == 0 and leg.errors == 0
        assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
        assert not any(r.exc_info for r in caplog.records)
    finally:
        caller.close()
        await media.close()


async def test_a_failing_send_is_logged_once_per_leg_then_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    media = MediaServer("127.0.0.1")
    a, b = await RtpPeer.open(), await RtpPeer.open()
    try:
        leg_a = await media.open_endpoint("a")
        leg_b = await media.open_endpoint("b")
        leg_a.set_remote(a.remote())
        leg_b.set_remote(b.remote())
        media.bridge("a", "b")
        leg_b.address = ("::1", b.port)  # what the old code sent to: a family mismatch
        with caplog.at_level(logging.WARNING, logger="ringdesk.media"):
            for n in range(30):
                a.send(leg_a.port, bytes([n]) * 160)
            for _ in range(200):
                if leg_b.errors >= 30:
                    break
                await asyncio.sleep(0.01)
        assert leg_b.errors == 30
        lines = [r for r in caplog.records if "leg b" in r.getMessage()]
        assert len(lines) == 1 and not lines[0].exc_info
    finally:
        a.close()
        b.close()
        await media.close()


async def test_port_range_exhausted_raises_a_clear_error() -> None:
    media = MediaServer("127.0.0.1", port_range=(42000, 42004))  # two even pairs
    try:
        first = await media.open_endpoint("1")
        second = await media.open_endpoint("2")
        assert {first.port, second.port} == {42000, 42002}
        with pytest.raises(PortsExhausted, match="42000-42004"):
            await media.open_endpoint("3")
        media.close_endpoint("1")
        await asyncio.sleep(0.05)  # the loop closes the sockets on its next turn
        assert (await media.open_endpoint("4")).port == first.port
    finally:
        await media.close()


def _tone(path: Path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(i / 8000 * 2 * math.pi * 440)))
                for i in range(1600)
            )
        )


def test_a_failing_send_under_uvloop_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """The server runs on uvloop, whose sendto raises at once (ValueError: socket family
    mismatch) where asyncio's reports later: the same single line and count."""

    async def run() -> int:
        media = MediaServer("127.0.0.1")
        a, b = await RtpPeer.open(), await RtpPeer.open()
        try:
            leg_a = await media.open_endpoint("a")
            leg_b = await media.open_endpoint("b")
            leg_a.set_remote(a.remote())
            leg_b.set_remote(b.remote())
            media.bridge("a", "b")
            leg_b.address = ("::1", b.port)
            for n in range(30):
                a.send(leg_a.port, bytes([n]) * 160)
            for _ in range(200):
                if leg_b.errors >= 30:
                    break
                await asyncio.sleep(0.01)
            return leg_b.errors
        finally:
            a.close()
            b.close()
            await media.close()

    with caplog.at_level(logging.WARNING, logger="ringdesk.media"):
        assert uvloop.run(run()) == 30
    lines = [r for r in caplog.records if "leg b" in r.getMessage()]
    assert len(lines) == 1 and not lines[0].exc_info
