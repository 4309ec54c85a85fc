"""G.711 against the values of ITU-T G.711 and round trips."""

from __future__ import annotations

import struct

import pytest

from ringdesk.media import g711


@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xFF), (-1, 0x7F), (32767, 0x80), (-32768, 0x00), (100, 0xF2), (-100, 0x72)],
)
def test_ulaw_encodes_known_values(sample: int, code: int) -> None:
    assert g711.ulaw_encode_sample(sample) == code


@pytest.mark.parametrize(
    ("code", "sample"), [(0xFF, 0), (0x7F, 0), (0x80, 32124), (0x00, -32124), (0xF2, 104)]
)
def test_ulaw_decodes_known_values(code: int, sample: int) -> None:
    assert g711.ulaw_decode_sample(code) == sample


@pytest.mark.parametrize(
    ("sample", "code"), [(0, 0xD5), (-1, 0x55), (32767, 0xAA), (-32768, 0x2A), (1000, 0xFA)]
)
def test_alaw_encodes_known_values(sample: int, code: int) -> None:
    assert g711.alaw_encode_sample(sample) == code


@pytest.mark.parametrize(
    ("code", "sample"), [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256), (0xFA, 1008)]
)
def test_alaw_decodes_known_values(code: int, sample: int) -> None:
    assert g711.alaw_decode_sample(code) == sample


def test_every_code_survives_decode_then_encode() -> None:
    # 0x7F is mu-law's "negative zero": it decodes to 0, which encodes as 0xFF.
    assert [g711.ulaw_encode_sample(g711.ULAW_TO_LINEAR[c]) for c in range(256)] == [
        0xFF if c == 0x7F else c for c in range(256)
    ]
    assert [g711.alaw_encode_sample(g711.ALAW_TO_LINEAR[c]) for c in range(256)] == list(range(256))


@pytest.mark.parametrize("pt", g711.CODECS)
def test_linear_round_trip_error_is_within_quantisation(pt: int) -> None:
    samples = list(range(-32768, 32768, 37))
    pcm = struct.pack(f"<{len(samples)}h", *samples)
    back = struct.unpack(f"<{len(samples)}h", g711.decode(g711.encode(pcm, pt), pt))
    for original, decoded in zip(samples, back, strict=True):
        # G.711 keeps 4 mantissa bits: the error is under 1/16 of the value (plus a small floor).
        assert abs(original - decoded) <= max(16, abs(original) // 16 + 8)


@pytest.mark.parametrize("pt", g711.CODECS)
def test_bulk_decode_matches_sample_tables(pt: int) -> None:
    table = g711.ULAW_TO_LINEAR if pt == g711.PCMU else g711.ALAW_TO_LINEAR
    payload = bytes(range(256))
    assert struct.unpack("<256h", g711.decode(payload, pt)) == table


def test_transcoding_tables_keep_the_sound() -> None:
    for code in range(256):
        alaw = g711.ULAW_TO_ALAW[code]
        assert abs(g711.ALAW_TO_LINEAR[alaw] - g711.ULAW_TO_LINEAR[code]) <= max(
            64, abs(g711.ULAW_TO_LINEAR[code]) // 16
        )
    assert g711.transcode_table(g711.PCMU, g711.PCMU) is None
    assert g711.transcode_table(g711.PCMA, g711.PCMU) == g711.ALAW_TO_ULAW
    with pytest.raises(ValueError):
        g711.transcode_table(0, 18)


def test_encode_refuses_unknown_payload_type() -> None:
    with pytest.raises(ValueError):
        g711.encode(b"\0\0", 9)
