"""Sounds: reading WAV files into 20 ms G.711 frames, and the project's own default sounds.

Accepted WAV: integer PCM of 8, 16, 24 or 32 bits, any channel count (mixed down to mono), any
sample rate (resampled to 8 kHz through a windowed-sinc low-pass, so a 44.1 kHz upload's highs
do not fold back into the telephone band as hiss), and WAV already in G.711 mu-law or A-law.
Python 3.11's `wave` reads only integer PCM, so the G.711 and WAVE_FORMAT_EXTENSIBLE cases go
through a small RIFF chunk reader of ours.
"""

from __future__ import annotations

import hashlib
import io
import math
import operator
import os
import struct
import sys
import threading
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import repeat
from pathlib import Path

from ringdesk.media import g711

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
MAX_SECONDS = 600  # an upload longer than 10 minutes is refused rather than held in memory

_FORMAT_PCM = 1
_FORMAT_ALAW = 6
_FORMAT_ULAW = 7
_FORMAT_EXTENSIBLE = 0xFFFE
_FLIP_TOP_BIT = bytes(b ^ 0x80 for b in range(256))


@dataclass(frozen=True, slots=True)
class WavInfo:
    channels: int
    rate: int
    sample_width: int  # bytes per sample of one channel
    frames: int  # samples per channel
    encoding: str  # "pcm", "ulaw" or "alaw"

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def _read_riff(data: bytes) -> tuple[int, int, int, int, bytes]:
    """(format tag, channels, rate, bits per sample, sample data) from a RIFF/WAVE file."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file (no RIFF/WAVE header)")
    offset = 12
    fmt: tuple[int, int, int, int] | None = None
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = data[offset + 8 : offset + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise ValueError("WAV fmt chunk is too short")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == _FORMAT_EXTENSIBLE and len(body) >= 26:
                # The real format is the first two bytes of the sub-format GUID.
                (tag,) = struct.unpack_from("<H", body, 24)
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise ValueError("WAV data chunk comes before its fmt chunk")
            return (*fmt, body)
        offset += 8 + size + (size & 1)  # chunks are word aligned
    raise ValueError("WAV file has no data chunk" if fmt else "WAV file has no fmt chunk")


def _to_int16(raw: bytes, width: int) -> array[int]:
    """Interleaved integer PCM of any width to signed 16-bit samples (keeping the top bits)."""
    samples = array("h")
    if width == 2:
        samples.frombytes(raw[: len(raw) - len(raw) % 2])
    elif width == 1:  # 8-bit WAV is unsigned: flipping the top bit makes it the high byte
        wide = bytearray(2 * len(raw))
        wide[1::2] = raw.translate(_FLIP_TOP_BIT)
        samples.frombytes(bytes(wide))
    else:
        count = len(raw) // width
        top = bytearray(2 * count)
        top[0::2] = raw[width - 2 : count * width : width]
        top[1::2] = raw[width - 1 : count * width : width]
        samples.frombytes(bytes(top))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _decode(data: bytes) -> tuple[WavInfo, array[int]]:
    """A WAV file's samples as signed 16-bit, interleaved, at the file's own rate."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels, width, rate = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
            )
            raw = reader.readframes(reader.getnframes())
        encoding = "pcm"
    except (wave.Error, EOFError, struct.error):
        tag, channels, rate, bits, raw = _read_riff(data)
        if tag == _FORMAT_ULAW and bits == 8:
            encoding, width = "ulaw", 1
        elif tag == _FORMAT_ALAW and bits == 8:
            encoding, width = "alaw", 1
        elif tag == _FORMAT_PCM and bits in (8, 16, 24, 32):
            encoding, width = "pcm", bits // 8
        else:
            raise ValueError(
                f"unsupported WAV encoding (format {tag}, {bits} bits): use PCM or G.711"
            ) from None
    if channels < 1 or rate < 1000 or rate > 384000:
        raise ValueError(f"unusable WAV: {channels} channels at {rate} Hz")
    if width not in (1, 2, 3, 4):
        raise ValueError(f"unsupported WAV sample width: {8 * width} bits")
    frames = len(raw) // (width * channels)
    info = WavInfo(channels, rate, width, frames, encoding)
    if frames == 0:
        raise ValueError("WAV file holds no audio")
    if info.seconds > MAX_SECONDS:
        raise ValueError(f"WAV file is {info.seconds:.0f} s long; the limit is {MAX_SECONDS} s")
    raw = raw[: frames * width * channels]
    if encoding == "pcm":
        return info, _to_int16(raw, width)
    pt = g711.PCMU if encoding == "ulaw" else g711.PCMA
    return info, _to_int16(g711.decode(raw, pt), 2)


