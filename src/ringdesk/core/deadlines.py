"""Deadlines the engine must act on (pickup, connect, wrap-up, maximum queue wait).

A heap with lazy cancellation: `cancel` forgets the token, a cancelled entry is skipped when it
surfaces. The engine keeps the token of each pending deadline on the object it belongs to.
"""

from __future__ import annotations

import enum
import heapq


class TimerKind(enum.Enum):
    PICKUP = "pickup"  # an offer rings out (key: agent id)
    CONNECT = "connect"  # the agent's phone did not pick up after Answer (key: call id)
    WRAP_UP = "wrap_up"  # ticket processing time limit (key: agent id)
    MAX_WAIT = "max_wait"  # a caller waited the service's maximum (key: call id)
    MENU = "menu"  # a caller in an IVR menu keyed nothing in time (key: call id)
    ANNOUNCE = "announce"  # a queued caller's next announcement (key: call id)
    CALLBACK = "callback"  # a callback's number not confirmed in time, or its retry due (call id)


class Timers:
    __slots__ = ("_heap", "_live", "_next")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerKind, int | str]] = []
        self._live: set[int] = set()
        self._next = 0

    def schedule(self, deadline: float, kind: TimerKind, key: int | str) -> int:
        """Returns the token to cancel it with (never 0, so 0 can mean 'none')."""
        self._next += 1
        self._live.add(self._next)
        heapq.heappush(self._heap, (deadline, self._next, kind, key))
        if len(self._heap) > 2 * len(self._live) + 1024:
            self._heap = [e for e in self._heap if e[1] in self._live]
            heapq.heapify(self._heap)
        return self._next

    def cancel(self, token: int) -> None:
        self._live.discard(token)

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][1] not in self._live:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> tuple[int, TimerKind, int | str] | None:
        """The earliest live deadline at or before `now` (token, kind, key), removed; else None."""
        heap = self._heap
        while heap:
            deadline, token, kind, key = heap[0]
            if token not in self._live:
                heapq.heappop(heap)
                continue
            if deadline > now:
                return None
            heapq.heappop(heap)
            self._live.discard(token)
            return token, kind, key
        return None
