"""RTP for end-to-end tests: a tiny paced G.711 sender/receiver and an audio comparison.

The tests judge the switch's media from outside, so this module keeps its own G.711 tables and
WAV handling (written from ITU-T G.711) instead of importing the product's: a shared bug would
otherwise pass unnoticed. Threads rather than asyncio, because the tests drive sipp, baresip and
the REST API synchronously and an RTP stream must keep flowing while they block.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import socket
import struct
import threading
import time
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
FRAME = 160  # samples (and G.711 bytes) in 20 ms
PCMU = 0
PCMA = 8
ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5


# ---- ports ------------------------------------------------------------------------------------


# Ports handed to child processes (SIPp, baresip, stunnel, PostgreSQL) are bound by them after we
# let go, so "bind 0, close, pass the number on" races: another xdist worker, or any process's
# outgoing socket, can take an ephemeral port in between. So we hand out ports from a range no one
# else draws from: above the kernel's ephemeral range (32768-60999 by default) and the server's
# RTP range (20000-40000), one block per xdist worker, walked round-robin so a port comes back
# only after the rest of the block has been used. Each port handed out keeps the three above it
# free too: RTCP takes port + 1, SIPp's video RTP port + 2 (and its RTCP + 3), and baresip listens
# for SIP over TLS on its SIP port + 1.
_POOL = (61000, 65500)
_WORKER_SLOTS = 4
_STRIDE = 4
_cursor: dict[tuple[int, int], int] = {}  # next port to try, per block


def _block() -> tuple[int, int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    size = (_POOL[1] - _POOL[0]) // _WORKER_SLOTS // _STRIDE * _STRIDE
    start = _POOL[0] + (index % _WORKER_SLOTS) * size
    return start, start + size


def _is_free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(kind: int = socket.SOCK_DGRAM, *, even: bool = False) -> int:
    """A port free on 127.0.0.1 from this worker's block (see above); always even."""
    del even  # every port handed out is even: the blocks and the stride are
    low, high = block = _block()
    if block not in _cursor:
        # Two test sessions on one machine (a developer's run beside CI's) share the blocks:
        # each starts at its own place in them, so they do not pick the same ports together.
        _cursor[block] = low + random.randrange((high - low) // _STRIDE) * _STRIDE
    for _ in range((high - low) // _STRIDE):
        port = _cursor.get(block, low)
        _cursor[block] = low if port + _STRIDE >= high else port + _STRIDE
        if all(_is_free(port + k, kind) for k in range(_STRIDE)):
            return port
    raise RuntimeError(f"no free port left in {low}-{high}")


def free_udp_port(*, even: bool = False) -> int:
    return free_port(socket.SOCK_DGRAM, even=even)


def free_tcp_port() -> int:
    return free_port(socket.SOCK_STREAM)


def free_udp_tcp_port() -> int:
    """A port free for both UDP and TCP (SIP user agents listen on both)."""
    for _ in range(200):
        port = free_udp_port()
        if _is_free(port, socket.SOCK_STREAM):
            return port
    raise RuntimeError("no port free for both UDP and TCP")


# ---- G.711 (ITU-T G.711, segment tables) ------------------------------------------------------


def _ulaw_decode(byte: int) -> int:
    byte = ~byte & 0xFF
    exponent = (byte >> 4) & 0x07
    magnitude = (((byte & 0x0F) << 3) + 0x84) << exponent
    return 0x84 - magnitude if byte & 0x80 else magnitude - 0x84


def _alaw_decode(byte: int) -> int:
    byte ^= 0x55
    exponent = (byte >> 4) & 0x07
    magnitude = (byte & 0x0F) << 4
    magnitude = magnitude + 8 if exponent == 0 else (magnitude + 0x108) << (exponent - 1)
    return magnitude if byte & 0x80 else -magnitude


def _ulaw_encode(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _alaw_encode(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample) if sample >= 0 else -sample - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


ULAW_TABLE = tuple(_ulaw_decode(b) for b in range(256))
ALAW_TABLE = tuple(_alaw_decode(b) for b in range(256))


def decode(payload: bytes, payload_type: int = PCMU) -> list[int]:
    table = ULAW_TABLE if payload_type == PCMU else ALAW_TABLE
    return [table[b] for b in payload]


def encode(samples: Iterable[int], payload_type: int = PCMU) -> bytes:
    coder = _ulaw_encode if payload_type == PCMU else _alaw_encode
    return bytes(coder(s) for s in samples)


# ---- WAV ---------------------------------------------------------------------------------------


def _riff(data: bytes) -> tuple[int, int, int, bytes]:
    """(channels, rate, bits, samples) of a PCM WAV.

    The `data` chunk runs to the end of the file whatever its header says: a recorder that is
    still writing (or was killed) leaves the sizes at zero, and the samples are still there.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    offset, fmt = 12, None
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        if chunk == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, offset + 8)
            if tag not in (1, 0xFFFE):
                raise ValueError(f"test WAVs must be integer PCM, got format {tag}")
            fmt = (channels, rate, bits)
        elif chunk == b"data":
            if fmt is None:
                raise ValueError("WAV data before fmt")
            return (*fmt, data[offset + 8 :])
        offset += 8 + size + (size & 1)
    raise ValueError("WAV file without a data chunk")


def read_wav(source: Path | bytes) -> list[int]:
    """Mono 16-bit samples at 8 kHz from a PCM WAV (mixed down, resampled if needed)."""
    data = source.read_bytes() if isinstance(source, Path) else source
    channels, rate, bits, raw = _riff(data)
    if bits != 16:
        raise ValueError(f"test WAVs must be 16-bit, got {bits}-bit")
    count = len(raw) // 2
    samples = list(struct.unpack(f"<{count}h", raw[: 2 * count]))
    if channels > 1:
        samples = [
            sum(samples[i : i + channels]) // channels for i in range(0, len(samples), channels)
        ]
    if rate != RATE:
        # Nearest sample: enough for a tolerance-based comparison, and no shared code with the
        # switch's resampler.
        step = rate / RATE
        samples = [
            samples[min(int(i * step), len(samples) - 1)] for i in range(int(len(samples) / step))
        ]
    return samples


def write_wav(path: Path, samples: Sequence[int], rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


def make_signal(seconds: float, *, seed: int, amplitude: int = 9000) -> list[int]:
    """A recognisable, never-silent signal: a few tones whose mix changes every 100 ms.

    Every 20 ms frame of it is unique within the signal (the seed shifts the mix), so a received
    frame can be located in the original without ambiguity.
    """
    rng = random.Random(seed)
    out: list[int] = []
    n = 0
    while len(out) < int(seconds * RATE):
        freqs = [rng.uniform(300.0, 3000.0) for _ in range(3)]
        for _ in range(RATE // 10):
            value = sum(math.sin(2 * math.pi * f * n / RATE) for f in freqs) / 3
            out.append(int(amplitude * value))
            n += 1
    return out[: int(seconds * RATE)]


# The first name of make_signal; tests/ui/calls.py still uses it (not a test: this module is
# not collected by pytest).
test_signal = make_signal


# ---- comparison --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioMatch:
    frames: int  # frames examined
    matched: int  # frames found in the reference (exactly or within tolerance)
    silent: int  # frames that are (near) silence in what was received
    matched_loud: int  # matched frames that are not silence: the ones that prove something

    @property
    def ratio(self) -> float:
        return self.matched / self.frames if self.frames else 0.0

    def __str__(self) -> str:
        return (
            f"{self.matched}/{self.frames} frames match the reference "
            f"({self.matched_loud} of them not silent, {self.silent} silent frames received)"
        )


def _loudness(samples: Sequence[int]) -> float:
    return sum(abs(s) for s in samples) / max(1, len(samples))


def _close(got: Sequence[int], want: Sequence[int], tolerance: float) -> bool:
    """Mean absolute difference small against the reference's own level (codec rounding)."""
    level = max(_loudness(want), 64.0)
    diff = sum(abs(a - b) for a, b in zip(got, want, strict=True)) / len(got)
    return diff <= tolerance * level


def _anchor_positions(payload: bytes, encoded: bytes, limit: int = 8) -> list[int]:
    """Where the frame may start in the reference: short runs of it found exactly.

    A frame that differs only by codec rounding still has many 6-byte runs that are identical.
    """
    found: list[int] = []
    for offset in range(0, len(payload) - 6, 23):
        position = encoded.find(payload[offset : offset + 6])
        while position >= 0 and len(found) < limit:
            if position - offset >= 0:
                found.append(position - offset)
            position = encoded.find(payload[offset : offset + 6], position + 1)
        if len(found) >= limit:
            break
    return found


def match_audio(
    payloads: Sequence[bytes],
    reference: Sequence[int],
    *,
    payload_type: int = PCMU,
    tolerance: float = 0.15,
    silence_level: float = 200.0,
) -> AudioMatch:
    """How many received G.711 frames occur in the reference WAV samples, wherever they start.

    Exact first: a G.711 frame encoded from the same 8 kHz samples is the same bytes, and finding
    it is a substring search in the encoded reference (alignment free; looping playback wraps
    anywhere). Otherwise, the frame is compared, decoded, with the reference right after the
    previous match (playback is continuous), within `tolerance` of the reference's level.
    """
    encoded = encode(reference, payload_type)
    looped = encoded + encoded[: FRAME * 2]  # a frame may straddle the loop point
    ref_looped = list(reference) + list(reference[: FRAME * 2])
    matched = silent = loud = 0
    cursor: int | None = None
    for payload in payloads:
        got = decode(payload, payload_type)
        is_silent = _loudness(got) < silence_level
        silent += is_silent
        position = looped.find(payload)
        ok = position >= 0
        if not ok and len(got) <= len(ref_looped):
            candidates = [cursor, cursor + 1, cursor - 1] if cursor is not None else []
            candidates += _anchor_positions(payload, looped)
            for start in candidates:
                start %= len(reference)
                window = ref_looped[start : start + len(got)]
                if len(window) == len(got) and _close(got, window, tolerance):
                    ok, position = True, start
                    break
        if ok:
            matched += 1
            loud += not is_silent
            cursor = (position + len(payload)) % len(reference)
        else:
            cursor = cursor + len(payload) if cursor is not None else None
    return AudioMatch(len(payloads), matched, silent, loud)


def samples_to_frames(samples: Sequence[int], payload_type: int = PCMU) -> list[bytes]:
    data = encode(samples, payload_type)
    return [data[i : i + FRAME] for i in range(0, len(data) - FRAME + 1, FRAME)]


def pcap_payloads(path: Path) -> list[bytes]:
    """The RTP payloads in a pcap file (as shipped by sip-tester for play_pcap_audio)."""
    data = path.read_bytes()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path} is not a pcap file")
    (link,) = struct.unpack_from(endian + "I", data, 20)
    link_header = {1: 14, 113: 16, 0: 4, 101: 0}[link]
    out: list[bytes] = []
    offset = 24
    while offset + 16 <= len(data):
        (length,) = struct.unpack_from(endian + "I", data, offset + 8)
        frame = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        ip = frame[link_header:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:  # IPv4 + UDP only
            continue
        udp = ip[4 * (ip[0] & 0x0F) :]
        packet = parse_rtp(udp[8:], ("", 0), 0.0)
        if packet is not None and packet.payload_type in (PCMU, PCMA):
            out.append(packet.payload)
    return out


# ---- the RTP endpoint ----

DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
EVENT_FRAMES = (
    10  # a 200 ms key press----------------------------------------------------------------------
)


@dataclass(frozen=True, slots=True)
class RtpPacket:
    at: float  # time.monotonic() on arrival
    source: tuple[str, int]
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def parse_rtp(data: bytes, source: tuple[str, int], at: float) -> RtpPacket | None:
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: skip it
        if len(data) < offset + 4:
            return None
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding
        end -= data[-1]
    if offset > end:
        return None
    return RtpPacket(
        at, source, second & 0x7F, bool(second & 0x80), sequence, timestamp, ssrc, data[offset:end]
    )


class RtpEndpoint:
    """One UDP port that records every RTP packet it gets and can send a paced G.711 stream.

    Symmetric RTP: with no explicit remote, it sends to wherever the last packet came from, as
    the switch anchors media and sends from the port it receives on.
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, port if port is not None else 0))
        if port is None and self.sock.getsockname()[1] % 2:
            # RTP ports are even by convention (RTCP takes the odd one above); retry for one.
            self.sock.close()
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((host, free_udp_port(even=True)))
        self.sock.settimeout(0.2)
        self.host = host
        self.port = int(self.sock.getsockname()[1])
        self.remote: tuple[str, int] | None = None
        self.packets: list[RtpPacket] = []
        self.sent = 0
        self._lock = threading.Condition()
        self._closed = threading.Event()
        self._sending: threading.Event | None = None
        self._digits: list[str] = []  # RFC 4733 events to send in place of audio frames
        self.event_payload_type = 101
        self._receiver = threading.Thread(target=self._receive, daemon=True, name="rtp-recv")
        self._receiver.start()

    # -- receiving

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data, source = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            packet = parse_rtp(data, source, time.monotonic())
            if packet is None:
                continue
            with self._lock:
                self.packets.append(packet)
                self._lock.notify_all()

    def mark(self) -> int:
        """An index into `packets`, to look only at what arrives after now."""
        with self._lock:
            return len(self.packets)

    def received(self, since: int = 0) -> list[RtpPacket]:
        with self._lock:
            return self.packets[since:]

    def wait_packets(self, count: int, *, since: int = 0, timeout: float = 20.0) -> list[RtpPacket]:
        """Wait until `count` packets arrived after mark `since`; fail loudly if they do not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.packets) - since < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"RTP port {self.port}: {len(self.packets) - since} packets arrived in "
                        f"{timeout:.0f} s, wanted {count}"
                    )
                self._lock.wait(left)
            return self.packets[since : since + count]

    def wait_matching(
        self,
        reference: Sequence[int],
        *,
        frames: int = 50,
        min_loud: int = 25,
        timeout: float = 20.0,
        payload_type: int = PCMU,
    ) -> tuple[AudioMatch, int]:
        """Wait until `frames` consecutive received frames match `reference` (at least
        `min_loud` of them not silent). Returns the match and the mark where it started.

        Audio from before a switch (relay to playback, say) may still trickle in, so this keeps
        sliding the window rather than judging the first packets.
        """
        deadline = time.monotonic() + timeout
        start = self.mark()
        best: AudioMatch | None = None
        while time.monotonic() < deadline:
            got = self.received(start)
            if len(got) >= frames:
                window = [p.payload for p in got[:frames]]
                result = match_audio(window, reference, payload_type=payload_type)
                if result.matched == frames and result.matched_loud >= min_loud:
                    return result, start
                if best is None or result.matched > best.matched:
                    best = result
                start += max(1, frames // 5)
                continue
            time.sleep(0.05)
        raise AssertionError(
            f"RTP port {self.port}: no run of {frames} frames matching the reference within "
            f"{timeout:.0f} s; best window: {best}; packets received: {len(self.received())}"
        )

    def wait_quiet(self, *, quiet_for: float = 1.0, timeout: float = 20.0) -> None:
        """Wait until no packet has arrived for `quiet_for` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.packets[-1].at if self.packets else 0.0
            if time.monotonic() - last >= quiet_for:
                return
            time.sleep(0.1)
        raise AssertionError(f"RTP port {self.port}: packets still arriving after {timeout} s")

    # -- sending

    def send_frames(
        self,
        frames: Sequence[bytes],
        *,
        payload_type: int = PCMU,
        loop: bool = True,
        remote: tuple[str, int] | None = None,
    ) -> None:
        """Start sending the frames, paced at 20 ms without drift, in a thread."""
        self.stop_sending()
        if remote is not None:
            self.remote = remote
        stop = threading.Event()
        self._sending = stop
        thread = threading.Thread(
            target=self._send_loop,
            args=(list(frames), payload_type, loop, stop),
            daemon=True,
            name="rtp-send",
        )
        thread.start()

    def send_samples(
        self,
        samples: Sequence[int],
        *,
        payload_type: int = PCMU,
        loop: bool = True,
        remote: tuple[str, int] | None = None,
    ) -> None:
        frames = samples_to_frames(samples, payload_type)
        self.send_frames(frames, payload_type=payload_type, loop=loop, remote=remote)

    def _target(self) -> tuple[str, int] | None:
        if self.remote is not None:
            return self.remote
        with self._lock:
            return self.packets[-1].source if self.packets else None

    def _send_loop(
        self, frames: list[bytes], payload_type: int, loop: bool, stop: threading.Event
    ) -> None:
        ssrc = random.getrandbits(32)
        sequence = random.getrandbits(16)
        timestamp = random.getrandbits(32)
        started = time.monotonic()
        index = 0
        count = 0
        while not stop.is_set() and not self._closed.is_set():
            if index >= len(frames):
                if not loop or not frames:
                    return
                index = 0
            target = self._target()
            with self._lock:
                digit = self._digits.pop(0) if self._digits else None
            if digit is not None and target is not None:
                # The event takes the place of audio frames, in the same SSRC/sequence space.
                sequence = self._send_event(digit, target, ssrc, sequence, timestamp)
                timestamp += FRAME * EVENT_FRAMES
                count += EVENT_FRAMES
                delay = started + count * 0.02 - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                continue
            if target is not None:
                header = struct.pack(
                    "!BBHII",
                    0x80,
                    payload_type | (0x80 if count == 0 else 0),
                    sequence & 0xFFFF,
                    timestamp & 0xFFFFFFFF,
                    ssrc,
                )
                with contextlib.suppress(OSError):
                    self.sock.sendto(header + frames[index], target)
                    self.sent += 1
            sequence += 1
            timestamp += FRAME
            index += 1
            count += 1
            # Pace against the start time, not the previous send: no drift.
            delay = started + count * 0.02 - time.monotonic()
            if delay > 0:
                stop.wait(delay)

    def send_digit(self, digit: str) -> None:
        """Send an RFC 4733 telephone-event for `digit` (0-9, *, #) within the running stream."""
        assert digit in DTMF_EVENTS, digit
        with self._lock:
            self._digits.append(digit)

    def _send_event(
        self, digit: str, target: tuple[str, int], ssrc: int, sequence: int, timestamp: int
    ) -> int:
        """One 200 ms event: updates every 20 ms, the last one (end bit) sent three times."""
        event = DTMF_EVENTS[digit]
        packets = []
        for index in range(EVENT_FRAMES):
            end = index == EVENT_FRAMES - 1
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, (index + 1) * FRAME)
            copies = 3 if end else 1
            for _ in range(copies):
                marker = 0x80 if index == 0 else 0
                header = struct.pack(
                    "!BBHII",
                    0x80,
                    self.event_payload_type | marker,
                    sequence & 0xFFFF,
                    timestamp & 0xFFFFFFFF,
                    ssrc,
                )
                packets.append(header + payload)
                sequence += 1
        for index, packet in enumerate(packets):
            with contextlib.suppress(OSError):
                self.sock.sendto(packet, target)
            if index < len(packets) - 3:
                time.sleep(0.02)
        return sequence

    def stop_sending(self) -> None:
        if self._sending is not None:
            self._sending.set()
            self._sending = None

    def close(self) -> None:
        self.stop_sending()
        self._closed.set()
        self.sock.close()
        self._receiver.join(timeout=2)

    def __enter__(self) -> RtpEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
