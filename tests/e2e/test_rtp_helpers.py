"""The audio oracle of the end-to-end tests must not pass what it should not: checked here,
without any peer (pure code, fast)."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.support.rtp import (
    ALAW_TABLE,
    PCMA,
    PCMU,
    ULAW_TABLE,
    RtpEndpoint,
    decode,
    encode,
    make_signal,
    match_audio,
    parse_rtp,
    read_wav,
    samples_to_frames,
    write_wav,
)


def test_g711_tables_match_the_itu_reference_points() -> None:
    # G.711 mu-law: 0x00 and 0x80 are the extremes, 0xFF/0x7F the two zeros.
    assert ULAW_TABLE[0x00] == -32124 and ULAW_TABLE[0x80] == 32124
    assert ULAW_TABLE[0xFF] == 0 and ULAW_TABLE[0x7F] == 0
    # A-law: 0xD5 / 0x55 are the smallest steps (+8 / -8), 0xAA / 0x2A the extremes.
    assert ALAW_TABLE[0xD5] == 8 and ALAW_TABLE[0x55] == -8
    assert ALAW_TABLE[0xAA] == 32256 and ALAW_TABLE[0x2A] == -32256
    for law in (PCMU, PCMA):
        table = ULAW_TABLE if law == PCMU else ALAW_TABLE
        # Decoding then encoding any code gives the code back (both zeros of mu-law aside).
        assert all(encode([table[b]], law)[0] in (b, 0xFF, 0x7F) for b in range(256))


def test_match_audio_finds_frames_anywhere_and_rejects_other_audio() -> None:
    signal = make_signal(5, seed=1)
    frames = samples_to_frames(signal[37:])  # not aligned to the reference's frames
    assert match_audio(frames[:50], signal).matched == 50
    other = make_signal(5, seed=2)
    assert match_audio(samples_to_frames(other)[:50], signal).matched == 0
    silence = [bytes([0xFF]) * 160] * 50
    result = match_audio(silence, signal)
    assert result.matched_loud == 0 and result.silent == 50
    # Codec rounding (one step off here and there) is within the tolerance.
    nudged = [bytes(min(255, b + 1) if i % 9 == 0 else b for i, b in enumerate(f)) for f in frames]
    assert match_audio(nudged[:50], signal).matched >= 45


def test_wav_round_trip_and_an_unfinished_recording(tmp_path: Path) -> None:
    samples = make_signal(1, seed=3)
    path = write_wav(tmp_path / "a.wav", samples)
    assert read_wav(path) == samples
    # A recorder killed mid-call leaves zero sizes in the header: the samples still count.
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 0)
    struct.pack_into("<I", data, 40, 0)
    assert read_wav(bytes(data)) == samples


def test_rtp_endpoint_sends_paced_frames_that_parse_back() -> None:
    signal = make_signal(2, seed=4)
    with RtpEndpoint() as sender, RtpEndpoint() as receiver:
        sender.send_samples(signal, remote=("127.0.0.1", receiver.port))
        packets = receiver.wait_packets(25, timeout=20)
        sequences = [p.sequence for p in packets]
        assert sequences == [(sequences[0] + i) & 0xFFFF for i in range(25)]
        assert packets[0].marker and not packets[1].marker
        assert all(len(p.payload) == 160 and p.payload_type == PCMU for p in packets)
        assert decode(packets[0].payload) == decode(encode(signal[:160]))
        assert parse_rtp(b"\x00" * 12, ("", 0), 0.0) is None  # not version 2
