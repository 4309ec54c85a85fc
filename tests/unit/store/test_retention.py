"""Recordings older than the retention go with their files, the ticket says so; younger ones,
and everything while the setting is 0, stay. The clock is the test's."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.retention import DAY, expire

NOW = 1_800_000_000.0


def _ticket(db: Session) -> int:
    ticket = m.Ticket(
        call_id=f"call-{db.scalar(select(m.Ticket.id).order_by(m.Ticket.id.desc())) or 0}",
        service_id=1,
        direction="inbound",
        customer_number="5551234",
        agent_id=7,
        created_at=NOW - 100 * DAY,
    )
    db.add(ticket)
    db.flush()
    return ticket.id


def _recording(db: Session, data_dir: Path, ticket: int, name: str, age: float, kind: str) -> Path:
    relative = f"recordings/t{ticket}/{name}.wav"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    os.utime(path, (NOW - age * DAY, NOW - age * DAY))
    db.add(
        m.Recording(
            ticket_id=ticket, kind=kind, path=relative, seconds=3.0, created_at=NOW - age * DAY
        )
    )
    db.commit()
    return path


def test_old_recordings_go_young_ones_stay_and_the_timeline_says_so(
    db: Session, tmp_path: Path
) -> None:
    call = _ticket(db)
    old = _recording(db, tmp_path, call, "old", 31, "call")
    young = _recording(db, tmp_path, call, "young", 29, "call")
    message = _ticket(db)
    voicemail = _recording(db, tmp_path, message, "vm", 45, "voicemail")
    stray = tmp_path / "voicemail" / "gone-call.wav"  # too short to keep: no row lists it
    stray.parent.mkdir()
    stray.write_bytes(b"RIFF")
    os.utime(stray, (NOW - 40 * DAY, NOW - 40 * DAY))
    fresh_stray = tmp_path / "recordings" / "live" / "a-b.wav.part"  # a call going on
    fresh_stray.parent.mkdir()
    fresh_stray.write_bytes(b"RIFF")
    os.utime(fresh_stray, (NOW - 60, NOW - 60))

    assert expire(db, data_dir=tmp_path, days=0, now=NOW).rows == 0  # 0: kept forever
    assert old.exists() and voicemail.exists() and stray.exists()

    done = expire(db, data_dir=tmp_path, days=30, now=NOW)
    assert (done.rows, done.tickets, done.orphans) == (2, frozenset({call, message}), 1)
    assert not old.exists() and young.exists() and not voicemail.exists()
    assert not voicemail.parent.exists()  # its folder, empty now, too
    assert not stray.exists() and fresh_stray.exists()
    left = db.scalars(select(m.Recording.path)).all()
    assert left == [f"recordings/t{call}/young.wav"]
    lines = db.execute(
        select(m.TicketEvent.ticket_id, m.TicketEvent.detail, m.TicketEvent.at).where(
            m.TicketEvent.kind == "recording_deleted"
        )
    ).all()
    assert sorted(lines) == sorted(
        [
            (call, "Recording deleted after 30 days", NOW),
            (message, "Voicemail deleted after 30 days", NOW),
        ]
    )
    # A day later the young one is 30 days old, not older: it stays until it is.
    assert expire(db, data_dir=tmp_path, days=30, now=NOW + DAY - 1).rows == 0
    assert expire(db, data_dir=tmp_path, days=30, now=NOW + DAY + 1).rows == 1
    assert not young.exists()


def test_a_path_outside_the_data_dir_is_never_deleted(db: Session, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"RIFF")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ticket = _ticket(db)
    db.add(
        m.Recording(ticket_id=ticket, kind="call", path="../elsewhere.wav", seconds=1, created_at=0)
    )
    db.commit()
    assert expire(db, data_dir=data_dir, days=1, now=NOW).rows == 1  # the row goes
    assert outside.exists()
