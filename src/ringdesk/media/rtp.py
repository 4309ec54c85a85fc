"""RTP packets (RFC 3550 section 5.1): parse and build.

The relay itself only rewrites bytes 1-11 in place (marker/payload type, sequence, timestamp,
SSRC); this full parser is for the places that need the payload boundaries (recording,
transcoding with padding) and for tests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER_SIZE = 12
_FIXED = struct.Struct("!BBHII")


class RtpError(ValueError):
    """The datagram is not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    # (profile-defined 16 bits, extension data whose length is a multiple of 4)
    extension: tuple[int, bytes] | None = None
    padding: int = 0  # padding bytes after the payload, the last one counting them

    def build(self) -> bytes:
        return build_rtp(self)


def is_rtcp(data: bytes) -> bool:
    """RTCP multiplexed on the RTP port (RFC 5761): packet types 192-223 sit in byte 1."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> RtpPacket:
    if len(data) < HEADER_SIZE:
        raise RtpError(f"{len(data)} bytes is shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, expected 2")
    if is_rtcp(data):
        raise RtpError("RTCP packet, not RTP")
    offset = HEADER_SIZE
    csrc_count = first & 0x0F
    if len(data) < offset + 4 * csrc_count:
        raise RtpError("truncated CSRC list")
    csrc = struct.unpack_from(f"!{csrc_count}I", data, offset)
    offset += 4 * csrc_count
    extension: tuple[int, bytes] | None = None
    if first & 0x10:
        if len(data) < offset + 4:
            raise RtpError("truncated header extension")
        profile, words = struct.unpack_from("!HH", data, offset)
        offset += 4
        if len(data) < offset + 4 * words:
            raise RtpError("truncated header extension data")
        extension = (profile, bytes(data[offset : offset + 4 * words]))
        offset += 4 * words
    end = len(data)
    padding = 0
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or end - padding < offset:
            raise RtpError(f"bad padding count {padding}")
        end -= padding
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
        csrc=tuple(csrc),
        extension=extension,
        padding=padding,
    )


def build_rtp(packet: RtpPacket) -> bytes:
    if not 0 <= packet.payload_type <= 127:
        raise ValueError(f"payload type {packet.payload_type} out of range")
    if len(packet.csrc) > 15:
        raise ValueError("at most 15 CSRCs")
    first = RTP_VERSION << 6 | len(packet.csrc)
    if packet.padding:
        first |= 0x20
    if packet.extension is not None:
        first |= 0x10
    second = packet.payload_type | (0x80 if packet.marker else 0)
    parts = [
        _FIXED.pack(
            first,
            second,
            packet.sequence & 0xFFFF,
            packet.timestamp & 0xFFFFFFFF,
            packet.ssrc & 0xFFFFFFFF,
        )
    ]
    if packet.csrc:
        parts.append(struct.pack(f"!{len(packet.csrc)}I", *packet.csrc))
    if packet.extension is not None:
        profile, data = packet.extension
        if len(data) % 4:
            raise ValueError("header extension length must be a multiple of 4")
        parts.append(struct.pack("!HH", profile, len(data) // 4))
        parts.append(data)
    parts.append(packet.payload)
    if packet.padding:
        if not 1 <= packet.padding <= 255:
            raise ValueError("padding must be 1-255 bytes")
        parts.append(bytes(packet.padding - 1) + bytes([packet.padding]))
    return b"".join(parts)


def payload_bounds(data: bytes | bytearray) -> tuple[int, int] | None:
    """(start, end) of the payload of an RTP datagram, None if it is malformed."""
    size = len(data)
    if size < HEADER_SIZE:
        return None
    first = data[0]
    start = HEADER_SIZE + 4 * (first & 0x0F)
    if first & 0x10:
        if size < start + 4:
            return None
        start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
    end = size
    if first & 0x20:
        end -= data[-1]
    if start > end or (first & 0x20 and data[-1] == 0):
        return None
    return start, end
