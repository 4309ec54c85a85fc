"""G.711 PCMU (mu-law) and PCMA (A-law) codecs, written from ITU-T G.711.

Everything is table driven: decoding uses `bytes.translate` with one table for the low and one
for the high byte of each 16-bit sample, so a 160-byte frame decodes in C. Encoding goes through a
65,536-entry table indexed by the unsigned sample; it is built on first use (sounds are encoded
once and cached, the hot relay path never encodes).
"""

from __future__ import annotations

import sys
from array import array
from functools import cache

PCMU = 0
PCMA = 8
CODECS = (PCMU, PCMA)

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635
# Upper bound of each A-law segment, on the 13-bit magnitude.
_ALAW_SEGMENT_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def ulaw_encode_sample(sample: int) -> int:
    """One signed 16-bit sample to a mu-law byte."""
    if sample < 0:
        magnitude, mask = -sample, 0x7F
    else:
        magnitude, mask = sample, 0xFF
    magnitude = min(magnitude, _ULAW_CLIP) + _ULAW_BIAS
    exponent = (magnitude >> 7).bit_length() - 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ((exponent << 4) | mantissa) ^ mask


def ulaw_decode_sample(code: int) -> int:
    """One mu-law byte to a signed 16-bit sample."""
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return -magnitude if code & 0x80 else magnitude


def alaw_encode_sample(sample: int) -> int:
    """One signed 16-bit sample to an A-law byte (A-law works on 13 bits)."""
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    segment = next((i for i, end in enumerate(_ALAW_SEGMENT_END) if value <= end), 8)
    if segment == 8:
        return 0x7F ^ mask  # beyond the last segment: clip
    shift = 1 if segment < 2 else segment
    return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask


def alaw_decode_sample(code: int) -> int:
    """One A-law byte to a signed 16-bit sample."""
    code ^= 0x55
    magnitude = (code & 0x0F) << 4
    segment = (code >> 4) & 0x07
    if segment == 0:
        magnitude += 8
    else:
        magnitude = (magnitude + 0x108) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


ULAW_TO_LINEAR: tuple[int, ...] = tuple(ulaw_decode_sample(c) for c in range(256))
ALAW_TO_LINEAR: tuple[int, ...] = tuple(alaw_decode_sample(c) for c in range(256))


def _byte_tables(linear: tuple[int, ...]) -> tuple[bytes, bytes]:
    """translate() tables giving the low and the high byte of each little-endian sample."""
    low = bytes(v & 0xFF for v in linear)
    high = bytes((v >> 8) & 0xFF for v in linear)
    return low, high


_DECODE_TABLES = {PCMU: _byte_tables(ULAW_TO_LINEAR), PCMA: _byte_tables(ALAW_TO_LINEAR)}

# Transcoding between the two laws is a single byte-for-byte translate.
ULAW_TO_ALAW = bytes(alaw_encode_sample(v) for v in ULAW_TO_LINEAR)
ALAW_TO_ULAW = bytes(ulaw_encode_sample(v) for v in ALAW_TO_LINEAR)


def transcode_table(from_pt: int, to_pt: int) -> bytes | None:
    """The translate() table from one G.711 payload type to the other; None if no change."""
    if from_pt == to_pt:
        return None
    if (from_pt, to_pt) == (PCMU, PCMA):
        return ULAW_TO_ALAW
    if (from_pt, to_pt) == (PCMA, PCMU):
        return ALAW_TO_ULAW
    raise ValueError(f"not a G.711 payload type pair: {from_pt} -> {to_pt}")


def decode(payload: bytes, payload_type: int) -> bytes:
    """G.711 bytes to 16-bit little-endian PCM."""
    low, high = _DECODE_TABLES[payload_type]
    out = bytearray(2 * len(payload))
    out[0::2] = payload.translate(low)
    out[1::2] = payload.translate(high)
    return bytes(out)


@cache
def _encode_table(payload_type: int) -> bytes:
    encode_sample = ulaw_encode_sample if payload_type == PCMU else alaw_encode_sample
    # Index is the sample as unsigned 16 bits, so negative samples sit in the upper half.
    return bytes(encode_sample(i - 65536 if i >= 32768 else i) for i in range(65536))


def encode(pcm: bytes, payload_type: int) -> bytes:
    """16-bit little-endian PCM to G.711 bytes."""
    if payload_type not in _DECODE_TABLES:
        raise ValueError(f"not a G.711 payload type: {payload_type}")
    samples = array("H")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return bytes(map(_encode_table(payload_type).__getitem__, samples))


def encode_samples(samples: array[int], payload_type: int) -> bytes:
    """Signed 16-bit samples (array 'h') to G.711 bytes."""
    table = _encode_table(payload_type)
    return bytes(table[s & 0xFFFF] for s in samples)
