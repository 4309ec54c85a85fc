"""After a restart: agents back in the status they had, callbacks back in their queues, calls
left open closed as interrupted.

Everything the engine needs to carry on is in the database: the agents' logins and statuses,
the callbacks waiting (nobody is on the line: they wait on, in their order), and the call
records (a call cannot survive the restart of the switch that carried it; a callback whose
customer was being called is queued again, that attempt not counted).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.core.announce import RECENT_CALLS
from ringdesk.core.engine import Engine, PendingCallback
from ringdesk.core.errors import CoreError
from ringdesk.core.model import AgentStatus
from ringdesk.store import models as m
from ringdesk.store.recorder import Recorder

log = logging.getLogger(__name__)


def recover(db: Session, engine: Engine, recorder: Recorder, now: float) -> None:
    restore_handle_times(db, engine)
    waiting = restore_callbacks(db, engine, now)
    restore_agents(db, engine, recorder)
    close_open_calls(db, now, keep=waiting)
    db.commit()


def restore_handle_times(db: Session, engine: Engine) -> None:
    """Each service's last answered talk times, so the first callers after a restart hear an
    expected wait, not their position alone."""
    for (service_id,) in db.execute(select(m.Service.id)):
        rows = db.scalars(
            select(m.CallRecord.talk_seconds)
            .where(
                m.CallRecord.service_id == service_id,
                m.CallRecord.outcome == "answered",
                m.CallRecord.talk_seconds.is_not(None),
            )
            .order_by(m.CallRecord.arrived_at.desc())  # the index: no scan of all calls
            .limit(RECENT_CALLS)
        ).all()
        times = [float(t) for t in reversed(rows) if t is not None]
        if times:
            engine.restore_handle_times(service_id, times)


def restore_callbacks(db: Session, engine: Engine, now: float) -> set[str]:
    """The waiting callbacks back in the engine, oldest in the queue first; their call ids."""
    rows = db.scalars(
        select(m.Callback)
        .where(m.Callback.status == "waiting")
        .order_by(m.Callback.arrived_at, m.Callback.id)
    ).all()
    talked = set(
        db.scalars(
            select(m.CallRecord.call_id).where(
                m.CallRecord.call_id.in_([row.call_id for row in rows]),
                m.CallRecord.connected_at.is_not(None),
            )
        )
    )
    kept: set[str] = set()
    for row in rows:
        if row.call_id in talked:
            # Cut while the agent talked to the customer: the callback happened (its call
            # record is closed as interrupted below, as any call's).
            row.status, row.ended_at = "done", now
            continue
        if row.service_id is None:
            row.status, row.ended_at = "failed", now  # its service is gone: nobody calls back
            continue
        engine.restore_callback(
            PendingCallback(
                call_id=row.call_id,
                service_id=row.service_id,
                caller=row.caller,
                called=row.called,
                number=row.number,
                arrived_at=row.arrived_at,
                requested_at=row.requested_at,
                attempts=row.attempts,
                next_try_at=row.next_try_at,
            )
        )
        kept.add(row.call_id)
    if kept:
        log.info("%d callback(s) restored to their queues", len(kept))
    return kept


def restore_agents(db: Session, engine: Engine, recorder: Recorder) -> None:
    logged_in = select(m.AgentStateRow).where(m.AgentStateRow.logged_in.is_(True))
    for row in db.scalars(logged_in):
        # Ticket Processing survives a restart as itself; other driven statuses (the call
        # is gone) fall back to the agent's choice, which is what the engine expects.
        wrapping = row.status == AgentStatus.TICKET_PROCESSING
        try:
            engine.restore_agent(row.user_id, row.status if wrapping else row.chosen, row.since)
            view = engine.agent(row.user_id)
        except CoreError as exc:
            log.warning("agent %s not restored: %s", row.user_id, exc.message)
            continue
        if view.status == AgentStatus.TICKET_PROCESSING:
            _resume_wrap_up(db, recorder, row.user_id)
        if view.status != row.status:
            row.since = view.since
        row.status = view.status
        row.chosen = view.chosen
        row.logged_in = view.status != AgentStatus.LOGGED_OUT


def _resume_wrap_up(db: Session, recorder: Recorder, agent_id: int) -> None:
    """An agent restored in Ticket Processing: their wrap-up time still counts from the end
    of their last call, so the statistics do not lose it across the restart."""
    last = db.execute(
        select(m.CallRecord.id, m.CallRecord.ended_at)
        .where(
            m.CallRecord.agent_id == agent_id,
            m.CallRecord.connected_at.is_not(None),
            m.CallRecord.ended_at.is_not(None),
            m.CallRecord.wrap_up_seconds.is_(None),
        )
        .order_by(m.CallRecord.ended_at.desc())
        .limit(1)
    ).first()
    if last is not None:
        recorder.resume_wrap_up(agent_id, last.id, last.ended_at)


def close_open_calls(db: Session, now: float, keep: set[str] | None = None) -> None:
    """Close the calls the restart cut, except `keep` (callbacks that wait on)."""
    open_calls = db.scalars(select(m.CallRecord).where(m.CallRecord.ended_at.is_(None))).all()
    for record in open_calls:
        if keep and record.call_id in keep:
            continue
        record.ended_at = now
        record.outcome = "interrupted"
        record.ended_by = "system"
        if record.connected_at is not None:
            record.talk_seconds = max(0.0, now - record.connected_at)
        if record.ticket_id is None:
            continue
        ticket = db.get(m.Ticket, record.ticket_id)
        if ticket is None:
            continue
        ticket.ended_at = now
        ticket.outcome = "interrupted"
        ticket.duration_seconds = record.talk_seconds
        db.add(
            m.TicketEvent(
                ticket_id=ticket.id,
                at=now,
                kind="interrupted",
                detail="Call interrupted: the server restarted",
            )
        )
