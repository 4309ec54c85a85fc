"""Call recording: both directions of a bridged pair into one 2-channel 8 kHz WAV, or one leg
alone into a mono one (a voicemail).

Channel 0 is what the first leg (the customer) sends, channel 1 what the second (the agent)
sends. Each packet is placed by its RTP timestamp, anchored to the wall clock at the first packet
of each stream, so gaps (silence suppression, loss) stay silent and the two channels stay in step.
Audio is flushed to a `.part` file about every second and the file is renamed into place when the
recording stops, so a reader never sees a half-written recording. Recording again into an existing
recording's path continues it (the switch unbridges for hold and bridges again on resume).
"""

from __future__ import annotations

import os
import struct
import wave
from pathlib import Path

from ringdesk.media import g711
from ringdesk.media.rtp import payload_bounds

RATE = 8000
SETTLE = 0.5  # seconds kept in memory for late packets before they are written
RESYNC = 2 * RATE  # a stream this far from the wall clock has jumped: re-anchor it
_TS_SSRC = struct.Struct("!II")


class Recorder:
    def __init__(self, path: Path, now: float, channels: int = 2) -> None:
        self.path = path
        self.channels = channels
        self._partial = path.with_name(path.name + ".part")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = wave.open(str(self._partial), "wb")  # noqa: SIM115 (closed in close())
        self._writer.setnchannels(channels)
        self._writer.setsampwidth(2)
        self._writer.setframerate(RATE)
        self._continue(path)
        self._start = now
        self._written = 0  # samples per channel already in the file
        self._channels = (bytearray(), bytearray())  # 16-bit PCM from sample `_written` on
        self._anchors: list[tuple[int, int, int] | None] = [None, None]  # ssrc, index, timestamp
        self.closed = False

    def _continue(self, path: Path) -> None:
        """Start with an earlier recording at `path` (the same pair bridged again after a hold)."""
        try:
            with wave.open(str(path), "rb") as earlier:
                if (earlier.getnchannels(), earlier.getsampwidth(), earlier.getframerate()) == (
                    self.channels,
                    2,
                    RATE,
                ):
                    self._writer.writeframesraw(earlier.readframes(earlier.getnframes()))
        except (OSError, EOFError, wave.Error):
            pass  # nothing (usable) there: a new recording

    def add(self, channel: int, packet: bytes, now: float) -> None:
        """Place one received RTP packet's audio (G.711 only; events and noise are skipped)."""
        payload_type = packet[1] & 0x7F
        if self.closed or payload_type not in g711.CODECS:
            return
        bounds = payload_bounds(packet)
        if bounds is None:
            return
        timestamp, ssrc = _TS_SSRC.unpack_from(packet, 4)
        expected = round((now - self._start) * RATE)
        anchor = self._anchors[channel]
        index = expected
        if anchor is not None and anchor[0] == ssrc:
            delta = (timestamp - anchor[2]) & 0xFFFFFFFF
            if delta >= 0x80000000:
                delta -= 0x100000000
            index = anchor[1] + delta
        if anchor is None or anchor[0] != ssrc or abs(index - expected) > RESYNC:
            index = expected
            self._anchors[channel] = (ssrc, expected, timestamp)
        offset = 2 * (index - self._written)
        if offset < 0:
            return  # too late: that part of the file is written
        pcm = g711.decode(packet[bounds[0] : bounds[1]], payload_type)
        buffer = self._channels[channel]
        end = offset + len(pcm)
        if end > len(buffer):
            buffer.extend(bytes(end - len(buffer)))
        buffer[offset:end] = pcm

    def flush(self, now: float, *, final: bool = False) -> None:
        """Write what is older than SETTLE seconds (everything when final)."""
        if self.closed:
            return
        elapsed = round((now - self._start) * RATE) - self._written
        if final:
            count = max(elapsed, *(len(c) // 2 for c in self._channels))
        else:
            count = elapsed - int(SETTLE * RATE)
        if count <= 0:
            return
        left, right = (bytes(c[: 2 * count]).ljust(2 * count, b"\0") for c in self._channels)
        if self.channels == 1:
            self._writer.writeframesraw(left)
            for channel in self._channels:
                del channel[: 2 * count]
            self._written += count
            return
        frames = bytearray(4 * count)
        frames[0::4] = left[0::2]
        frames[1::4] = left[1::2]
        frames[2::4] = right[0::2]
        frames[3::4] = right[1::2]
        self._writer.writeframesraw(bytes(frames))
        for channel in self._channels:
            del channel[: 2 * count]
        self._written += count

    @property
    def seconds(self) -> float:
        """How much audio is in the file (after close: all of it)."""
        return self._written / RATE

    def close(self, now: float) -> None:
        if self.closed:
            return
        self.flush(now, final=True)
        self.closed = True
        self._writer.close()
        os.replace(self._partial, self.path)
