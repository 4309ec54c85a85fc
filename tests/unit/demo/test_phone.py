"""The demo's user agent against itself over loopback: a caller calls a trunk, both print what
happened, the caller's audio arrives and the BYE ends both sides."""

from __future__ import annotations

import asyncio
import re

from ringdesk.demo.phone import DemoPhone, load_frames, voice_signal
from ringdesk.media import g711


async def test_caller_and_trunk_talk_and_hang_up() -> None:
    trunk_lines: list[str] = []
    caller_lines: list[str] = []
    trunk = DemoPhone(host="127.0.0.1", port=0, say=trunk_lines.append, echo=True)
    await trunk.start()
    caller = DemoPhone(host="127.0.0.1", port=0, say=caller_lines.append, hang_up_after=1.0)
    await caller.start()
    try:
        call = await caller.call("5551234", ("127.0.0.1", trunk.port), "5550199")
        caller.send_keys(call, "1#")
        heard: list[bytes] = []
        assert call.rtp is not None
        protocol = call.rtp.get_protocol()
        original = protocol.on_packet  # type: ignore[attr-defined]

        def listen(data: bytes, addr: tuple[str, int]) -> None:
            heard.append(data[12:])
            original(data, addr)

        protocol.on_packet = listen  # type: ignore[attr-defined]
        await asyncio.wait_for(call.done.wait(), 5.0)
        await asyncio.sleep(0.1)
    finally:
        caller.close()
        trunk.close()
    assert caller_lines[1:5] == [
        "answered by an agent",
        "sent key 1",
        "sent key #",
        "hung up",
    ], caller_lines
    # Last, what it heard of the far end (the trunk's echo of its own signal, about 1 s).
    assert len(caller_lines) == 6, caller_lines
    found = re.fullmatch(
        r"5551234: heard ([\d.]+) s of audio from the far end, ([\d.]+) s of it not silence",
        caller_lines[5],
    )
    assert found and 0.4 <= float(found[1]) <= 1.2 and 0 < float(found[2]) <= float(found[1])
    # The trunk read the keys from the RFC 4733 events, once each.
    assert trunk_lines[:4] == [
        "call 5550199 -> 5551234: answered",
        "call 5550199 -> 5551234: key 1",
        "call 5550199 -> 5551234: key #",
        "call 5550199 -> 5551234: the far end hung up",
    ]
    assert len(trunk_lines) == 5 and "heard" in trunk_lines[4], trunk_lines  # the caller's signal
    # The trunk echoed the caller's signal: what came back is the caller's own frames.
    sent = set(load_frames(None, 0))
    assert len(heard) >= 20 and sum(frame in sent for frame in heard) >= 20


def test_the_test_signal_sounds_like_speech() -> None:
    samples = voice_signal(2.0)
    assert len(samples) == 16000
    frames = load_frames(None, 0)
    loud = [f for f in frames if max(abs(s) for s in _pcm(f)) > 2000]
    quiet = [f for f in frames if max(abs(s) for s in _pcm(f)) < 50]
    # Syllables and pauses: both loud and silent 20 ms frames.
    assert len(loud) > len(frames) // 2 and len(quiet) >= len(frames) // 5


def _pcm(frame: bytes) -> list[int]:
    raw = g711.decode(frame, 0)
    return [int.from_bytes(raw[i : i + 2], "little", signed=True) for i in range(0, len(raw), 2)]
