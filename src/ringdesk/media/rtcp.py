"""RTCP (RFC 3550 section 6) as the relay passes it on: one leg's compound packet, rewritten for
the other leg.

The relay gives every leg its own outgoing RTP stream (our SSRC, sequence and timestamp), so a
report that names the far end's SSRCs would mean nothing to the phone that gets it. `rewrite`
maps the SSRCs the receiver knows under another number, moves the sender report's RTP timestamp
and the report blocks' highest sequence number by the relay's offsets, and leaves the rest
(NTP time, packet counts, loss, jitter, SDES text, feedback) as the sender wrote it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

_U32 = struct.Struct("!I")
_HEAD = struct.Struct("!BBH")

SR, RR, SDES, BYE, APP, RTPFB, PSFB = 200, 201, 202, 203, 204, 205, 206
REPORT_BLOCK = 24


@dataclass(slots=True)
class Mapping:
    """How one leg's RTCP becomes the other's.

    ssrc: SSRC as the sender wrote it -> SSRC the receiver knows the same stream by.
    ts_offset: per sender SSRC (as written), added to a sender report's RTP timestamp.
    seq_offset: per reported SSRC (as written), added to a report block's highest sequence.
    """

    ssrc: dict[int, int] = field(default_factory=dict)
    ts_offset: dict[int, int] = field(default_factory=dict)
    seq_offset: dict[int, int] = field(default_factory=dict)


def is_rtcp(data: bytes) -> bool:
    """Version 2 and a packet type in RTCP's range (RFC 5761 section 4)."""
    return len(data) >= 8 and data[0] & 0xC0 == 0x80 and 192 <= data[1] <= 223


def rewrite(data: bytes, mapping: Mapping) -> bytes | None:
    """The compound packet rewritten per `mapping`; None when it is not well-formed RTCP."""
    if not is_rtcp(data) or len(data) % 4:
        return None
    out = bytearray(data)
    offset = 0
    while offset < len(out):
        if len(out) - offset < 4:
            return None
        first, kind, words = _HEAD.unpack_from(out, offset)
        size = (words + 1) * 4
        end = offset + size
        if first & 0xC0 != 0x80 or end > len(out):
            return None
        count = first & 0x1F
        if kind in (SR, RR):
            if not _report(out, offset, end, kind, count, mapping):
                return None
        elif kind == BYE:
            if offset + 4 + 4 * count > end:
                return None
            for i in range(count):
                _map_ssrc(out, offset + 4 + 4 * i, mapping)
        elif kind in (SDES, APP) and size >= 8:
            _map_ssrc(out, offset + 4, mapping)  # the first chunk's SSRC, the packet's own
        elif kind in (RTPFB, PSFB) and size >= 12:
            _map_ssrc(out, offset + 4, mapping)  # the feedback's sender
            _map_ssrc(out, offset + 8, mapping)  # the media source it is about
        offset = end
    return bytes(out)


def _report(out: bytearray, offset: int, end: int, kind: int, count: int, mapping: Mapping) -> bool:
    sender = _U32.unpack_from(out, offset + 4)[0] if end - offset >= 8 else None
    if sender is None:
        return False
    blocks = offset + (28 if kind == SR else 8)
    if blocks + REPORT_BLOCK * count > end:
        return False
    if kind == SR:
        shift = mapping.ts_offset.get(sender)
        if shift is not None:
            _add(out, offset + 16, shift)
    _map_ssrc(out, offset + 4, mapping)
    for i in range(count):
        block = blocks + REPORT_BLOCK * i
        reported = _U32.unpack_from(out, block)[0]
        shift = mapping.seq_offset.get(reported)
        if shift is not None:
            _add(out, block + 8, shift)
        _map_ssrc(out, block, mapping)
    return True


def _map_ssrc(out: bytearray, at: int, mapping: Mapping) -> None:
    ssrc = _U32.unpack_from(out, at)[0]
    mapped = mapping.ssrc.get(ssrc)
    if mapped is not None:
        _U32.pack_into(out, at, mapped)


def _add(out: bytearray, at: int, delta: int) -> None:
    _U32.pack_into(out, at, (_U32.unpack_from(out, at)[0] + delta) & 0xFFFFFFFF)
