"""What digit detection costs per received packet: DigitDetector.feed() in process.

Feeds prepared 20 ms PCMU packets to one detector per case and times the calls (no sockets):
an RFC 4733 leg receiving silence (the audio is not looked at), and in-band legs receiving
silence, the default hold music (ringdesk.media.sounds), and a held tone pair (the full analysis
on every frame). Prints us per packet (each case's best round, rounds interleaved so that a
neighbour's burst on a shared machine spoils one round, not a case) and how many such legs one
core could serve at 50 packets/s.

    python bench/dtmf.py [--packets 5000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import struct
import sys
import tempfile
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from ringdesk.media import g711, sounds
from ringdesk.media.dtmf import DigitDetector

PACKETS_PER_SECOND = 50


def packets(frames: list[bytes], count: int) -> list[bytes]:
    return [
        struct.pack("!BBHII", 0x80, 0, i & 0xFFFF, (160 * i) & 0xFFFFFFFF, 0x1234)
        + frames[i % len(frames)]
        for i in range(count)
    ]


def tone_frames() -> list[bytes]:
    samples = [
        round(
            8000
            * (math.sin(2 * math.pi * 770 * n / 8000) + math.sin(2 * math.pi * 1336 * n / 8000))
        )
        for n in range(8000)
    ]
    return list(sounds.to_frames(array("h", samples), g711.PCMU))


def music_frames() -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        path = sounds.generate_defaults(Path(tmp))["hold_music"]
        return list(sounds.to_frames(sounds.read_wav(path.read_bytes()), g711.PCMU))


def run_once(batch: list[bytes], event_pt: int | None) -> float:
    """Seconds per packet through a fresh detector."""
    feed = DigitDetector(g711.PCMU, event_pt).feed
    started = time.perf_counter()
    for data in batch:
        feed(data)
    return (time.perf_counter() - started) / len(batch)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    silence = [b"\xff" * 160]
    cases = [
        ("RFC 4733, silence", packets(silence, args.packets), 101),
        ("in-band, silence", packets(silence, args.packets), None),
        ("in-band, hold music", packets(music_frames(), args.packets), None),
        ("in-band, tone pair", packets(tone_frames(), args.packets), None),
    ]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"dtmf detection, {platform.machine()} python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average before the run {load}"
    )
    print(f"{args.packets} packets x {args.rounds} rounds, best round")
    print(f"{'case':<22} {'us/packet':>10} {'legs/core at 50 pps':>20}")
    best = [float("inf")] * len(cases)
    for _ in range(args.rounds):
        for i, (_name, batch, event_pt) in enumerate(cases):
            best[i] = min(best[i], run_once(batch, event_pt))
    for (name, _batch, _pt), per_packet in zip(cases, best, strict=True):
        legs = 1 / (per_packet * PACKETS_PER_SECOND)
        print(f"{name:<22} {per_packet * 1e6:>10.2f} {legs:>20,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
