"""Pure tones and a per-frame tone meter, to tell who hears whom in a mix.

Each party of a monitored call sends a tone of its own; a 20 ms frame of what a phone heard is
measured at each frequency (Goertzel), so a mix of two parties shows both tones and a party
left out shows none of its tone, frame by frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RATE = 8000
FRAME = 160  # 20 ms: a bin is 50 Hz wide, so multiples of 50 Hz fall on a bin exactly


def make_tone(seconds: float, freq: float, amplitude: int = 6000) -> list[int]:
    return [
        round(amplitude * math.sin(2 * math.pi * freq * n / RATE))
        for n in range(int(seconds * RATE))
    ]


def level(frame: Sequence[int], freq: float) -> float:
    """The amplitude of `freq` in the frame (a pure tone of amplitude A reads about A)."""
    coeff = 2 * math.cos(2 * math.pi * freq / RATE)
    s1 = s2 = 0.0
    for x in frame:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / len(frame)


def frames_with(samples: Sequence[int], freq: float, *, amplitude: int = 6000) -> tuple[int, int]:
    """(frames where the tone is clearly there, frames in all) over whole 20 ms frames."""
    total = len(samples) // FRAME
    present = sum(
        1
        for i in range(total)
        if level(samples[i * FRAME : (i + 1) * FRAME], freq) > 0.4 * amplitude
    )
    return present, total


def frames_without(
    samples: Sequence[int], freq: float, *, amplitude: int = 6000
) -> tuple[int, int]:
    """(frames where the tone is clearly absent, frames in all)."""
    total = len(samples) // FRAME
    absent = sum(
        1
        for i in range(total)
        if level(samples[i * FRAME : (i + 1) * FRAME], freq) < 0.1 * amplitude
    )
    return absent, total
