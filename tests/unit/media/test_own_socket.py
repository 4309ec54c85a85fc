"""A leg's own connected socket and the relay's short path (media/endpoint.py), on loopback."""

from __future__ import annotations

import asyncio
import errno
import socket
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import uvloop

from ringdesk.media.api import RemoteMedia
from ringdesk.media.endpoint import RELATCH_PACKETS, Endpoint
from ringdesk.media.rtp import RtpPacket, parse_rtp
from ringdesk.media.server import MediaServer

from .rtp_peer import RtpPeer
from .test_server import assert_continuous, bridged, payload


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    server = MediaServer("127.0.0.1")
    yield server
    await server.close()


@pytest.fixture
async def peers() -> AsyncIterator[tuple[RtpPeer, RtpPeer]]:
    a, b = await RtpPeer.open(), await RtpPeer.open()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def long_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """The sources of the packets that took the long path (datagram_received)."""
    seen: list[tuple[str, int]] = []
    original = Endpoint.datagram_received

    def counting(self: Endpoint, data: bytes, addr: tuple[str, int]) -> None:
        seen.append((addr[0], addr[1]))
        original(self, data, addr)

    monkeypatch.setattr(Endpoint, "datagram_received", counting)
    yield seen


def address(peer: RtpPeer) -> tuple[str, int]:
    return (peer.host, peer.port)


async def test_a_settled_leg_is_relayed_on_its_own_socket_by_the_short_path(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], long_path: list[tuple[str, int]]
) -> None:
    a, b = peers
    port_a, port_b = await bridged(media, a, b)
    leg_a, leg_b = media.endpoint("a"), media.endpoint("b")
    # Connected as soon as the SDP named the phones: the kernel says so too.
    assert leg_a.own_peer == address(a) and leg_b.own_peer == address(b)
    assert leg_a._own is not None and leg_a._own.getpeername() == address(a)
    for i in range(10):
        a.send(port_a, payload(i))
        await b.wait_for(i + 1)
        b.send(port_b, payload(100 + i))
        await a.wait_for(i + 1)
    assert [p.payload for p in b.packets] == [payload(i) for i in range(10)]
    assert [p.payload for p in a.packets] == [payload(100 + i) for i in range(10)]
    assert_continuous(b.packets)
    assert_continuous(a.packets)
    assert b.packets[0].marker and not any(p.marker for p in b.packets[1:])
    # Each direction's first packet starts the stream on the long path; the rest went short,
    # and left from the leg's port, as symmetric RTP wants.
    assert long_path == [address(a), address(b)]
    assert set(b.sources) == {("127.0.0.1", port_b)} and set(a.sources) == {("127.0.0.1", port_a)}
    assert (leg_a.received, leg_b.sent, leg_b.received, leg_a.sent) == (10, 10, 10, 10)


async def test_recording_midway_takes_the_long_path_and_the_stream_stays_one(
    media: MediaServer,
    peers: tuple[RtpPeer, RtpPeer],
    long_path: list[tuple[str, int]],
    tmp_path: Path,
) -> None:
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    for i in range(3):
        a.send(port_a, payload(i))
        await b.wait_for(i + 1)
    media.start_recording("a", "b", tmp_path / "call.wav")
    for i in range(3, 8):
        a.send(port_a, payload(i))
        await b.wait_for(i + 1)
    seconds = media.stop_recording("a")
    for i in range(8, 11):
        a.send(port_a, payload(i))
        await b.wait_for(i + 1)
    assert [p.payload for p in b.packets] == [payload(i) for i in range(11)]
    assert_continuous(b.packets)
    assert long_path.count(address(a)) == 1 + 5  # the first packet, then the recorded ones
    assert seconds > 0
    with wave.open(str(tmp_path / "call.wav"), "rb") as reader:
        assert reader.getnframes() >= 5 * 160


