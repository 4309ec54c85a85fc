"""DTMF for tests: in-band tone pairs, RFC 4733 telephone-event packets, and pcap files of them.

Like tests/support/rtp.py this builds its packets and samples itself (struct, math, and that
module's own G.711 encoder) rather than with the product's code, so the detector is judged
against an independent sender. The pcap files are classic libpcap (Ethernet + IPv4 + UDP),
which SIPp's play_pcap_audio replays with the packets' relative times.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from tests.support.rtp import FRAME, PCMU, RATE, encode

EVENT_CODES = {digit: code for code, digit in enumerate("0123456789*#ABCD")}
ROWS = (697, 770, 852, 941)
COLUMNS = (1209, 1336, 1477, 1633)
KEYPAD = ("123A", "456B", "789C", "*0#D")
TONES = {
    digit: (ROWS[r], COLUMNS[c]) for r, keys in enumerate(KEYPAD) for c, digit in enumerate(keys)
}
EVENT_PT = 101


def _clip(value: float) -> int:
    return max(-32768, min(32767, round(value)))


def tone_samples(
    digits: str,
    *,
    on_ms: int = 100,
    off_ms: int = 100,
    amplitude: int = 8000,
    rate: int = RATE,
) -> list[int]:
    """16-bit samples: each digit's tone pair for on_ms (each tone at `amplitude` peak), then
    off_ms of silence."""
    out: list[int] = []
    for digit in digits:
        low, high = TONES[digit]
        for n in range(rate * on_ms // 1000):
            t = n / rate
            value = amplitude * (math.sin(2 * math.pi * low * t) + math.sin(2 * math.pi * high * t))
            out.append(_clip(value))
        out.extend([0] * (rate * off_ms // 1000))
    return out


def rtp_packet(
    payload: bytes,
    *,
    sequence: int,
    timestamp: int,
    ssrc: int = 0x1234ABCD,
    payload_type: int = PCMU,
    marker: bool = False,
) -> bytes:
    """One plain RTP packet (version 2, no CSRC, no extension)."""
    second = payload_type | (0x80 if marker else 0)
    header = struct.pack(
        "!BBHII", 0x80, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF
    )
    return header + payload


def telephone_event_packets(
    digit: str,
    *,
    sequence: int,
    timestamp: int,
    ssrc: int = 0x1234ABCD,
    payload_type: int = EVENT_PT,
    duration_ms: int = 100,
    volume: int = 10,
) -> list[bytes]:
    """The RFC 4733 packets of one key press: a start packet (marker set), one update every
    20 ms with the duration so far, and the end packet (E bit) three times. Every packet has the
    press's `timestamp`; sequence numbers count up from `sequence`."""
    code = EVENT_CODES[digit]
    frames = max(1, duration_ms // 20)
    packets: list[bytes] = []
    for index in range(frames):
        end = index == frames - 1
        payload = struct.pack("!BBH", code, (0x80 if end else 0) | volume, (index + 1) * FRAME)
        for _ in range(3 if end else 1):
            packets.append(
                rtp_packet(
                    payload,
                    sequence=sequence + len(packets),
                    timestamp=timestamp,
                    ssrc=ssrc,
                    payload_type=payload_type,
                    marker=index == 0,
                )
            )
    return packets


def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(rtp: bytes, src: tuple[str, int], dst: tuple[str, int], ident: int) -> bytes:
    """Ethernet + IPv4 + UDP around one RTP packet (UDP checksum 0: none, allowed on IPv4)."""
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(rtp), 0) + rtp
    addresses = bytes(map(int, src[0].split("."))) + bytes(map(int, dst[0].split(".")))
    ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0, 64, 17, 0)
    ip += addresses
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ethernet = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return ethernet + ip + udp


def write_rtp_pcap(
    path: Path,
    packets: list[bytes],
    *,
    src: tuple[str, int] = ("127.0.0.1", 6000),
    dst: tuple[str, int] = ("127.0.0.1", 6002),
    interval: float = 0.02,
    times: Sequence[float] | None = None,
) -> Path:
    """A classic libpcap file (microsecond timestamps, Ethernet) of the RTP packets, sent
    `interval` apart, or at `times` (seconds from the first) when given."""
    if times is not None and len(times) != len(packets):
        raise ValueError("one time per packet")
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    base = 1_700_000_000.0
    for index, rtp in enumerate(packets):
        at = base + (times[index] if times is not None else index * interval)
        seconds = int(at)
        micros = round((at - seconds) * 1e6)
        if micros >= 1_000_000:
            seconds, micros = seconds + 1, micros - 1_000_000
        frame = _frame(rtp, src, dst, index)
        out.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


def silence_byte(payload_type: int) -> int:
    return 0xFF if payload_type == PCMU else 0xD5


def dtmf_packets(
    digits: str,
    *,
    mode: Literal["rfc4733", "inband"],
    payload_type: int = PCMU,
    lead_ms: int = 500,
    on_ms: int = 100,
    off_ms: int = 100,
    ssrc: int = 0x1234ABCD,
) -> tuple[list[bytes], list[float]]:
    """A 20 ms G.711 stream: lead_ms of silence, the digits (on_ms each, off_ms apart), lead_ms
    of silence; with the send time of each packet. In rfc4733 mode each press's audio frames
    are replaced by its telephone-event packets (payload type 101) in the same SSRC, sequence
    and timestamp space, the three end packets sent together."""
    lead = [0] * (RATE * lead_ms // 1000)
    packets: list[bytes] = []
    times: list[float] = []
    sequence, timestamp = 1000, 160_000
    if mode == "inband":
        samples = lead + tone_samples(digits, on_ms=on_ms, off_ms=off_ms) + lead
        data = encode(samples, payload_type)
        for offset in range(0, len(data) - FRAME + 1, FRAME):
            packets.append(
                rtp_packet(
                    data[offset : offset + FRAME],
                    sequence=sequence + len(packets),
                    timestamp=timestamp + offset,
                    ssrc=ssrc,
                    payload_type=payload_type,
                    marker=offset == 0,
                )
            )
            times.append(offset / RATE)
        return packets, times
    silence = bytes([silence_byte(payload_type)]) * FRAME
    clock = 0  # samples from the start of the stream

    def audio(count: int) -> None:
        nonlocal clock
        for _ in range(count):
            packets.append(
                rtp_packet(
                    silence,
                    sequence=sequence + len(packets),
                    timestamp=timestamp + clock,
                    ssrc=ssrc,
                    payload_type=payload_type,
                    marker=not packets,
                )
            )
            times.append(clock / RATE)
            clock += FRAME

    audio(lead_ms // 20)
    for digit in digits:
        event = telephone_event_packets(
            digit,
            sequence=sequence + len(packets),
            timestamp=timestamp + clock,
            ssrc=ssrc,
            duration_ms=on_ms,
        )
        for index, packet in enumerate(event):
            packets.append(packet)
            times.append((clock + min(index, len(event) - 3) * FRAME) / RATE)
        clock += FRAME * max(1, on_ms // 20)
        audio(off_ms // 20)
    audio(lead_ms // 20)
    return packets, times


def dtmf_pcap(
    path: Path,
    digits: str,
    *,
    mode: Literal["rfc4733", "inband"],
    payload_type: int = PCMU,
    lead_ms: int = 500,
) -> Path:
    """A pcap for SIPp's play_pcap_audio: G.711 silence with the digits in it (see
    dtmf_packets), 100 ms presses 100 ms apart."""
    packets, times = dtmf_packets(digits, mode=mode, payload_type=payload_type, lead_ms=lead_ms)
    return write_rtp_pcap(path, packets, times=times)
