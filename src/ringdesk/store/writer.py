"""Commit the engine's domain events: one transaction per batch, one by one if a batch fails."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Engine as DbEngine

from ringdesk.core.events import DomainEvent
from ringdesk.store.recorder import Recorded, Recorder

log = logging.getLogger(__name__)


class EventWriter:
    def __init__(self, db_engine: DbEngine, recorder: Recorder) -> None:
        self._db = db_engine
        self.recorder = recorder

    def commit(self, writes: Sequence[Sequence[DomainEvent]], *, raise_errors: bool) -> Recorded:
        """Store every outcome's events in one transaction and return what to announce.

        If it fails: with raise_errors the error goes to the caller (an agent's click, who is
        told); otherwise each outcome is stored on its own, so one bad write loses only its own
        record (logged)."""
        recorded = Recorded()
        if not writes:
            return recorded
        try:
            with self._db.begin() as conn:
                for events in writes:
                    recorded.merge(self.recorder.apply(conn, list(events)))
        except Exception:
            self.recorder.forget()  # ids of rows that were rolled back
            if raise_errors:
                raise
            log.exception("storing %d outcomes failed; storing them one by one", len(writes))
            return self._one_by_one(writes)
        return recorded

    def _one_by_one(self, writes: Sequence[Sequence[DomainEvent]]) -> Recorded:
        recorded = Recorded()
        for events in writes:
            try:
                with self._db.begin() as conn:
                    recorded.merge(self.recorder.apply(conn, list(events)))
            except Exception:
                self.recorder.forget()
                log.exception("lost the record of %r", events)
        return recorded