# Uploads can be minutes of 44.1 kHz stereo: only the samples the 8 kHz output needs are mixed and
# interpolated, with C-level slicing and map() wherever possible.


def _mix(columns: list[list[int]]) -> list[int]:
    if len(columns) == 1:
        return columns[0]
    total = list(map(operator.add, columns[0], columns[1]))
    for column in columns[2:]:
        total = list(map(operator.add, total, column))
    return list(map(operator.floordiv, total, repeat(len(columns))))


# The band-limited resampler (uploads and the speech engine's output): a Hamming-windowed sinc
# low-pass at the new Nyquist frequency, one row of taps per output phase.
_TAPS = 40  # filter length in input samples (under 2 ms at 22,050 Hz)
_CUTOFF = 4000.0  # Hz: 3.4 kHz passes within 0.5 dB, 5 kHz and above is 55 dB down
_MAX_PHASES = 512  # rates needing more filter phases than this are interpolated linearly


@cache
def _filter(rate: int) -> tuple[int, int, tuple[tuple[float, ...], ...]] | None:
    """(up, down, one coefficient row per phase) resampling `rate` to 8 kHz, or None.

    Output sample i lies at input position i * down / up; its phase (i * down) % up picks the
    row of a Hamming-windowed sinc centred on that position, cut off at `_CUTOFF`, each row
    scaled to unit gain.
    """
    g = math.gcd(rate, RATE)
    up, down = RATE // g, rate // g
    if up > _MAX_PHASES:
        return None
    half = _TAPS // 2
    cutoff = min(_CUTOFF, rate / 2) / rate  # cycles per input sample
    rows = []
    for phase in range(up):
        row = []
        for k in range(_TAPS):
            t = k - (half - 1) - phase / up  # distance from the output position, in samples
            x = 2 * cutoff * t
            sinc = 1.0 if t == 0 else math.sin(math.pi * x) / (math.pi * x)
            row.append(2 * cutoff * sinc * (0.54 + 0.46 * math.cos(math.pi * t / half)))
        gain = sum(row)
        rows.append(tuple(c / gain for c in row))
    return up, down, tuple(rows)


