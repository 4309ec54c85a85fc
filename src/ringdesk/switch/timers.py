"""One asyncio wake-up for many deadlines.

Every transaction wants a timer, and at a few hundred calls per second tens of thousands are
pending at once (timers D, J, K, L wait up to 32 s). Handing each to loop.call_at costs a
Python-level comparison per heap step and a cancelled handle per re-arm; here the heap holds
plain tuples (compared in C), a key has at most one live entry, stale entries are skipped
when they surface, and only the earliest deadline is given to the loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class TimerQueue:
    def __init__(self, fire: Callable[[Hashable], None]) -> None:
        self._fire = fire
        self._heap: list[tuple[float, int, Hashable]] = []
        self._live: dict[Hashable, tuple[float, int]] = {}
        self._seq = itertools.count()
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._live)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def schedule(self, key: Hashable, at: float) -> None:
        """Fire `key` at `at`, or earlier if it already has an earlier deadline (a key that
        fires early just asks again)."""
        live = self._live.get(key)
        if live is not None and live[0] <= at:
            return
        seq = next(self._seq)
        self._live[key] = (at, seq)
        heapq.heappush(self._heap, (at, seq, key))
        if self._wake_at is None or at < self._wake_at:
            self._arm(at)

    def cancel(self, key: Hashable) -> None:
        self._live.pop(key, None)  # its heap entry is skipped when it comes up

    def clear(self) -> None:
        self._heap.clear()
        self._live.clear()
        if self._wake is not None:
            self._wake.cancel()
        self._wake = self._wake_at = None

    def _arm(self, at: float) -> None:
        if self._loop is None:
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake_at = at
        self._wake = self._loop.call_at(at, self._run)

    def _run(self) -> None:
        assert self._loop is not None
        self._wake = self._wake_at = None
        now = self._loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _at, seq, key = heapq.heappop(heap)
            live = self._live.get(key)
            if live is None or live[1] != seq:
                continue  # cancelled or superseded
            del self._live[key]
            try:
                self._fire(key)
            except Exception:
                log.exception("timer callback failed")
        while heap and self._live.get(heap[0][2], (0.0, -1))[1] != heap[0][1]:
            heapq.heappop(heap)  # drop stale heads so the next wake-up is a real one
        if heap:
            self._arm(heap[0][0])
