"""Recordings kept no longer than the CTI setting `recording_retention_days` (0: kept forever).

Call recordings and voicemails follow the one setting: both are a customer's voice kept with a
ticket. A recording older than the limit loses its file and its row; its ticket keeps a line on
the timeline ("Recording deleted after 90 days"). Files under the data dir's `recordings/` and
`voicemail/` that no row lists (a recorded call that got no ticket, a voicemail too short to
keep, a file left by a crash) go once they are that old too. runtime/retention.py calls this.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m

log = logging.getLogger(__name__)
DAY = 86_400.0
FOLDERS = ("recordings", "voicemail")  # under the data dir: where the switch writes them
BATCH = 500  # rows per transaction
_WORDS = {"call": "Recording", "voicemail": "Voicemail"}


@dataclass(frozen=True, slots=True)
class Expired:
    rows: int  # recordings deleted with their files
    tickets: frozenset[int]  # the tickets whose timeline says so
    orphans: int  # files no row listed


def expire(db: Session, *, data_dir: Path, days: int, now: float) -> Expired:
    """Delete the recordings (rows and files) created more than `days` days before `now`."""
    if days <= 0:
        return Expired(0, frozenset(), 0)
    cutoff = now - days * DAY
    rows = 0
    tickets: set[int] = set()
    while True:
        batch = db.scalars(
            select(m.Recording).where(m.Recording.created_at < cutoff).limit(BATCH)
        ).all()
        if not batch:
            break
        for recording in batch:
            _unlink(data_dir, recording.path)
            what = _WORDS.get(recording.kind, "Recording")
            db.add(
                m.TicketEvent(
                    ticket_id=recording.ticket_id,
                    at=now,
                    kind="recording_deleted",
                    detail=f"{what} deleted after {days} days",
                )
            )
            tickets.add(recording.ticket_id)
            db.delete(recording)
        db.commit()
        rows += len(batch)
    return Expired(rows, frozenset(tickets), _sweep(data_dir, cutoff))


def _unlink(data_dir: Path, relative: str) -> None:
    root = data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        log.warning("recording path outside the data dir left alone: %s", relative)
        return
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # the row goes anyway: nobody can hear a file it no longer lists
        log.warning("recording %s not deleted: %s", relative, exc)
    _prune(path.parent, root)


def _sweep(data_dir: Path, cutoff: float) -> int:
    """Files in the recording folders last written before `cutoff` (no row lists one that old:
    a row is made when its file starts)."""
    root = data_dir.resolve()
    gone = 0
    for folder in FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*"), reverse=True):  # files before their folders
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    gone += 1
                elif path.is_dir():
                    _prune(path, base)
            except OSError as exc:
                log.warning("old recording %s not deleted: %s", path, exc)
    return gone


def _prune(folder: Path, stop: Path) -> None:
    """Remove `folder` and its parents up to (not including) `stop` while they are empty."""
    while folder != stop and folder.is_relative_to(stop):
        try:
            os.rmdir(folder)
        except OSError:
            return  # not empty, or already gone
        folder = folder.parent
