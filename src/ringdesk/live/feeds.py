"""The WebSocket feeds: one numbered stream per user, with a replay buffer for reconnects.

A message is serialised once per publish; each subscriber has its own queue so a slow browser
delays nobody else (it is dropped when its queue overflows and resumes with `since`).

Messages about calls and tickets are built only for users who have a feed open, or closed one
less than LINGER seconds ago (a reconnecting widget then gets them replayed). For anybody else
the feed only notes the gap, and a later `since` gets a resync: building every message for
agents without a browser cost a third of the server's time per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ringdesk.live import shapes
from ringdesk.live.sources import LiveSources

if TYPE_CHECKING:
    from ringdesk.store.recorder import Recorded

log = logging.getLogger(__name__)

REPLAY = 500  # messages kept per user for resuming
QUEUE_LIMIT = 1000  # a subscriber this far behind is disconnected
BOARD_INTERVAL = 0.25  # admin board messages at most this often
LINGER = 120.0  # seconds a closed feed is still filled, for a widget that reconnects


@dataclass(slots=True, eq=False)  # compared by identity: kept in sets
class Subscriber:
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    session: str = ""  # digest of the token the socket authenticated with
    # The role when the socket opened (a role change closes the socket): an admin's feed gets
    # the whole board, a supervisor's the board of the services they lead.
    admin: bool = False
    supervisor: bool = False
    # Set when the server ends the feed (None in the queue then means "close with this").
    close: tuple[int, str] | None = None


@dataclass(slots=True)
class UserFeed:
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY))
    subscribers: set[Subscriber] = field(default_factory=set)
    idle_since: float | None = None  # when the last subscriber left (monotonic)
    gap: bool = False  # messages were skipped while nobody listened: `since` must resync

    def live(self, now: float) -> bool:
        """A feed open now, or closed less than LINGER seconds ago (a reconnect is likely)."""
        return bool(self.subscribers) or (
            self.idle_since is not None and now - self.idle_since < LINGER
        )


class Feeds:
    def __init__(self, sources: LiveSources) -> None:
        self._sources = sources
        self._users: dict[int, UserFeed] = {}
        self._board_dirty = asyncio.Event()
        # Today's figures scan the day's call records: recomputed only when a call changed.
        self._today: tuple[dt.date, list[dict[str, Any]]] | None = None
        self._board_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._board_task = asyncio.create_task(self._board_loop(), name="board-feed")

    async def stop(self) -> None:
        if self._board_task is not None:
            self._board_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._board_task
        for feed in self._users.values():
            for sub in feed.subscribers:
                sub.queue.put_nowait(None)

    # ---- publishing ---------------------------------------------------------------------------
    def publish(self, user_id: int, type_: str, data: Any) -> None:
        self.publish_raw(user_id, type_, json.dumps(data, separators=(",", ":")))

    def publish_raw(self, user_id: int, type_: str, data_json: str) -> None:
        feed = self._users.setdefault(user_id, UserFeed())
        feed.seq += 1
        message = f'{{"seq":{feed.seq},"type":"{type_}","data":{data_json}}}'
        feed.buffer.append((feed.seq, message))
        for sub in list(feed.subscribers):
            if sub.queue.qsize() >= QUEUE_LIMIT:
                feed.subscribers.discard(sub)
                sub.queue.put_nowait(None)  # tells the sender to close the socket
            else:
                sub.queue.put_nowait(message)

    def listening(self, user_id: int) -> bool:
        """Whether messages for this user are built; if not, the skipped ones leave a gap."""
        feed = self._users.get(user_id)
        if feed is None:
            return False  # never subscribed: a first `since` is answered with a resync anyway
        if feed.live(time.monotonic()):
            return True
        feed.gap = True
        return False

    def _anyone_listening(self) -> bool:
        now = time.monotonic()
        return any(feed.live(now) for feed in self._users.values())

    def publish_recorded(self, recorded: Recorded) -> None:
        sources = self._sources
        listening = self.listening
        for agent_id in sorted(recorded.agents):
            if not listening(agent_id):
                continue
            try:
                state = shapes.agent_state(sources, agent_id)
            except Exception:
                log.exception("agent_state for %s", agent_id)
                continue
            self.publish(agent_id, "agent_state", state)
        opened = [(t, a) for t, a in dict.fromkeys(recorded.tickets_opened) if listening(a)]
        opened_ids = {t for t, _ in recorded.tickets_opened}
        updated = sorted(recorded.tickets_updated - opened_ids)
        if opened or (updated and self._anyone_listening()):
            with sources.reads() as db:
                for ticket_id, agent_id in opened:
                    body = shapes.ticket_by_id(db, ticket_id, timeline=True)
                    if body is not None:
                        self.publish(agent_id, "ticket_opened", body)
                for ticket_id in updated:
                    self.ticket_updated(db, ticket_id)
        for agent_id, data in recorded.call_failures:
            if listening(agent_id):
                self.publish(agent_id, "call_failed", data)
        if recorded.calls_changed:
            self._today = None
        self.board_changed()

    def _today_figures(self, db: Any) -> list[dict[str, Any]]:
        day = dt.datetime.now(dt.UTC).date()
        if self._today is None or self._today[0] != day:
            self._today = (day, shapes.today_figures(db))
        return self._today[1]

    def ticket_updated(self, db: Any, ticket_id: int, also: int | None = None) -> None:
        body = shapes.ticket_by_id(db, ticket_id, timeline=True)
        if body is None:
            return
        targets = {body["agent_id"]} if body["agent_id"] is not None else set()
        if body["agent_id"] is None and body["service_id"] is not None:
            # Nobody's yet (a voicemail): every agent of the service hears of it.
            targets.update(self._sources.config().service_agents(body["service_id"]))
        if also is not None:
            targets.add(also)
        for user_id in targets:
            if self.listening(user_id):
                self.publish(user_id, "ticket_updated", body)

    def profiles_changed(self, user_ids: Iterable[int]) -> None:
        """An admin changed what these users' pages show of their services or CTI (a service's
        contracts, its calling numbers, a permission): open pages read GET /api/me again."""
        for user_id in user_ids:
            if self.listening(user_id):
                self.publish_raw(user_id, "me_changed", "{}")

    def board_changed(self) -> None:
        self._board_dirty.set()

    async def _board_loop(self) -> None:
        while True:
            await self._board_dirty.wait()
            self._board_dirty.clear()
            # From the open sockets, not a list of past admins: a demoted admin's sockets are
            # closed, and the one she opens next as an agent carries admin=False.
            admins: list[int] = []
            supervisors: list[int] = []
            for user_id, feed in self._users.items():
                if any(sub.admin for sub in feed.subscribers):
                    admins.append(user_id)
                elif any(sub.supervisor for sub in feed.subscribers):
                    supervisors.append(user_id)
            if admins or supervisors:
                started = time.monotonic()
                try:
                    with self._sources.reads() as db:
                        data = shapes.board(self._sources, db, self._today_figures(db))
                except Exception:
                    log.exception("board")
                    data = None
                if data is not None:
                    self._send_boards(data, admins, supervisors)
                # Leading-edge throttle: the first change goes out at once, later ones wait.
                await asyncio.sleep(max(0.0, BOARD_INTERVAL - (time.monotonic() - started)))

    def _send_boards(self, data: shapes.Board, admins: list[int], supervisors: list[int]) -> None:
        """The whole board to admins; to each supervisor the part of the services they lead
        (one encoding per distinct set of services)."""
        if admins:
            body = json.dumps(data, separators=(",", ":"))
            for admin in admins:
                self.publish_raw(admin, "board", body)
        config = self._sources.config()
        encoded: dict[frozenset[int], str] = {}
        for user_id in supervisors:
            services = config.agent_services(user_id)
            if services not in encoded:
                part = shapes.board_for(data, services)
                encoded[services] = json.dumps(part, separators=(",", ":"))
            self.publish_raw(user_id, "board", encoded[services])

    # ---- subscribing --------------------------------------------------------------------------
    def subscribe(
        self,
        user_id: int,
        since: int | None,
        *,
        session: str = "",
        admin: bool = False,
        supervisor: bool = False,
    ) -> tuple[Subscriber, list[str], bool]:
        """Register a subscriber; returns it, the messages to replay, and whether to resync."""
        feed = self._users.setdefault(user_id, UserFeed())
        sub = Subscriber(session=session, admin=admin, supervisor=supervisor)
        replay: list[str] = []
        resync = False
        if since is not None and feed.gap:
            resync = True  # messages were skipped while nobody listened
        elif since is not None and since < feed.seq:
            oldest = feed.buffer[0][0] if feed.buffer else feed.seq + 1
            if since + 1 < oldest:
                resync = True
            else:
                replay = [msg for seq, msg in feed.buffer if seq > since]
        elif since is not None and since > feed.seq:
            resync = True  # the server restarted: the client's numbers mean nothing here
        feed.subscribers.add(sub)
        feed.gap = False
        feed.idle_since = None
        return sub, replay, resync

    def unsubscribe(self, user_id: int, sub: Subscriber) -> None:
        feed = self._users.get(user_id)
        if feed is not None:
            feed.subscribers.discard(sub)
            if not feed.subscribers:
                feed.idle_since = time.monotonic()

    def absent(self) -> list[tuple[int, float]]:
        """(user, since when) of every user who had a page and has none open now."""
        return [
            (user_id, feed.idle_since)
            for user_id, feed in self._users.items()
            if not feed.subscribers and feed.idle_since is not None
        ]

    def absent_since(self, user_id: int) -> float | None:
        """When the user's last page closed its feed (monotonic), while none is open; None if
        one is open or there never was one (a client of the API alone is never absent)."""
        feed = self._users.get(user_id)
        if feed is None or feed.subscribers:
            return None
        return feed.idle_since

    def close_user(self, user_id: int, code: int, reason: str) -> None:
        """Close every open socket of the user now (her sessions ended)."""
        feed = self._users.get(user_id)
        if feed is not None:
            for sub in list(feed.subscribers):
                self._close(user_id, sub, code, reason)

    def close_session(self, session: str, code: int, reason: str) -> None:
        """Close the sockets opened with one session (a logout, an expired session)."""
        for user_id, feed in self._users.items():
            for sub in [s for s in feed.subscribers if s.session == session]:
                self._close(user_id, sub, code, reason)

    def sessions(self) -> set[str]:
        """The sessions that have a socket open, for the periodic lifetime check."""
        return {sub.session for feed in self._users.values() for sub in feed.subscribers}

    def _close(self, user_id: int, sub: Subscriber, code: int, reason: str) -> None:
        sub.close = (code, reason)
        self.unsubscribe(user_id, sub)
        sub.queue.put_nowait(None)

    def current_seq(self, user_id: int) -> int:
        feed = self._users.get(user_id)
        return feed.seq if feed else 0
