"""Many sockets' readability as one event-loop reader: an epoll set of our own (Linux).

The legs' own connected sockets (media/endpoint.py) are read with a plain `recv`, not through
an event-loop transport, because that is what makes the relay cheap. They cannot each be an
event-loop reader: uvloop (libuv's poll handle) takes an error condition on a watched descriptor
as fatal and stops watching it for good, and a connected UDP socket has one each time the far
end answers with ICMP port unreachable (a phone not listening yet, a NAT that lost its mapping).
So they sit in one epoll set here; the loop watches its descriptor, which never errs, and each
wake-up hands every ready socket (up to BATCH) to its callback, errors included: the callback
reads the error as an OSError and carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)

BATCH = 256  # ready sockets handled per wake-up; the rest wait for the next turn of the loop


class Readiness:
    """Callbacks for readable sockets; the epoll set and its reader exist while one is added."""

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._callbacks: dict[int, Callable[[], None]] = {}

    def __len__(self) -> int:
        return len(self._callbacks)

    def add(self, sock: socket.socket, callback: Callable[[], None]) -> None:
        """Call `callback` whenever `sock` is readable or has an error to report. Needs the
        running loop (RuntimeError without one)."""
        if self._epoll is None:
            loop = asyncio.get_running_loop()
            epoll = select.epoll()
            loop.add_reader(epoll.fileno(), self._ready)
            self._epoll, self._loop = epoll, loop
        fd = sock.fileno()
        self._epoll.register(fd, select.EPOLLIN)
        self._callbacks[fd] = callback

    def discard(self, sock: socket.socket) -> None:
        """No more callbacks for `sock` (before it is closed: its number may be reused)."""
        fd = sock.fileno()
        if self._callbacks.pop(fd, None) is None or self._epoll is None:
            return
        with contextlib.suppress(OSError):  # already gone from the set
            self._epoll.unregister(fd)
        if not self._callbacks:
            self.close()

    def close(self) -> None:
        epoll, loop = self._epoll, self._loop
        self._epoll = self._loop = None
        self._callbacks.clear()
        if epoll is None:
            return
        if loop is not None and not loop.is_closed():
            loop.remove_reader(epoll.fileno())
        epoll.close()

    def _ready(self) -> None:
        epoll = self._epoll
        if epoll is None:
            return
        callbacks = self._callbacks
        for fd, _events in epoll.poll(0, BATCH):
            callback = callbacks.get(fd)
            if callback is None:
                continue
            try:
                callback()
            except Exception:  # one leg's bug must not starve the others of their turn
                log.exception("media socket %d: its handler failed", fd)
