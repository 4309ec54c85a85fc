"""Digits a caller presses: RFC 4733 telephone-events, or DTMF tones in the G.711 audio.

One DigitDetector per leg, fed every RTP packet the leg receives (after SRTP). A leg that
negotiated telephone-event uses only the events; in-band detection (ITU-T Q.23 tone pairs) runs
only on a leg without it, so a phone that sends both never gives a digit twice.

Events: a key press is one RTP timestamp (RFC 4733 section 2.5.1.2: every packet of an event,
the three end packets too, carries the timestamp of its start). A digit is reported at the first
packet seen with a newer timestamp than the last press, whatever its place in the event (the
start may be lost); packets with that timestamp or an older one (late, reordered) report nothing.

In-band: each 20 ms frame (160 samples) goes through cheap gates first, so silence and most
speech or music cost a few microseconds: a frame energy gate (bytes.translate to a coarse
squared-sample byte, summed in C) and a zero-crossing gate (two tones of 697-1633 Hz cross zero
about 28-65 times in 20 ms). A frame that passes is correlated with all eight Q.23 frequencies
at once: every sample, offset to be non-negative, multiplies one big integer per sample position
that holds the cosine and sine of each frequency in its own 64-bit field, and one C-level
sum(map(mul, ...)) adds them, so the sixteen correlations come out of the fields of one number.
A frame is the digit when the strongest row and column tone are each loud enough, each at least
_GROUP_DB above the others of its group, within the twist limits, and together carry at least
_PAIR_SHARE of the frame's energy. A press is reported when two consecutive frames are the same
digit (40 ms), and that digit again only after two frames without it (or a gap of at least
two frames in the RTP timestamps: a phone that suppresses silence sends nothing in the pause).
"""

from __future__ import annotations

import math
import struct
from operator import mul

from ringdesk.media import g711
from ringdesk.media.rtp import payload_bounds

DIGITS = "0123456789*#ABCD"  # RFC 4733 event codes 0-15 in order

RATE = 8000
FRAME = 160  # samples in 20 ms, the analysis frame
ROWS = (697, 770, 852, 941)
COLUMNS = (1209, 1336, 1477, 1633)
KEYPAD = ("123A", "456B", "789C", "*0#D")  # KEYPAD[row][column]

# Thresholds; the tests in tests/unit/media/test_dtmf.py are what they were chosen against.
# The weakest tone accepted, as a sine's peak in 16-bit samples: 700 is about -30 dBm0 (a
# full-scale G.711 sine, peak 32124, is +3.17 dBm0).
MIN_TONE_AMPLITUDE = 700
_GROUP_DB = 10.0  # strongest tone above every other tone of its group (adjacent leakage -13 dB)
_ROW_OVER_COLUMN_DB = 8.0  # twist: the low-group tone may be this much louder than the high one
_COLUMN_OVER_ROW_DB = 4.0  # and the high-group tone this much louder than the low one
_PAIR_SHARE = 0.6  # the two tones' share of the frame energy (a frame 75 % tone has 0.75)
_MIN_CROSSINGS, _MAX_CROSSINGS = 18, 80  # zero crossings per frame a tone pair can have

_GROUP_RATIO = 10 ** (_GROUP_DB / 10)
_ROW_OVER_COLUMN = 10 ** (_ROW_OVER_COLUMN_DB / 10)
_COLUMN_OVER_ROW = 10 ** (_COLUMN_OVER_ROW_DB / 10)
_MIN_TONE_ENERGY = FRAME * MIN_TONE_AMPLITUDE**2 / 2  # sum of squares of such a tone, 20 ms

