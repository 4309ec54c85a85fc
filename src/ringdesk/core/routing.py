"""Per-service routing structures: Ready agents best-first, waiting calls first-come first-served.

Both are binary heaps with lazy deletion: removing a member only forgets its entry token, and a
stale entry is dropped when it reaches the top (or when the heap is rebuilt because stale entries
outnumber live ones). Every routing decision is then O(log n), never a scan of all agents.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import assert_never

from .model import Strategy

Key = tuple[float, ...]


def strategy_key(
    strategy: Strategy, *, idle_since: float, last_offered: int, calls_taken: int
) -> Key:
    """Smaller is better: the agent a service's strategy offers the next call to."""
    match strategy:
        case Strategy.LONGEST_IDLE:
            return (idle_since,)
        case Strategy.ROUND_ROBIN:
            return (float(last_offered),)
        case Strategy.FEWEST_CALLS:
            return (float(calls_taken), idle_since)
        case Strategy.RING_ALL:
            return (0.0,)
        case _:
            assert_never(strategy)


class ReadyPool:
    """The agents of one service who may be offered a call now, ordered by the strategy key."""

    __slots__ = ("_heap", "_members", "_next")

    def __init__(self) -> None:
        self._heap: list[tuple[Key, int, int]] = []  # (key, token, agent_id)
        self._members: dict[int, int] = {}  # agent_id -> token of its live entry
        self._next = 0

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, agent_id: int) -> bool:
        return agent_id in self._members

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._members))

    def add(self, agent_id: int, key: Key) -> None:
        self._next += 1
        self._members[agent_id] = self._next
        heapq.heappush(self._heap, (key, self._next, agent_id))
        # Stale entries are bounded: rebuild once they outnumber live ones.
        if len(self._heap) > 2 * len(self._members) + 64:
            self._heap = [e for e in self._heap if self._members.get(e[2]) == e[1]]
            heapq.heapify(self._heap)

    def discard(self, agent_id: int) -> None:
        self._members.pop(agent_id, None)

    def pop_best(self) -> int | None:
        heap = self._heap
        while heap:
            _key, token, agent_id = heapq.heappop(heap)
            if self._members.get(agent_id) == token:
                del self._members[agent_id]
                return agent_id
        return None

    def rebuild(self, keys: Iterable[tuple[int, Key]]) -> None:
        """Re-key every member (the service's strategy changed)."""
        self._heap = []
        self._members = {}
        for agent_id, key in keys:
            self.add(agent_id, key)


class CallQueue:
    """Waiting calls of one service in arrival order (a re-queued call keeps its place)."""

    __slots__ = ("_heap", "_members", "_next")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, str]] = []  # (arrival seq, token, call_id)
        self._members: dict[str, tuple[int, int]] = {}  # call_id -> (seq, token)
        self._next = 0

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._members

    def push(self, call_id: str, seq: int) -> None:
        self._next += 1
        self._members[call_id] = (seq, self._next)
        heapq.heappush(self._heap, (seq, self._next, call_id))
        if len(self._heap) > 2 * len(self._members) + 64:
            self._heap = [e for e in self._heap if self._members.get(e[2]) == (e[0], e[1])]
            heapq.heapify(self._heap)

    def discard(self, call_id: str) -> None:
        self._members.pop(call_id, None)

    def peek(self) -> tuple[int, str] | None:
        """(arrival seq, call id) of the oldest waiting call, without removing it."""
        heap = self._heap
        while heap:
            seq, token, call_id = heap[0]
            if self._members.get(call_id) == (seq, token):
                return seq, call_id
            heapq.heappop(heap)
        return None

    def pop(self) -> str | None:
        """Remove and return the oldest waiting call (dropping the heap entry, not leaving it)."""
        head = self.peek()
        if head is None:
            return None
        heapq.heappop(self._heap)
        del self._members[head[1]]
        return head[1]

    def ordered(self) -> list[str]:
        return [c for c, _ in sorted(self._members.items(), key=lambda item: item[1])]
