"""Audio for browser tests: a pure tone for chromium's fake microphone (48 kHz WAV) and the
strongest frequency of what came back (Goertzel), so a test can tell the browser's tone from
anything else in the RTP it receives."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path


def tone(freq: float, seconds: float, rate: int, amplitude: int = 8000) -> list[int]:
    return [
        int(amplitude * math.sin(2 * math.pi * freq * n / rate)) for n in range(int(seconds * rate))
    ]


def write_wav48(path: Path, samples: list[int]) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(48000)
        writer.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


def dominant_frequency(samples: list[int], rate: int = 8000) -> float:
    """Strongest frequency, 100-3900 Hz in 10 Hz steps, by Goertzel power."""
    best, best_power = 0.0, -1.0
    for step in range(10, 390):
        freq = step * 10.0
        coeff = 2 * math.cos(2 * math.pi * freq / rate)
        s1 = s2 = 0.0
        for x in samples:
            s1, s2 = x + coeff * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        if power > best_power:
            best, best_power = freq, power
    return best


def fake_media_args(microphone: Path) -> list[str]:
    """Chromium's flags for a test browser phone: fake devices granted without asking, the
    microphone playing `microphone` (write_wav48), and audio that may play without a click."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ]
