"""A fake RTP phone for the loopback tests: a plain asyncio UDP socket that records arrivals."""

from __future__ import annotations

import asyncio
import time
from typing import cast

from ringdesk.media.api import RemoteMedia
from ringdesk.media.rtp import RtpPacket, parse_rtp

WAIT = 10.0  # generous: the tests run on a loaded 2-core machine


class RtpPeer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.packets: list[RtpPacket] = []
        self.raw: list[bytes] = []
        self.sources: list[tuple[str, int]] = []
        self.seq = 1000
        self.ts = 50000
        self.ssrc = 0x11223344

    host = "127.0.0.1"  # where the peer's socket is, and where it sends to

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> RtpPeer:
        peer = cls()
        peer.host = host
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: peer, local_addr=(host, 0)
        )
        return peer

    @property
    def port(self) -> int:
        assert self.transport is not None
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    def remote(self, payload_type: int = 0, te: int | None = 101) -> RemoteMedia:
        return RemoteMedia(self.host, self.port, payload_type, te)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not every loop's datagram transport subclasses DatagramTransport (3.11's does not).
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.raw.append(data)
        self.sources.append(addr)
        self.packets.append(parse_rtp(data))

    def send_raw(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, (self.host, port))

    def send(
        self, port: int, payload: bytes, *, pt: int = 0, marker: bool = False, step: int = 160
    ) -> RtpPacket:
        packet = RtpPacket(pt, self.seq, self.ts, self.ssrc, payload, marker=marker)
        self.send_raw(packet.build(), port)
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + step) & 0xFFFFFFFF
        return packet

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[RtpPacket]:
        """Poll until `count` packets have arrived in all; fail loudly otherwise."""
        deadline = time.monotonic() + timeout
        while len(self.packets) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.packets)} packets arrived, expected {count}")
            await asyncio.sleep(0.005)
        return self.packets

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