async def test_a_phone_that_moves_gets_its_own_socket_moved_and_the_old_address_is_a_stray(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    a, b = peers
    port_a, port_b = await bridged(media, a, b)
    leg_a = media.endpoint("a")
    a.send(port_a, payload(1))
    await b.wait_for(1)
    moved = await RtpPeer.open()
    try:
        for i in range(RELATCH_PACKETS):
            moved.send(port_a, payload(10 + i))
        await b.wait_for(1 + RELATCH_PACKETS)
        assert leg_a.own_peer == address(moved) and leg_a.relatched == 1
        assert leg_a._own is not None and leg_a._own.getpeername() == address(moved)
        a.send(port_a, payload(2))  # the old address once more: not followed back
        await b.wait_for(2 + RELATCH_PACKETS)
        b.send(port_b, payload(3))
        assert [p.payload for p in await moved.wait_for(1)] == [payload(3)]
        assert leg_a.own_peer == address(moved) and len(a.packets) == 0
    finally:
        moved.close()


async def test_what_waited_on_the_own_socket_when_it_moved_keeps_its_true_source(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    """Packets from the old address still queued on the own socket when it is connected
    elsewhere are read with their real source: a stray then, not the leg's new address."""
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    leg_a = media.endpoint("a")
    a.send(port_a, payload(1))
    await b.wait_for(1)
    a.send(port_a, payload(2))  # queued on the own socket: the loop does not run before the move
    new_source = ("127.0.0.1", 9)
    packet = RtpPacket(0, 7, 160, 4321, payload(3)).build()
    for _ in range(RELATCH_PACKETS):
        leg_a.datagram_received(packet, new_source)  # as the first socket would hand them on
    assert leg_a.own_peer == new_source and leg_a.relatched == 1
    assert leg_a._moved_to == address(a)  # the queued one counted as the old source's


async def test_no_other_socket_can_take_an_endpoint_port(media: MediaServer) -> None:
    """Only our own second socket may share the port: a fresh bind without SO_REUSEPORT (any
    other program, or a second server on the host) is refused, before and after it exists."""
    leg = await media.open_endpoint("a")
    for step in range(2):
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            with pytest.raises(OSError) as refused:
                other.bind(("127.0.0.1", leg.port))
            assert refused.value.errno == errno.EADDRINUSE
        finally:
            other.close()
        if step == 0:
            leg.set_remote(RemoteMedia("127.0.0.1", 40000, 0))
            assert leg.own_peer is not None


def closed_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def on_each_loop(scenario: Callable[[], Awaitable[None]], loop: str) -> None:
    """Run `scenario` on the stdlib loop or on uvloop (which `ringdesk serve` runs on, and whose
    reader stops for good on a descriptor's first error: media/readiness.py)."""
    factory = uvloop.new_event_loop if loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(scenario())


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_phone_not_listening_yet_costs_no_errors_and_is_reached_once_it_is(loop: str) -> None:
    """Sending to a closed port brings ICMP port unreachable, which a connected socket reports
    as ECONNREFUSED on its next call (and as an error condition to whoever watches it): taken
    as 'not there yet', never as a failure, and the leg is still read afterwards."""

    async def scenario() -> None:
        media = MediaServer("127.0.0.1")
        a, b = await RtpPeer.open(), await RtpPeer.open()
        silent_port = closed_port()
        leg_a = await media.open_endpoint("a")
        leg_b = await media.open_endpoint("b")
        leg_a.set_remote(a.remote())
        leg_b.set_remote(RemoteMedia("127.0.0.1", silent_port, 0))
        media.bridge("a", "b")
        try:
            for i in range(6):
                a.send(leg_a.port, payload(i))
                await asyncio.sleep(0.02)
            assert leg_b.errors == 0 and leg_a.errors == 0
            late = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            late.bind(("127.0.0.1", silent_port))
            late.setblocking(False)
            try:
                for i in range(6, 9):
                    a.send(leg_a.port, payload(i))
                    await asyncio.sleep(0.02)
                data = late.recv(2048)
                assert parse_rtp(data).payload in {payload(i) for i in range(6, 9)}
                # and the leg whose sends failed is still heard: the phone talks back
                late.sendto(
                    RtpPacket(0, 1, 160, 99, payload(50)).build(), ("127.0.0.1", leg_b.port)
                )
                assert [p.payload for p in await a.wait_for(1)] == [payload(50)]
            finally:
                late.close()
            assert leg_b.errors == 0
        finally:
            a.close()
            b.close()
            await media.close()

    on_each_loop(scenario, loop)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_phone_whose_old_address_went_dark_is_followed_to_its_new_one(loop: str) -> None:
    """A NAT that lost its mapping: our audio to the old public port draws ICMP errors on the
    leg's own socket, the phone's packets come from a new port; the audio follows both ways."""

    async def scenario() -> None:
        media = MediaServer("127.0.0.1")
        a, b = await RtpPeer.open(), await RtpPeer.open()
        port_a, port_b = await bridged(media, a, b)
        moved = await RtpPeer.open()
        try:
            for i in range(3):
                a.send(port_a, payload(i))
                b.send(port_b, payload(100 + i))
                await asyncio.sleep(0.02)
            await a.wait_for(3)
            a.close()  # the old mapping is gone: what we send there is refused
            for i in range(3, 13):
                b.send(port_b, payload(100 + i))
                await asyncio.sleep(0.01)
                moved.send(port_a, payload(i))
                await asyncio.sleep(0.01)
            assert len(await moved.wait_for(13 - 3 - RELATCH_PACKETS)) >= 13 - 3 - RELATCH_PACKETS
            assert [p.payload for p in await b.wait_for(13)] == [payload(i) for i in range(13)]
            assert media.endpoint("a").own_peer == address(moved)
            assert media.endpoint("b").errors == 0
        finally:
            for peer in (a, b, moved):
                peer.close()
            await media.close()

    on_each_loop(scenario, loop)


async def test_a_browser_leg_has_no_socket_of_its_own(media: MediaServer) -> None:
    leg = await media.open_webrtc_endpoint("w")
    assert leg.open_own is None
