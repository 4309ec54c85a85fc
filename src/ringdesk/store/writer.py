"""Commit the engine's domain events: one transaction per batch, one by one if a batch fails.

The webhooks' deliveries of a batch's events (store/webhooks.py) are queued in the same
transaction: stored with the events or not at all."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Connection
from sqlalchemy import Engine as DbEngine

from ringdesk.core.events import DomainEvent
from ringdesk.store.recorder import Recorded, Recorder
from ringdesk.store.webhooks import Item, Outbox

log = logging.getLogger(__name__)


class EventWriter:
    def __init__(
        self,
        db_engine: DbEngine,
        recorder: Recorder,
        outbox: Outbox | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._db = db_engine
        self.recorder = recorder
        self.outbox = outbox if outbox is not None else Outbox()
        self._clock = clock

    def commit(self, writes: Sequence[Sequence[DomainEvent]], *, raise_errors: bool) -> Recorded:
        """Store every outcome's events in one transaction and return what to announce.

        If it fails: with raise_errors the error goes to the caller (an agent's click, who is
        told); otherwise each outcome is stored on its own, so one bad write loses only its own
        record (logged)."""
        recorded = Recorded()
        if not writes:
            return recorded
        queued = 0
        try:
            with self._db.begin() as conn:
                items: list[Item] = []
                for events in writes:
                    recorded.merge(self._apply(conn, events, items))
                if items:
                    queued = self.outbox.write(conn, items, self._now(writes))
        except Exception:
            self.recorder.forget()  # ids of rows that were rolled back
            if raise_errors:
                raise
            log.exception("storing %d outcomes failed; storing them one by one", len(writes))
            return self._one_by_one(writes)
        if queued:
            self.outbox.written()
        return recorded

    def _apply(
        self, conn: Connection, events: Sequence[DomainEvent], items: list[Item]
    ) -> Recorded:
        recorded = self.recorder.apply(conn, list(events))
        if self.outbox.active:  # the hot path's only cost while no webhook is enabled
            items.extend(self.outbox.items(events, recorded, conn))
        return recorded

    def _now(self, writes: Sequence[Sequence[DomainEvent]]) -> float:
        if self._clock is not None:
            return self._clock()
        return max((e.at for events in writes for e in events), default=0.0)

    def _one_by_one(self, writes: Sequence[Sequence[DomainEvent]]) -> Recorded:
        recorded = Recorded()
        queued = 0
        for events in writes:
            try:
                with self._db.begin() as conn:
                    items: list[Item] = []
                    recorded.merge(self._apply(conn, events, items))
                    if items:
                        queued += self.outbox.write(conn, items, self._now([events]))
            except Exception:
                self.recorder.forget()
                log.exception("lost the record of %r", events)
        if queued:
            self.outbox.written()
        return recorded
