"""One call leg's RTP endpoint: a UDP socket, the far end's address, and our outgoing stream.

Every packet a leg receives is the hot path of the relay: it is checked just enough to be RTP,
its bytes 1-11 are rewritten in place (payload type only if the partner uses another codec,
then sequence, timestamp and SSRC), and it leaves on the partner's socket. Each leg has one
outgoing stream (SSRC, sequence, timestamp) whatever feeds it, relay or playback; a change of
feed starts a new talk spurt: the sequence goes on by one, the timestamp advances by the time that
passed, and the first packet carries the marker bit.

A leg with SRTP (`srtp`, media/srtp.py) has its packets checked and decrypted as they arrive,
before anything else looks at them (only an authenticated packet may latch the leg's address or
count as media), and what we send it protected as it leaves; in between everything is plain RTP.

The leg's own socket (Linux). Once the leg's address is known, a second socket on our port is
connect()ed to it (both sockets carry SO_REUSEPORT; the first one gets the option only after its
bind, so no other program's fresh bind can share the port by accident). The kernel hands a
connected socket the packets of its one peer, and every other packet (a stray, a phone whose
NAT moved it, a raw sender with source port 0) still to the first socket, so the latching rules
below are unchanged. Reading the connected socket needs no source address and sending on it no
destination (nor a route lookup per packet): the cheapest way through Python and the kernel
(docs/decisions.md, "each leg's own connected socket"). A packet from the leg to a partner with
nothing else attached (no SRTP, recording, monitoring, key detection, playback, payload-type
change) takes a short path, `_own_ready`; anything else goes through `datagram_received`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, cast

from ringdesk.media import g711, rtcp
from ringdesk.media.api import RemoteMedia, SrtpKeys
from ringdesk.media.dtmf import DigitDetector
from ringdesk.media.rtp import payload_bounds
from ringdesk.media.srtp import SrtpLeg

if TYPE_CHECKING:
    from ringdesk.media.mix import Monitor
    from ringdesk.media.pacer import Player
    from ringdesk.media.readiness import Readiness
    from ringdesk.media.recording import Recorder

log = logging.getLogger(__name__)

RATE = 8000
FRAME_TICKS = 160  # RTP timestamp units in one 20 ms G.711 frame
RELATCH_PACKETS = 5  # packets in a row from a new source before the leg's audio follows it
RECV_SIZE = 4096  # read from the connected socket up to this; an RTP audio frame is far smaller
_monotonic = time.monotonic
_SEQ_TS_SSRC = struct.Struct("!HII")
_REWRITE = struct.Struct("!BHII")  # byte 1 (marker + payload type), sequence, timestamp, SSRC
_HEADER = struct.Struct("!BBHII")

# Per payload type received from a leg: (payload type to send on, translate table) or None to
# drop the packet (a telephone-event the partner did not negotiate).
RelayMap = dict[int, tuple[int, bytes | None] | None]


def usable_address(host: str, port: int) -> bool:
    """An SDP address we can send to: a literal, specified IP address and a real port."""
    if not 0 < port < 65536:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_unspecified


def for_socket(host: str, port: int, family: int) -> tuple[str, int] | None:
    """Where to send to (host, port) on a socket of `family`: an IPv4 address as its
    IPv4-mapped one on a dual-stack IPv6 socket; None when the socket cannot reach it (an IPv6
    address on an IPv4 socket, an IPv4 one on a socket bound to one IPv6 address, which the
    switch refuses with 488 before it gets here)."""
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if family == socket.AF_INET6:
        if address.version == 4:
            return (f"::ffff:{address}", port)
        return (host, port)
    if address.version == 6:
        mapped = address.ipv4_mapped
        return (str(mapped), port) if mapped is not None else None
    return (host, port)


def relay_map(source: RemoteMedia | None, target: RemoteMedia | None) -> RelayMap | None:
    """How packets from `source` must change to suit `target`; None when they pass unchanged."""
    if source is None or target is None:
        return None
    mapping: RelayMap = {}
    if source.payload_type != target.payload_type and {
        source.payload_type,
        target.payload_type,
    } <= set(g711.CODECS):
        table = g711.transcode_table(source.payload_type, target.payload_type)
        mapping[source.payload_type] = (target.payload_type, table)
    if source.telephone_event_pt is not None:
        if target.telephone_event_pt is None:
            mapping[source.telephone_event_pt] = None
        elif target.telephone_event_pt != source.telephone_event_pt:
            mapping[source.telephone_event_pt] = (target.telephone_event_pt, None)
    return mapping or None


class Endpoint(asyncio.DatagramProtocol):
    """A leg's media endpoint (ringdesk.media.api.MediaEndpoint)."""

    __slots__ = (
        "_heard",
        "_latch",
        "_moved_count",
        "_moved_to",
        "_own",
        "_own_recv",
        "_own_send",
        "_rtcp_latch",
        "address",
        "digits",
        "errors",
        "family",
        "last_sent",
        "leg_id",
        "on_digit",
        "open_own",
        "own_peer",
        "partner",
        "player",
        "port",
        "readiness",
        "received",
        "recorder",
        "relatched",
        "relay_map",
        "remote",
        "rtcp_address",
        "rtcp_in",
        "rtcp_out",
        "rtcp_transport",
        "sent",
        "seq",
        "seq_offset",
        "source",
        "source_ssrc",
        "srtp",
        "ssrc",
        "tap",
        "transport",
        "ts",
        "ts_offset",
    )

    def __init__(self, leg_id: str, port: int) -> None:
        self.leg_id = leg_id
        self.port = port
        self.remote: RemoteMedia | None = None
        self.address: tuple[str, int] | None = None  # where our stream to this leg goes
        self._latch = True  # learn `address` from the next packet (no usable SDP address yet)
        # Symmetric RTP (RFC 4961): once media flows we answer where it comes from. A move to
        # another source (a NAT rebinding) is followed after RELATCH_PACKETS packets in a row
        # from it and none from the current one in between.
        self._moved_to: tuple[str, int] | None = None
        self._moved_count = 0
        self._heard = False  # a packet came from `address` (or we latched on one)
        self.relatched = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.partner: Endpoint | None = None
        self.relay_map: RelayMap | None = None  # for packets received here, sent to partner
        self.player: Player | None = None  # while set, playback feeds this leg, not the relay
        self.recorder: tuple[Recorder, int] | None = None  # (recording, channel)
        self.tap: Monitor | None = None  # a supervisor monitors the call: hears this leg
        self.srtp: SrtpLeg | None = None  # SRTP/SRTCP with this leg; None: plain
        # Our outgoing stream to this leg.
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)  # last sequence number sent
        self.ts = random.getrandbits(32)  # timestamp of the last packet sent
        self.last_sent = 0.0  # monotonic time of the last packet sent, 0 before the first
        self.source: Endpoint | None = None  # the leg whose packets we relay in this spurt
        self.source_ssrc = -1
        self.seq_offset = 0
        self.ts_offset = 0
        self.received = 0
        self.sent = 0
        # RTCP on our odd port (RTP + 1): relayed to the partner's RTCP port, rewritten.
        self.rtcp_transport: asyncio.DatagramTransport | None = None
        self.rtcp_address: tuple[str, int] | None = None  # where this leg's RTCP goes
        self._rtcp_latch = True
        self.rtcp_in = 0  # RTCP packets received from this leg
        self.rtcp_out = 0  # RTCP packets relayed to this leg
        self.family = socket.AF_INET  # of our sockets (MediaServer sets it)
        self.errors = 0  # packets to this leg that failed to send; the first one is logged
        # While set, the keys pressed in this leg's media are reported (MediaServer.listen_digits).
        self.digits: DigitDetector | None = None
        self.on_digit: Callable[[str], None] | None = None
        # The leg's own socket (see the module's doc): `open_own` makes it and `readiness`
        # watches it (MediaServer sets both where the kernel supports it); `own_peer` is where
        # it is connected: the very `address` object while that is current, so one identity
        # test tells.
        self.open_own: Callable[[], socket.socket] | None = None
        self.readiness: Readiness | None = None
        self._own: socket.socket | None = None
        self.own_peer: tuple[str, int] | None = None
        self._own_recv: Callable[[int], bytes] = _unconnected
        self._own_send: Callable[[bytes | bytearray], int] = _unconnected

    # --- MediaEndpoint --------------------------------------------------------------------

    def set_remote(self, remote: RemoteMedia) -> None:
        before = self.remote
        self.remote = remote
        self._set_srtp(remote.srtp)
        # The SDP address as our socket's family reaches it (None: it cannot, see for_socket).
        target = (
            for_socket(remote.host, remote.port, self.family)
            if usable_address(remote.host, remote.port)
            else None
        )
        if target is not None:
            moved = before is None or (before.host, before.port) != (remote.host, remote.port)
            if moved or not self._heard:  # the same SDP again keeps a latch on real media
                self.address = target
                self._heard = False
            self._latch = False
        elif usable_address(remote.host, remote.port):
            self.address = None  # another family than our socket's: the switch answers 488
            self._latch = False
        else:
            self._latch = True  # symmetric RTP: answer where the leg's packets come from
        # RTCP goes where the SDP's a=rtcp says (RFC 3605), else to the RTP port + 1.
        rtcp_host = remote.rtcp_host or remote.host
        rtcp_port = remote.rtcp_port or remote.port + 1
        rtcp_target = (
            for_socket(rtcp_host, rtcp_port, self.family)
            if remote.port and usable_address(rtcp_host, rtcp_port)
            else None
        )
        if rtcp_target is not None:
            self.rtcp_address = rtcp_target
            self._rtcp_latch = False
        else:
            self.rtcp_address = None
            self._rtcp_latch = True
        self.refresh_maps()
        self.steer()

    def _set_srtp(self, keys: SrtpKeys | None) -> None:
        if keys is None:
            self.srtp = None
        elif self.srtp is None:
            self.srtp = SrtpLeg(self.leg_id, keys)
        elif keys != self.srtp.keys:
            self.srtp.rekey(keys)

    @property
    def srtp_rejected(self) -> int:
        """Packets from this leg dropped by the SRTP/SRTCP checks (bad tag, replay)."""
        return self.srtp.rejected if self.srtp is not None else 0

    @property
    def payload_type(self) -> int:
        return self.remote.payload_type if self.remote is not None else g711.PCMU

    def refresh_maps(self) -> None:
        partner = self.partner
        if partner is None:
            self.relay_map = None
            return
        self.relay_map = relay_map(self.remote, partner.remote)
        partner.relay_map = relay_map(partner.remote, self.remote)

    # --- our outgoing stream ----------------------------------------------------------------

    def begin_spurt(self, now: float) -> tuple[int, int]:
        """Sequence and timestamp of the first packet of a new talk spurt to this leg."""
        seq = (self.seq + 1) & 0xFFFF
        if not self.last_sent:
            return seq, self.ts
        elapsed = round((now - self.last_sent) * RATE)
        return seq, (self.ts + max(FRAME_TICKS, elapsed)) & 0xFFFFFFFF

    def send_frame(self, payload: bytes, payload_type: int, now: float, new_spurt: bool) -> None:
        """Send one played frame on our stream (the pacer calls this every 20 ms)."""
        if new_spurt:
            seq, ts = self.begin_spurt(now)
        else:
            seq, ts = (self.seq + 1) & 0xFFFF, (self.ts + FRAME_TICKS) & 0xFFFFFFFF
        self.seq, self.ts, self.last_sent = seq, ts, now
        second = payload_type | (0x80 if new_spurt else 0)
        if self.address is not None:
            packet = _HEADER.pack(0x80, second, seq, ts, self.ssrc) + payload
            if self.srtp is not None:
                protected = self.srtp.protect(packet)
                if protected is None:
                    return
                packet = protected
            self.send(packet)

    def send(self, packet: bytes | bytearray) -> bool:
        """Send one finished packet to this leg: on its own socket when that is connected to
        where the leg is, else on our first socket. False when it could not be sent."""
        address = self.address
        if address is None:
            return False
        try:
            if address is self.own_peer:
                self._own_send(packet)
            elif self.transport is not None:
                self.transport.sendto(packet, address)
            else:
                return False
        except (OSError, ValueError) as exc:
            self.error_received(exc)
            return False
        self.sent += 1
        return True

    def stop_feed(self) -> None:
        """Whatever feeds this leg next starts a new talk spurt."""
        self.source = None
        self.source_ssrc = -1

    def send_failed(self, exc: Exception) -> None:
        """A packet to this leg could not be sent: logged the first time, then counted."""
        self.errors += 1
        if self.errors == 1:
            log.warning(
                "leg %s: media to %s cannot be sent (%s); further failures are only counted",
                self.leg_id,
                self.address,
                exc,
            )

    # --- the leg's own socket ------------------------------------------------------------------

    def steer(self) -> None:
        """Keep our own socket connected to where the leg is: opened the first time its address
        is known, connected again when it moves, closed when there is none to answer."""
        address = self.address
        if address is self.own_peer:
            return
        readiness = self.readiness
        if (
            address is None
            or address[1] == 0
            or self.open_own is None
            or readiness is None
            or self.transport is None
        ):
            self.close_own()
            return
        sock = self._own
        try:
            if sock is None:
                sock = self.open_own()
                self._own = sock
                self._own_recv, self._own_send = sock.recv, sock.send
                readiness.add(sock, self._own_ready)
            sock.connect(address)
        except (OSError, RuntimeError) as exc:  # the first socket goes on alone
            log.debug("leg %s: no socket of its own for %s (%s)", self.leg_id, address, exc)
            self.close_own()
            return
        self.own_peer = address
        # Whatever reached the socket before the connect (or from the leg's old address) is
        # handed on with its true source, as the first socket would have.
        for _ in range(64):
            try:
                data, source = sock.recvfrom(RECV_SIZE)
            except OSError:
                break
            self.datagram_received(data, source)
            if self.own_peer is not address:
                break  # the packets just handed on moved the leg again

    def close_own(self) -> None:
        sock = self._own
        self._own = self.own_peer = None
        self._own_recv = self._own_send = _unconnected
        if sock is None:
            return
        if self.readiness is not None:
            self.readiness.discard(sock)
        sock.close()

    def _own_ready(self) -> None:
        """A datagram on our own socket: from the leg's address, by the kernel's word."""
        try:
            data = self._own_recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # an ICMP error about what we sent the leg
            self.error_received(exc)
            return
        peer = self.own_peer
        if peer is None:
            return
        target = self.partner
        # The short path: a settled plain leg relayed to a settled plain partner, the stream
        # we send there already fed by this one (else the long path starts a talk spurt).
        if (
            target is not None
            and peer is self.address
            and self._heard
            and self._moved_to is None
            and not self._latch
            and target.own_peer is target.address
            and target.own_peer is not None
            and self.srtp is None
            and target.srtp is None
            and self.relay_map is None
            and target.player is None
            and self.digits is None
            and self.recorder is None
            and self.tap is None
            and len(data) >= 12
            and data[0] & 0xC0 == 0x80
            and not 192 <= data[1] <= 223
        ):
            seq, ts, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
            if target.source is self and target.source_ssrc == ssrc:
                self.received += 1
                out_seq = (seq + target.seq_offset) & 0xFFFF
                out_ts = (ts + target.ts_offset) & 0xFFFFFFFF
                packet = bytearray(data)
                _SEQ_TS_SSRC.pack_into(packet, 2, out_seq, out_ts, target.ssrc)
                try:
                    target._own_send(packet)
                except OSError as exc:
                    target.error_received(exc)
                    return
                target.sent += 1
                if (out_seq - target.seq) & 0xFFFF < 0x8000:  # as sent_on, inline: per packet
                    target.seq = out_seq
                    target.ts = out_ts
                target.last_sent = _monotonic()
                return
        self.datagram_received(data, peer)

    # --- RTCP (not the hot path: a report every few seconds per leg) -------------------------

    def on_rtcp(self, data: bytes, addr: tuple[str, int]) -> None:
        if not rtcp.is_rtcp(data):
            return
        if self.srtp is not None:
            plain = self.srtp.unprotect_rtcp(data)
            if plain is None:
                return
            data = plain
        self.rtcp_in += 1
        if self._rtcp_latch:
            self.rtcp_address = (addr[0], addr[1])
            self._rtcp_latch = False
        target = self.partner
        # While either leg hears a sound instead of the other, their reports are about streams
        # the other never got: drop them.
        if target is None or target.player is not None or self.player is not None:
            return
        address = target.rtcp_address
        if address is None and target.address is not None:
            address = (target.address[0], target.address[1] + 1)  # latched RTP, no RTCP yet
        transport = target.rtcp_transport
        if address is None or transport is None:
            return
        packet = rtcp.rewrite(data, self.rtcp_mapping(target))
        if packet is not None and target.srtp is not None:
            packet = target.srtp.protect_rtcp(packet)
        if packet is None:
            return
        try:
            transport.sendto(packet, address)
        except (OSError, ValueError) as exc:
            target.send_failed(exc)
            return
        target.rtcp_out += 1

    def rtcp_mapping(self, target: Endpoint) -> rtcp.Mapping:
        """Our leg's RTCP as `target` must read it: this leg's SSRC is known there as the
        stream we send to `target`; the stream we send to this leg is `target`'s own."""
        mapping = rtcp.Mapping()
        if target.source is self and target.source_ssrc >= 0:
            mapping.ssrc[target.source_ssrc] = target.ssrc
            mapping.ts_offset[target.source_ssrc] = target.ts_offset
        if self.source is target and self.source_ssrc >= 0:
            mapping.ssrc[self.ssrc] = self.source_ssrc
            # Modulo 2**16 in the low half of the extended sequence number: the cycle count
            # may be off by one near a wrap, which a loss estimate survives.
            mapping.seq_offset[self.ssrc] = -self.seq_offset
        return mapping

    # --- asyncio.DatagramProtocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not every loop's datagram transport subclasses DatagramTransport (3.11's does not).
        self.transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.close_own()

    def _follow(self, addr: tuple[str, int]) -> None:
        """A packet from another source than the latched one: move there once it is the only
        one sending (RELATCH_PACKETS in a row), so a stray or injected packet cannot steal the
        leg's audio, and a phone whose NAT mapping changed is heard again within 0.1 s."""
        moved = (addr[0], addr[1])
        if moved[1] == 0:
            return  # port 0 cannot be answered: never followed
        if moved != self._moved_to:
            self._moved_to = moved
            self._moved_count = 1
            return
        self._moved_count += 1
        if self._moved_count >= RELATCH_PACKETS:
            log.info(
                "leg %s: RTP moved from %s:%s to %s:%s",
                self.leg_id,
                *(self.address or ("?", "?")),
                *moved,
            )
            self.address = moved
            self._moved_to = None
            self.relatched += 1
            if self.rtcp_address is not None:  # RTCP follows the RTP's new mapping
                self.rtcp_address = None
                self._rtcp_latch = True
            self.steer()

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the far end is gone or not there yet. The
        # signaling layer decides about the call; media just keeps going. Anything else (a
        # send the socket refused) is logged once for the leg, then counted.
        if isinstance(exc, ConnectionRefusedError):
            log.debug("leg %s: %s", self.leg_id, exc)
        else:
            self.send_failed(exc)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[0] & 0xC0 != 0x80 or 192 <= data[1] <= 223:
            return  # not RTP version 2 (RTCP multiplexed on the RTP port, RFC 5761, is ignored)
        srtp = self.srtp
        if srtp is not None:
            plain = srtp.unprotect(data)
            if plain is None:
                return  # forged, replayed or corrupted: counted in srtp.rejected
            data = plain
        address = self.address
        if address is None or self._latch or not self._heard:
            # only real RTP may choose where the leg's audio goes: the first packet does, unless
            # it shows source port 0 (a raw-socket sender, SIPp's pcap play: heard, never
            # answered; the SDP's address stays)
            if addr[1] != 0:
                if address is None or (addr[0], addr[1]) != address:
                    self.address = (addr[0], addr[1])
                self._latch = False
                self._heard = True
                self.steer()
        elif addr[1] != address[1] or addr[0] != address[0]:
            self._follow(addr)
        elif self._moved_to is not None:
            self._moved_to = None  # the current source spoke again: no move
        self.received += 1
        digits = self.digits
        if digits is not None:
            digit = digits.feed(data)
            if digit is not None and self.on_digit is not None:
                self.on_digit(digit)
        target = self.partner
        recorder = self.recorder
        tap = self.tap
        if target is None and recorder is None and tap is None:
            return
        now = _monotonic()
        if recorder is not None:
            recorder[0].add(recorder[1], data, now)
        if tap is not None:
            tap.heard(self, data)
        if target is None or target.player is not None or target.address is None:
            return
        second = data[1]
        seq, ts, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
        marker = second & 0x80
        if target.source is not self or target.source_ssrc != ssrc:
            first_seq, first_ts = target.begin_spurt(now)
            target.source = self
            target.source_ssrc = ssrc
            target.seq_offset = first_seq - seq
            target.ts_offset = first_ts - ts
            marker = 0x80
        out_seq = (seq + target.seq_offset) & 0xFFFF
        out_ts = (ts + target.ts_offset) & 0xFFFFFFFF
        payload_type = second & 0x7F
        packet = bytearray(data)
        mapping = self.relay_map
        if mapping is not None and payload_type in mapping:
            change = mapping[payload_type]
            if change is None:
                return
            payload_type, table = change
            if table is not None:
                bounds = payload_bounds(packet)
                if bounds is None:
                    return
                start, end = bounds
                packet[start:end] = packet[start:end].translate(table)
        _REWRITE.pack_into(packet, 1, marker | payload_type, out_seq, out_ts, target.ssrc)
        if target.srtp is not None:
            protected = target.srtp.protect(bytes(packet))
            if protected is None or not target.send(protected):
                return
        elif not target.send(packet):
            return
        target.sent_on(out_seq, out_ts, now)

    def sent_on(self, seq: int, ts: int, now: float) -> None:
        """A relayed packet with this sequence and timestamp went to the leg at `now`."""
        if (seq - self.seq) & 0xFFFF < 0x8000:  # newer: late/reordered ones are just sent
            self.seq = seq
            self.ts = ts
        self.last_sent = now


def _unconnected(_: object) -> NoReturn:
    raise OSError("the leg has no socket of its own")


class RtcpSocket(asyncio.DatagramProtocol):
    """The odd-port socket of an endpoint: hands RTCP to it (bound so that phones reporting
    there get no ICMP port unreachable)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.endpoint.rtcp_transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.endpoint.rtcp_transport = None

    def error_received(self, exc: Exception) -> None:
        log.debug("leg %s RTCP: %s", self.endpoint.leg_id, exc)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.endpoint.on_rtcp(data, addr)
