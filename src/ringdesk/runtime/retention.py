"""The recording retention: at start, once an hour and when an admin changes the setting, the
call recordings and voicemails older than the CTI setting `recording_retention_days` are
deleted (store/retention.py); 0 keeps them. The database and file work runs in a worker
thread, off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy.orm import Session

from ringdesk.store import retention
from ringdesk.store.retention import Expired

log = logging.getLogger(__name__)
EVERY = 3600.0  # seconds between passes
LOOK = 5.0  # seconds between looks at the setting


def sweep(
    db: Callable[[], AbstractContextManager[Session]],
    data_dir: Path,
    days: int,
    now: float,
) -> Expired:
    """One pass: what is older than `days` days at `now` goes."""
    with db() as session:
        done = retention.expire(session, data_dir=data_dir, days=days, now=now)
    if done.rows or done.orphans:
        log.info(
            "retention: %d recordings older than %d days deleted (%d tickets), %d files no "
            "ticket listed",
            done.rows,
            days,
            len(done.tickets),
            done.orphans,
        )
    return done


async def watch(
    db: Callable[[], AbstractContextManager[Session]],
    data_dir: Path,
    days: Callable[[], int],
    clock: Callable[[], float],
    every: float = EVERY,
    look: float = LOOK,
) -> None:
    """The loop the runtime runs: a pass now, then every `every` seconds, and at once when an
    admin changed the setting (looked at every `look` seconds): a shorter limit applies now."""
    last: int | None = None
    due = 0.0
    while True:
        limit = days()
        now = clock()
        if limit != last or now >= due:
            last, due = limit, now + every
            try:
                await asyncio.to_thread(sweep, db, data_dir, limit, now)
            except Exception:  # a failed pass (database away) is tried again at the next
                log.exception("recording retention pass failed")
        await asyncio.sleep(look)
