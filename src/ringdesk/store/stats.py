"""Call statistics for the board and reports, computed from the call records of a time span."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m


def day_bounds(day: dt.date) -> tuple[float, float]:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
    return start, start + 86400.0


def _avg(values: list[float]) -> float | None:
    return round(fmean(values), 1) if values else None


def summarize(records: Iterable[m.CallRecord], service_level_seconds: float) -> dict[str, Any]:
    """The numbers of one group of calls (a service, an agent, a day)."""
    inbound = [r for r in records if r.direction == "inbound"]
    outbound = [r for r in records if r.direction == "outbound"]
    # A call rejected by a disabled contract never reached a queue: it is not "offered".
    offered = [r for r in inbound if r.outcome != "rejected"]
    answered = [r for r in offered if r.connected_at is not None]
    abandoned = [r for r in offered if r.outcome == "abandoned"]
    waits = [r.wait_seconds for r in answered if r.wait_seconds is not None]
    abandon_waits = [r.ended_at - r.arrived_at for r in abandoned if r.ended_at is not None]
    talks = [r.talk_seconds for r in inbound + outbound if r.talk_seconds and r.connected_at]
    wrap_ups = [r.wrap_up_seconds for r in inbound + outbound if r.wrap_up_seconds is not None]
    within = [w for w in waits if w <= service_level_seconds]
    finished = [r for r in offered if r.ended_at is not None or r.connected_at is not None]
    return {
        "offered": len(offered),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "avg_abandon_seconds": _avg(abandon_waits),
        "avg_wait_seconds": _avg(waits),
        "longest_wait_seconds": round(max(waits + abandon_waits), 1)
        if waits or abandon_waits
        else None,
        "avg_talk_seconds": _avg(talks),
        "avg_wrap_up_seconds": _avg(wrap_ups),
        # Share of the offered calls (decided ones: answered or gone) answered within the limit.
        "service_level": round(len(within) / len(finished), 3) if finished else None,
        "outbound": len(outbound),
        "outbound_connected": len([r for r in outbound if r.connected_at is not None]),
    }


def _records(
    db: Session, start: float, end: float, service_id: int | None, agent_id: int | None
) -> list[m.CallRecord]:
    query = select(m.CallRecord).where(
        m.CallRecord.arrived_at >= start, m.CallRecord.arrived_at < end
    )
    if service_id is not None:
        query = query.where(m.CallRecord.service_id == service_id)
    if agent_id is not None:
        query = query.where(m.CallRecord.agent_id == agent_id)
    return list(db.scalars(query).all())


def per_service(
    db: Session, start: float, end: float, service_id: int | None = None
) -> list[dict[str, Any]]:
    services = db.scalars(select(m.Service).order_by(m.Service.id)).all()
    by_service: dict[int | None, list[m.CallRecord]] = defaultdict(list)
    for record in _records(db, start, end, service_id, None):
        by_service[record.service_id].append(record)
    rows = []
    for service in services:
        if service_id is not None and service.id != service_id:
            continue
        row = {"service_id": service.id, "service_name": service.name}
        row.update(summarize(by_service[service.id], service.service_level_seconds))
        rows.append(row)
    return rows


def per_agent(
    db: Session,
    start: float,
    end: float,
    service_id: int | None = None,
    agent_id: int | None = None,
) -> list[dict[str, Any]]:
    users = {u.id: u for u in db.scalars(select(m.User).order_by(m.User.id))}
    levels = {s.id: s.service_level_seconds for s in db.scalars(select(m.Service))}
    by_agent: dict[int, list[m.CallRecord]] = defaultdict(list)
    for record in _records(db, start, end, service_id, agent_id):
        if record.agent_id is not None:
            by_agent[record.agent_id].append(record)
    level = levels.get(service_id, 20.0) if service_id is not None else 20.0
    rows = []
    for uid, records in sorted(by_agent.items()):
        user = users.get(uid)
        row: dict[str, Any] = {"agent_id": uid, "name": user.name if user else ""}
        row.update(summarize(records, level))
        rows.append(row)
    return rows
