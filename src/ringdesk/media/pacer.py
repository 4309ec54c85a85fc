"""Playback pacing: one timer task for every playing leg.

A single task wakes every 20 ms and sends the next frame of each player, instead of one task
(and one timer) per leg. Deadlines are absolute, `start + n * 20 ms`, so lateness of one wake-up
is made up at the next one and the stream does not drift. After a long stall (the process was
suspended, the machine swapped) the clock restarts rather than bursting the backlog out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ringdesk.media import g711
from ringdesk.media.endpoint import Endpoint

log = logging.getLogger(__name__)

PTIME = 0.020
MAX_BEHIND = 0.5  # seconds late before the clock restarts instead of catching up
# Players sent per slice of a tick: between slices the loop handles what arrived meanwhile, so
# a tick with many players (a mix costs ~20-30 us a frame) never holds the relay back for long.
SLICE = 24


class Player:
    """A sound being played to one leg."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        loop: bool,
        on_done: Callable[[], None] | None,
        frames: tuple[bytes, ...] | None = None,
        payload_type: int = g711.PCMU,
    ) -> None:
        self.endpoint = endpoint
        self.loop = loop
        self.on_done = on_done
        self.frames = frames  # None while the sound is being loaded
        self.payload_type = payload_type  # the codec `frames` are encoded in
        self.index = 0
        self.new_spurt = True
        self.paced = False  # on the pacer's list (a tick's later slice skips one taken off)

    def tick(self, now: float) -> bool:
        """Send the next frame; False when the sound has ended (and does not loop)."""
        frames = self.frames
        if frames is None:
            return True
        if self.index >= len(frames):
            if not self.loop:
                return False
            if not frames:
                return True  # a looping sound that failed to load: silence, but keep the leg
            self.index = 0
        payload = frames[self.index]
        self.index += 1
        endpoint = self.endpoint
        payload_type = endpoint.payload_type
        if payload_type != self.payload_type:  # the leg changed codec mid-sound (re-INVITE)
            table = g711.transcode_table(self.payload_type, payload_type)
            if table is not None:
                payload = payload.translate(table)
        endpoint.send_frame(payload, payload_type, now, self.new_spurt)
        self.new_spurt = False
        return True


class Pacer:
    def __init__(self) -> None:
        self._players: list[Player] = []
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0

    @property
    def players(self) -> tuple[Player, ...]:
        return tuple(self._players)

    def add(self, player: Player) -> None:
        """Play from now: the first frame goes out at once (a caller who pressed a key hears
        the answer without waiting for the next tick), the rest on the shared 20 ms clock."""
        if player.frames:
            # An end or a failure here is the next tick's to handle (on_done never runs
            # inside the caller's play()).
            with contextlib.suppress(Exception):
                player.tick(time.monotonic())
        self._players.append(player)
        player.paced = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="media-pacer")

    def remove(self, player: Player) -> None:
        if player.paced:
            player.paced = False
            self._players.remove(player)

    async def close(self) -> None:
        for player in self._players:
            player.paced = False
        self._players.clear()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        start = time.monotonic()
        n = 0
        while self._players:
            n += 1
            delay = start + n * PTIME - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -MAX_BEHIND:
                log.warning("media pacing stalled %.0f ms; restarting the clock", -delay * 1000)
                start, n = time.monotonic(), 0
            else:
                await asyncio.sleep(0)  # catching up: still let the relay run between ticks
            players = list(self._players)
            self.ticks += 1
            for first in range(0, len(players), SLICE):
                if first:
                    await asyncio.sleep(0)  # the relay's packets that arrived meanwhile
                self._send(players[first : first + SLICE], time.monotonic())

    def _send(self, players: list[Player], now: float) -> None:
        for player in players:
            if not player.paced:
                continue  # removed while an earlier slice let the loop run
            try:
                playing = player.tick(now)
            except Exception:
                log.exception("playback to leg %s failed", player.endpoint.leg_id)
                playing = False
                player.on_done = None
            if not playing:
                self._finish(player)

    def _finish(self, player: Player) -> None:
        self.remove(player)
        endpoint = player.endpoint
        if endpoint.player is player:
            endpoint.player = None
            endpoint.stop_feed()
        if player.on_done is not None:
            try:
                player.on_done()
            except Exception:
                log.exception("on_done of the sound on leg %s failed", endpoint.leg_id)
