"""Write the browser's ringtone, src/ringdesk/web/static/sounds/ringtone.wav (our own sound).

Two short rising chirps (a fifth apart, with soft edges so they do not click), then silence: two
seconds that the widget loops while a call is offered. 16-bit mono at 16 kHz, about 64 kB.
Run it again only to change the sound: `python scripts/make-ringtone.py`.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000
OUT = Path(__file__).resolve().parents[1] / "src/ringdesk/web/static/sounds/ringtone.wav"


def chirp(freq: float, seconds: float, level: float = 0.5) -> list[float]:
    n = int(RATE * seconds)
    edge = int(RATE * 0.015)
    samples = []
    for i in range(n):
        ramp = min(1.0, i / edge, (n - 1 - i) / edge)
        # The note and its octave, for a bell-like edge that cuts through a headset.
        t = i / RATE
        tone = 0.8 * math.sin(2 * math.pi * freq * t) + 0.2 * math.sin(4 * math.pi * freq * t)
        samples.append(level * ramp * tone)
    return samples


def silence(seconds: float) -> list[float]:
    return [0.0] * int(RATE * seconds)


def main() -> None:
    pattern = (
        chirp(784.0, 0.18)  # G5
        + silence(0.06)
        + chirp(1175.0, 0.22)  # D6
        + silence(0.14)
        + chirp(784.0, 0.18)
        + silence(0.06)
        + chirp(1175.0, 0.22)
    )
    pattern += silence(2.0 - len(pattern) / RATE)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(OUT), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(b"".join(struct.pack("<h", round(s * 32767)) for s in pattern))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