def resample(samples: Sequence[int], rate: int) -> list[float] | None:
    """Mono samples at `rate` to 8 kHz, band-limited (no aliases folded into the voice band),
    in the input's units; None for a rate it does not do (the caller interpolates)."""
    design = _filter(rate)
    if design is None:
        return None
    up, down, rows = design
    half = _TAPS // 2
    padded = [*([0] * half), *samples, *([0] * half)]
    mul = operator.mul
    out = []
    for i in range(len(samples) * up // down):
        base, phase = divmod(i * down, up)
        out.append(sum(map(mul, rows[phase], padded[base + 1 : base + 1 + _TAPS])))
    return out


def _clip(value: float) -> int:
    return -32768 if value < -32768 else 32767 if value > 32767 else round(value)


def _to_mono_8k(samples: array[int], channels: int, rate: int) -> array[int]:
    """Mix down to mono and resample to 8 kHz (band-limited; linear interpolation for a rate
    the filter does not do)."""
    columns = [samples[c::channels] for c in range(channels)]
    if rate == RATE:
        return array("h", _mix([list(column) for column in columns]))
    filtered = resample(_mix([list(column) for column in columns]), rate)
    if filtered is not None:
        return array("h", map(_clip, filtered))
    ratio = rate / RATE
    last = len(columns[0]) - 1
    points = [i * ratio for i in range(int(len(columns[0]) / ratio))]
    here = list(map(int, points))
    after = [min(j + 1, last) for j in here]
    a = _mix([list(map(column.__getitem__, here)) for column in columns])
    b = _mix([list(map(column.__getitem__, after)) for column in columns])
    return array(
        "h",
        [int(x + (y - x) * (p - j)) for x, y, p, j in zip(a, b, points, here, strict=True)],
    )


def read_wav(data: bytes) -> array[int]:
    """A WAV file's audio as 8 kHz mono signed 16-bit samples."""
    info, samples = _decode(data)
    return _to_mono_8k(samples, info.channels, info.rate)


def wav_info(data: bytes) -> WavInfo:
    return _decode(data)[0]


def validate_wav(data: bytes) -> None:
    """Check an uploaded WAV plays; raise ValueError saying what is wrong if not."""
    if not data:
        raise ValueError("the file is empty")
    _decode(bytes(data))


def to_frames(samples: array[int], payload_type: int) -> tuple[bytes, ...]:
    """Encode 8 kHz samples as 20 ms G.711 frames, the last one padded with silence."""
    padded = array("h", samples)
    padded.extend([0] * (-len(padded) % FRAME_SAMPLES))
    pcm = padded.tobytes() if sys.byteorder == "little" else _swapped(padded)
    encoded = g711.encode(pcm, payload_type)
    return tuple(encoded[i : i + FRAME_SAMPLES] for i in range(0, len(encoded), FRAME_SAMPLES))


def _swapped(samples: array[int]) -> bytes:
    copy = array("h", samples)
    copy.byteswap()
    return copy.tobytes()


class SoundCache:
    """Encoded frames per (file, codec), reloaded when the file changes on disk."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, int], tuple[tuple[int, int], tuple[bytes, ...]]] = {}

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int]:
        stat = os.stat(path)
        return stat.st_mtime_ns, stat.st_size

    def cached(self, path: Path, payload_type: int) -> tuple[bytes, ...] | None:
        """The frames if they are cached and still current, without reading the file."""
        key = (str(path), payload_type)
        try:
            stamp = self._stamp(path)
        except OSError:
            return None
        with self._lock:
            entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] == stamp else None

    def frames(self, path: Path, payload_type: int) -> tuple[bytes, ...]:
        """The sound as 20 ms frames for this payload type (reads and encodes on a miss)."""
        hit = self.cached(path, payload_type)
        if hit is not None:
            return hit
        stamp = self._stamp(path)
        frames = to_frames(read_wav(Path(path).read_bytes()), payload_type)
        with self._lock:
            self._entries[(str(path), payload_type)] = (stamp, frames)
        return frames


# --- the project's own default sounds -------------------------------------------------------

DEFAULT_NAMES = ("hold_music", "queue_music", "force_disconnect", "overflow", "beep")


def _note(midi: int) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _add_tone(
    buffer: list[float],
    start: float,
    duration: float,
    frequency: float,
    level: float,
    *,
    attack: float = 0.02,
    decay: float = 3.0,
) -> None:
    """Mix a soft tone (sine plus a quiet octave) with attack and exponential decay."""
    first = int(start * RATE)
    count = min(int(duration * RATE), len(buffer) - first)
    release = min(0.05, duration / 4)
    w = 2 * math.pi * frequency / RATE
    for n in range(count):
        t = n / RATE
        envelope = min(1.0, t / attack) * math.exp(-decay * t)
        envelope *= min(1.0, (duration - t) / release)  # fade out: no click at the note's end
        buffer[first + n] += level * envelope * (math.sin(w * n) + 0.2 * math.sin(2 * w * n))


def _melody(
    chords: Sequence[tuple[int, ...]], beat: float, seed_pattern: tuple[int, ...]
) -> list[float]:
    """Chords held for four beats each, with an arpeggio over them."""
    total = len(chords) * 4 * beat
    buffer = [0.0] * int(total * RATE)
    for index, chord in enumerate(chords):
        at = index * 4 * beat
        _add_tone(buffer, at, 4 * beat, _note(chord[0] - 12), 0.10, decay=0.8)  # bass
        for pitch in chord:
            _add_tone(buffer, at, 4 * beat, _note(pitch), 0.07, attack=0.08, decay=0.6)
        for step, which in enumerate(seed_pattern):
            pitch = chord[which % len(chord)] + 12 * (which // len(chord))
            _add_tone(buffer, at + step * beat / 2, beat, _note(pitch + 12), 0.08, decay=4.0)
    return buffer


def _beeps(
    pattern: list[tuple[float, float]], gap: float, rounds: int, pause: float
) -> list[float]:
    """A tone pattern: (frequency, seconds) beeps separated by gaps, repeated."""
    buffer: list[float] = []
    for _ in range(rounds):
        for frequency, seconds in pattern:
            tone = [0.0] * int(seconds * RATE)
            _add_tone(tone, 0.0, seconds, frequency, 0.45, attack=0.01, decay=0.0)
            buffer.extend(tone)
            buffer.extend([0.0] * int(gap * RATE))
        buffer.extend([0.0] * int(pause * RATE))
    return buffer


def _default_sound(name: str) -> list[float]:
    # MIDI note numbers: C major I-vi-IV-V for hold, a calmer F major progression for the queue.
    if name == "hold_music":
        chords = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)]
        return _melody(chords, 0.5, (0, 1, 2, 3, 2, 1, 0, 1))
    if name == "queue_music":
        chords = [(53, 57, 60), (50, 53, 57), (58, 62, 65), (60, 64, 67)]
        return _melody(chords, 0.6, (0, 2, 1, 3, 0, 2, 1, 2))
    if name == "force_disconnect":  # three descending beeps, twice
        return _beeps([(880.0, 0.25), (660.0, 0.25), (440.0, 0.4)], 0.1, 2, 0.5)
    if name == "overflow":  # the rising three-tone "cannot complete" signal, twice
        return _beeps([(950.0, 0.33), (1400.0, 0.33), (1800.0, 0.33)], 0.03, 2, 0.8)
    if name == "beep":  # the tone after a voicemail greeting: speak now
        return _beeps([(1000.0, 0.4)], 0.0, 1, 0.1)
    raise ValueError(f"no default sound named {name!r}")


def render_wav(buffer: list[float]) -> bytes:
    """Float samples (-1..1) to an 8 kHz 16-bit mono WAV file."""
    samples = array("h", (max(-32767, min(32767, int(v * 32767))) for v in buffer))
    if sys.byteorder == "big":
        samples.byteswap()
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(samples.tobytes())
    return out.getvalue()


@cache
def _default_wav(name: str) -> bytes:
    return render_wav(_default_sound(name))  # deterministic: rendered once per process


STAMP = "defaults.stamp"  # the fingerprint of the code that wrote the default sounds


def generate_defaults(directory: Path) -> dict[str, Path]:
    """Write the default sounds into `directory` (if missing or changed); name -> WAV path.

    Synthesising them costs seconds of CPU (pure Python, per sample), so a start whose files
    were written by this very code (the stamp holds a hash of this module) keeps them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / f"{name}.wav" for name in DEFAULT_NAMES}
    stamp = directory / STAMP
    fingerprint = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    try:
        current = stamp.read_text().strip() == fingerprint
    except OSError:
        current = False
    if current and all(path.exists() for path in paths.values()):
        return paths
    for name, path in paths.items():
        content = _default_wav(name)
        if not path.exists() or path.read_bytes() != content:
            partial = path.with_suffix(f".wav.{os.getpid()}.part")
            partial.write_bytes(content)
            os.replace(partial, path)  # atomic: a playing server never reads half a file
    partial = stamp.with_suffix(f".{os.getpid()}.part")
    partial.write_text(fingerprint + "\n")
    os.replace(partial, stamp)
    return paths
