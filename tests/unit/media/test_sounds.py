"""WAV reading, resampling, G.711 framing, validation and the generated default sounds."""

from __future__ import annotations

import io
import itertools
import math
import struct
import wave
from array import array
from pathlib import Path

import pytest

from ringdesk.media import g711, sounds


def make_wav(samples: list[int], *, rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        if width == 1:
            writer.writeframes(bytes((s >> 8) + 128 for s in samples))
        else:
            writer.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return out.getvalue()


def g711_wav(payload: bytes, format_tag: int) -> bytes:
    """A WAV file holding G.711 bytes (format 7 mu-law, 6 A-law), which `wave` cannot write."""
    fmt = struct.pack("<HHIIHHH", format_tag, 1, 8000, 8000, 1, 8, 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sine(frequency: float, rate: int, seconds: float, level: int = 10000) -> list[int]:
    return [
        round(level * math.sin(2 * math.pi * frequency * n / rate))
        for n in range(int(rate * seconds))
    ]


def test_8khz_mono_16bit_is_read_unchanged() -> None:
    samples = sine(440, 8000, 0.1)
    assert list(sounds.read_wav(make_wav(samples))) == samples


def _gain_db(samples: list[int] | array[int], level: float) -> float:
    inner = list(samples)[200:-200]
    rms = math.sqrt(sum(v * v for v in inner) / len(inner))
    return 20 * math.log10(max(rms, 1e-9) / (level / math.sqrt(2)))


@pytest.mark.parametrize("rate", [16000, 11025, 44100, 48000])
def test_uploads_are_resampled_band_limited_voice_passes_and_highs_do_not_fold_back(
    rate: int,
) -> None:
    # 1 kHz passes; 6 kHz (above the new Nyquist) would fold back to 2 kHz by plain
    # decimation or interpolation: the low-pass stops it.
    voice = sounds.read_wav(make_wav(sine(1000, rate, 0.5, level=10000), rate=rate))
    assert abs(len(voice) - 4000) <= 1
    assert -0.5 < _gain_db(voice, 10000) < 0.3
    high = sounds.read_wav(make_wav(sine(6000, rate, 0.5, level=10000), rate=rate))
    assert _gain_db(high, 10000) < -45


def test_a_ramp_at_11025_hz_stays_on_the_ramp() -> None:
    samples = list(range(0, 11025 * 2, 2))  # slow: all of it in the pass band
    out = sounds.read_wav(make_wav(samples[:11025], rate=11025))
    assert len(out) == 8000
    step = 11025 / 8000
    for i in (100, 1000, 4000, 7000):  # away from the ends, where the filter meets zeros
        assert abs(out[i] - 2 * i * step) <= 2


def test_a_loud_upload_is_clipped_not_wrapped() -> None:
    square = [32767 if (n // 20) % 2 else -32768 for n in range(16000)]  # overshoots when filtered
    out = sounds.read_wav(make_wav(square, rate=16000))
    assert max(out) <= 32767 and min(out) >= -32768
    assert max(out) > 30000 and min(out) < -30000


def test_44k1_stereo_sine_keeps_its_pitch_and_level() -> None:
    left = sine(500, 44100, 0.5)
    interleaved = [v for pair in zip(left, left, strict=True) for v in pair]
    out = sounds.read_wav(make_wav(interleaved, rate=44100, channels=2))
    assert len(out) == 4000
    expected = sine(500, 8000, 0.5)
    assert max(abs(a - b) for a, b in zip(out, expected, strict=True)) < 400


def test_stereo_is_mixed_down() -> None:
    interleaved = [1000, 3000, -2000, 0]
    assert list(sounds.read_wav(make_wav(interleaved, channels=2))) == [2000, -1000]


def test_8bit_unsigned_pcm_is_read() -> None:
    samples = [0, 256 * 50, -256 * 50]
    assert list(sounds.read_wav(make_wav(samples, width=1))) == samples


@pytest.mark.parametrize(("tag", "pt"), [(7, g711.PCMU), (6, g711.PCMA)])
def test_g711_wav_is_read(tag: int, pt: int) -> None:
    samples = sine(300, 8000, 0.05)
    encoded = g711.encode(struct.pack(f"<{len(samples)}h", *samples), pt)
    out = sounds.read_wav(g711_wav(encoded, tag))
    expected = struct.unpack(f"<{len(samples)}h", g711.decode(encoded, pt))
    assert tuple(out) == expected


@pytest.mark.parametrize("pt", g711.CODECS)
def test_frames_are_160_bytes_and_padded_with_silence(pt: int) -> None:
    samples = array("h", sine(440, 8000, 0.05))  # 400 samples: 2.5 frames
    frames = sounds.to_frames(samples, pt)
    assert [len(f) for f in frames] == [160, 160, 160]
    assert b"".join(frames)[:400] == g711.encode(samples.tobytes(), pt)
    silence = g711.encode(b"\0\0", pt)
    assert frames[-1][80:] == silence * 80


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello world", "not a WAV"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no fmt"),
        (make_wav([]), "no audio"),
        (g711_wav(b"\0" * 10, 3), "unsupported WAV encoding"),
    ],
)
def test_validate_wav_says_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sounds.validate_wav(data)


def test_validate_wav_accepts_good_files() -> None:
    sounds.validate_wav(make_wav(sine(440, 22050, 0.2), rate=22050))
    sounds.validate_wav(g711_wav(b"\xff" * 800, 7))


def test_default_sounds_are_generated_valid_and_idempotent(tmp_path: Path) -> None:
    paths = sounds.generate_defaults(tmp_path)
    assert set(paths) == {"hold_music", "queue_music", "force_disconnect", "overflow", "beep"}
    stamps = {}
    for name, path in paths.items():
        data = path.read_bytes()
        sounds.validate_wav(data)
        info = sounds.wav_info(data)
        assert (info.rate, info.channels, info.sample_width) == (8000, 1, 2)
        # The beep before a voicemail is short; music and messages last a while.
        assert (0.3 <= info.seconds <= 1.0) if name == "beep" else (2.0 <= info.seconds <= 15.0)
        samples = sounds.read_wav(data)
        peak = max(abs(s) for s in samples)
        assert 3000 < peak < 32767, name  # audible, never clipped
        stamps[name] = path.stat().st_mtime_ns
    again = sounds.generate_defaults(tmp_path)
    assert again == paths
    assert {n: p.stat().st_mtime_ns for n, p in again.items()} == stamps  # not rewritten


def test_default_sounds_are_rewritten_when_the_stamp_is_not_this_codes(tmp_path: Path) -> None:
    paths = sounds.generate_defaults(tmp_path)
    good = paths["beep"].read_bytes()
    paths["beep"].write_bytes(b"damaged")
    assert sounds.generate_defaults(tmp_path)["beep"].read_bytes() == b"damaged"  # stamp current
    (tmp_path / sounds.STAMP).write_text("written by an older release\n")
    assert sounds.generate_defaults(tmp_path)["beep"].read_bytes() == good
    paths["queue_music"].unlink()  # a file gone: made again whatever the stamp
    assert sounds.generate_defaults(tmp_path)["queue_music"].exists()


def test_force_disconnect_is_three_descending_beeps(tmp_path: Path) -> None:
    samples = sounds.read_wav(sounds.generate_defaults(tmp_path)["force_disconnect"].read_bytes())
    # Split into beeps at the silent gaps, then estimate each beep's pitch by zero crossings.
    beeps: list[list[int]] = []
    current: list[int] = []
    for index in range(0, len(samples), 80):
        chunk = list(samples[index : index + 80])
        if max(abs(s) for s in chunk) > 500:
            current.extend(chunk)
        elif current:
            beeps.append(current)
            current = []
    pitches = [
        sum(1 for a, b in itertools.pairwise(beep) if a < 0 <= b) * 8000 / len(beep)
        for beep in beeps[:3]
    ]
    assert len(beeps) == 6
    assert pitches[0] > pitches[1] > pitches[2]
    assert abs(pitches[2] - 440) < 30


def test_sound_cache_reloads_changed_files(tmp_path: Path) -> None:
    path = tmp_path / "s.wav"
    path.write_bytes(make_wav([0] * 160))
    cache = sounds.SoundCache()
    assert cache.cached(path, g711.PCMU) is None
    first = cache.frames(path, g711.PCMU)
    assert first == (b"\xff" * 160,)
    assert cache.cached(path, g711.PCMU) is first
    path.write_bytes(make_wav([0] * 320))
    assert cache.cached(path, g711.PCMU) is None
    assert len(cache.frames(path, g711.PCMU)) == 2
    assert cache.cached(tmp_path / "missing.wav", g711.PCMU) is None


def test_24bit_keeps_the_top_16_bits() -> None:
    samples = [1000 * i for i in range(12)]
    raw = b"".join(b"\x7f" + struct.pack("<h", s) for s in samples)  # 24-bit: junk low byte
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(3)
        writer.setframerate(8000)
        writer.writeframes(raw)
    assert list(sounds.read_wav(out.getvalue())) == samples


def test_four_channels_are_averaged() -> None:
    interleaved = [400, 800, -400, 1200, 0, 0, 0, 4]
    assert list(sounds.read_wav(make_wav(interleaved, channels=4))) == [500, 1]