_LINEAR = {g711.PCMU: g711.ULAW_TO_LINEAR, g711.PCMA: g711.ALAW_TO_LINEAR}
_SQUARES = {pt: tuple(s * s for s in table) for pt, table in _LINEAR.items()}
# Energy gate: each code's squared sample in units of _GATE_UNIT, clipped to a byte. A frame
# passes when the sum reaches one tone at the minimum level: a pair needs two of them, so the
# gate never rejects a frame the full check would accept (a clipped sample is 12 dB above the
# gate's mean level, so clipping only lowers sums that are far above it).
_GATE_UNIT = MIN_TONE_AMPLITUDE**2 // 16
_GATE = {pt: bytes(min(255, s * s // _GATE_UNIT) for s in t) for pt, t in _LINEAR.items()}
_GATE_MIN = int(_MIN_TONE_ENERGY // _GATE_UNIT)
# Bit 7 of a PCMU or PCMA code is the sample's sign.
_SIGN = bytes(code >> 7 for code in range(256))

# The correlation: sample a (as a + 32768 >= 0) times one integer per position n whose 64-bit
# field 2k holds cos(2 pi f_k n / RATE) and field 2k + 1 the sine, scaled by _SCALE and offset
# by _SCALE to be non-negative; field 16 holds 1, so it sums the offset samples. Fields never
# carry into each other: 65535 * 2 * _SCALE * 160 < 2**64.
_SCALE = 1 << 14
_OFFSET = 32768
_FIELD = 64
_FREQUENCIES = ROWS + COLUMNS
_FIELDS = struct.Struct(f"<{2 * len(_FREQUENCIES) + 1}Q")


def _tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per-position packed coefficients, and each field's coefficient sum (for the offsets)."""
    packed: list[int] = []
    sums = [0] * (2 * len(_FREQUENCIES))
    for n in range(FRAME):
        value = 1 << (_FIELD * 2 * len(_FREQUENCIES))
        for k, frequency in enumerate(_FREQUENCIES):
            phase = 2 * math.pi * frequency * n / RATE
            for j, coefficient in enumerate((math.cos(phase), math.sin(phase))):
                scaled = round(_SCALE * coefficient)
                sums[2 * k + j] += scaled
                value |= (scaled + _SCALE) << (_FIELD * (2 * k + j))
        packed.append(value)
    return tuple(packed), tuple(sums)


_PACKED, _COEFFICIENT_SUMS = _tables()
_UNSIGNED = {pt: tuple(s + _OFFSET for s in table) for pt, table in _LINEAR.items()}
# Tone energy (sum of squares of the tone alone) from a correlation: 2 |X|^2 / N, X unscaled.
_TO_ENERGY = 2 / (FRAME * _SCALE * _SCALE)


def _frame_digit(frame: bytes, payload_type: int) -> str | None:
    """The digit one 160-sample G.711 frame holds, None if it is not a clean tone pair."""
    if sum(frame.translate(_GATE[payload_type])) < _GATE_MIN:
        return None
    signs = frame.translate(_SIGN)
    crossings = signs.count(b"\x00\x01") + signs.count(b"\x01\x00")
    if not _MIN_CROSSINGS <= crossings <= _MAX_CROSSINGS:
        return None
    total = sum(map(mul, map(_UNSIGNED[payload_type].__getitem__, frame), _PACKED))
    fields = _FIELDS.unpack(total.to_bytes(_FIELDS.size, "little"))
    # Undo the offsets: sum (a + O)(c + S) = sum ac + S sum a + O sum c + N O S.
    sample_sum = fields[-1] - FRAME * _OFFSET
    base = _SCALE * sample_sum + _OFFSET * _SCALE * FRAME
    energies = []
    for k in range(len(_FREQUENCIES)):
        re = fields[2 * k] - base - _OFFSET * _COEFFICIENT_SUMS[2 * k]
        im = fields[2 * k + 1] - base - _OFFSET * _COEFFICIENT_SUMS[2 * k + 1]
        energies.append((re * re + im * im) * _TO_ENERGY)
    rows, columns = energies[:4], energies[4:]
    row = max(range(4), key=rows.__getitem__)
    column = max(range(4), key=columns.__getitem__)
    low, high = rows[row], columns[column]
    if low < _MIN_TONE_ENERGY or high < _MIN_TONE_ENERGY:
        return None
    if low > high * _ROW_OVER_COLUMN or high > low * _COLUMN_OVER_ROW:
        return None
    if any(e * _GROUP_RATIO > low for i, e in enumerate(rows) if i != row):
        return None
    if any(e * _GROUP_RATIO > high for i, e in enumerate(columns) if i != column):
        return None
    energy = sum(map(_SQUARES[payload_type].__getitem__, frame))
    if low + high < _PAIR_SHARE * energy:
        return None
    return KEYPAD[row][column]


class DigitDetector:
    """Digits a caller presses, from one leg's received RTP (plain RTP, after any SRTP)."""

    def __init__(self, payload_type: int, telephone_event_pt: int | None) -> None:
        if payload_type not in _LINEAR:
            raise ValueError(f"not a G.711 payload type: {payload_type}")
        self.payload_type = payload_type
        self.telephone_event_pt = telephone_event_pt
        self.telephone_events_seen = False
        # RFC 4733: the last press (timestamp, SSRC), its event, whether it ended, its duration.
        self._event_ts: int | None = None
        self._event_ssrc = b""
        self._event_code = -1
        self._event_ended = False
        self._event_duration = 0
        self._event_stamp = b""  # the last press's RTP timestamp and SSRC, as on the wire
        # In-band: samples waiting for a whole frame, the next expected RTP timestamp, the
        # previous frame's digit and how many frames in a row had it, the digit reported and
        # still held, and how many frames it has been absent.
        self._pending = bytearray()
        self._next_ts: int | None = None
        self._last: str | None = None
        self._run = 0
        self._held: str | None = None
        self._absent = 0

    def feed(self, packet: bytes) -> str | None:
        """One received RTP packet (12-byte header + CSRCs/extension + payload, as on the wire);
        returns a digit the moment a new key press is recognised, else None."""
        if len(packet) < 12:
            return None
        payload_type = packet[1] & 0x7F
        if payload_type == self.telephone_event_pt:
            return self._event(packet)
        if payload_type != self.payload_type or self.telephone_event_pt is not None:
            return None
        return self._audio(packet)

    # -- RFC 4733

    def _event(self, packet: bytes) -> str | None:
        if self._event_ended and packet[4:12] == self._event_stamp:
            # A retransmitted end packet of the last press (three are sent): nothing it holds
            # can change, so it costs one comparison, not a parse.
            return None
        bounds = payload_bounds(packet)
        if bounds is None or bounds[1] - bounds[0] < 4:
            return None
        start = bounds[0]
        self.telephone_events_seen = True
        event = packet[start]
        ended = bool(packet[start + 1] & 0x80)
        duration = int.from_bytes(packet[start + 2 : start + 4], "big")
        timestamp = int.from_bytes(packet[4:8], "big")
        ssrc = packet[8:12]
        if ssrc != self._event_ssrc:  # a new source: its timestamps start anywhere
            self._event_ssrc = ssrc
            self._event_ts = None
        if self._event_ts is not None:
            delta = (timestamp - self._event_ts) & 0xFFFFFFFF
            if delta == 0 or delta >= 0x80000000:  # this press again, or an older one
                if delta == 0:
                    self._event_ended = self._event_ended or ended
                    self._event_duration = max(self._event_duration, duration)
                return None
            if (
                event == self._event_code
                and not self._event_ended
                and self._event_duration >= 0xFF00
            ):
                # RFC 4733 section 2.5.1.3: an event longer than the duration field holds goes
                # on in a new segment with a new timestamp; it is still the same press.
                self._event_ts, self._event_duration, self._event_ended = timestamp, duration, ended
                self._event_stamp = packet[4:12]
                return None
        self._event_ts = timestamp
        self._event_stamp = packet[4:12]
        self._event_code = event
        self._event_ended = ended
        self._event_duration = duration
        return DIGITS[event] if event < len(DIGITS) else None

    # -- in-band

    def _audio(self, packet: bytes) -> str | None:
        bounds = payload_bounds(packet)
        if bounds is None:
            return None
        start, end = bounds
        timestamp = int.from_bytes(packet[4:8], "big")
        if self._next_ts is not None:
            gap = (timestamp - self._next_ts) & 0xFFFFFFFF
            if 2 * FRAME <= gap < 0x80000000:  # two frames or more never sent (or lost)
                self._pending.clear()
                self._last, self._run, self._held, self._absent = None, 0, None, 0
        self._next_ts = (timestamp + end - start) & 0xFFFFFFFF
        if not self._pending and end - start == FRAME:
            return self._frame(packet[start:end])
        self._pending += packet[start:end]
        found = None
        while len(self._pending) >= FRAME:
            digit = self._frame(bytes(self._pending[:FRAME]))
            del self._pending[:FRAME]
            found = found or digit
        return found

    def _frame(self, frame: bytes) -> str | None:
        digit = _frame_digit(frame, self.payload_type)
        if digit is not None and digit == self._last:
            self._run += 1
        else:
            self._run = 1 if digit is not None else 0
        self._last = digit
        if self._held is not None:
            if digit == self._held:
                self._absent = 0
                return None
            self._absent += 1
            if self._absent < 2:
                return None
            self._held = None
        if digit is not None and self._run >= 2:
            self._held, self._absent = digit, 0
            return digit
        return None
