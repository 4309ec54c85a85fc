"""Call statistics for the board and reports, computed from the call records of a time span."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from statistics import fmean
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import InstrumentedAttribute, Session

from ringdesk.store import models as m

DEFAULT_SERVICE_LEVEL_SECONDS = 20.0
NOT_OFFERED = ("rejected", "refused")  # outcomes of inbound calls that never reached a queue


def day_bounds(day: dt.date) -> tuple[float, float]:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
    return start, start + 86400.0


def span_bounds(first: dt.date, last: dt.date, tz: dt.tzinfo = dt.UTC) -> tuple[float, float]:
    """Epoch seconds from the midnight starting `first` to the one ending `last`, in `tz`.

    Midnights are taken in the zone, not 86400 s apart, so a range over a daylight saving
    change still covers whole local days (23 or 25 hours).
    """
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.timestamp(), end.timestamp()


def _avg(values: list[float]) -> float | None:
    return round(fmean(values), 1) if values else None


def summarize(
    records: Iterable[m.CallRecord],
    service_level_seconds: float,
    levels: Mapping[int, float] | None = None,
) -> dict[str, Any]:
    """The numbers of one group of calls (a service, an agent, a day).

    `levels` gives each service's own service level target; a group that mixes services (an
    agent's calls, the total) judges every call by the target of the service it came to.
    """
    inbound = [r for r in records if r.direction == "inbound"]
    outbound = [r for r in records if r.direction == "outbound"]
    # A call rejected by a disabled contract, or refused because the queue was full, never
    # reached a queue: it is not "offered". The refused ones are counted on their own.
    offered = [r for r in inbound if r.outcome not in NOT_OFFERED]
    refused = [r for r in inbound if r.outcome == "refused"]
    answered = [r for r in offered if r.connected_at is not None]
    abandoned = [r for r in offered if r.outcome == "abandoned"]
    timed = [r for r in answered if r.wait_seconds is not None]
    waits = [r.wait_seconds for r in timed if r.wait_seconds is not None]
    abandon_waits = [r.ended_at - r.arrived_at for r in abandoned if r.ended_at is not None]
    talks = [r.talk_seconds for r in inbound + outbound if r.talk_seconds and r.connected_at]
    wrap_ups = [r.wrap_up_seconds for r in inbound + outbound if r.wrap_up_seconds is not None]
    within = [
        r
        for r in timed
        if r.wait_seconds is not None and r.wait_seconds <= _level(r, service_level_seconds, levels)
    ]
    finished = [r for r in offered if r.ended_at is not None or r.connected_at is not None]
    return {
        "offered": len(offered),
        "refused": len(refused),
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


def _level(record: m.CallRecord, default: float, levels: Mapping[int, float] | None) -> float:
    if levels is None or record.service_id is None:
        return default
    return levels.get(record.service_id, default)


# -- The same figures computed by the database (GROUP BY), so a report over months of calls
# does not load every record into Python. `summarize` stays the definition: the API tests check
# that both agree on random calls, on SQLite and PostgreSQL.

_R = m.CallRecord
_OFFERED = and_(_R.direction == "inbound", func.coalesce(_R.outcome, "").not_in(NOT_OFFERED))
_REFUSED = and_(_R.direction == "inbound", _R.outcome == "refused")
_ANSWERED = and_(_OFFERED, _R.connected_at.is_not(None))
_ABANDONED = and_(_OFFERED, _R.outcome == "abandoned")
_TIMED = and_(_ANSWERED, _R.wait_seconds.is_not(None))
_GAVE_UP = and_(_ABANDONED, _R.ended_at.is_not(None))
_CALL = _R.direction.in_(("inbound", "outbound"))


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def _figure_columns() -> list[ColumnElement[Any]]:
    # A call of a deleted service (service_id NULL) is judged by the default target.
    level = func.coalesce(m.Service.service_level_seconds, DEFAULT_SERVICE_LEVEL_SECONDS)
    abandon_wait = _R.ended_at - _R.arrived_at
    return [
        _count(_OFFERED).label("offered"),
        _count(_REFUSED).label("refused"),
        _count(_ANSWERED).label("answered"),
        _count(_ABANDONED).label("abandoned"),
        func.avg(case((_GAVE_UP, abandon_wait))).label("avg_abandon_seconds"),
        func.avg(case((_TIMED, _R.wait_seconds))).label("avg_wait_seconds"),
        # Two maxima: one call may count both ways (connected, then marked abandoned).
        func.max(case((_TIMED, _R.wait_seconds))).label("longest_answered"),
        func.max(case((_GAVE_UP, abandon_wait))).label("longest_abandoned"),
        func.avg(
            case((and_(_CALL, _R.connected_at.is_not(None), _R.talk_seconds != 0), _R.talk_seconds))
        ).label("avg_talk_seconds"),
        func.avg(case((and_(_CALL, _R.wrap_up_seconds.is_not(None)), _R.wrap_up_seconds))).label(
            "avg_wrap_up_seconds"
        ),
        _count(and_(_TIMED, _R.wait_seconds <= level)).label("within"),
        _count(and_(_OFFERED, or_(_R.ended_at.is_not(None), _R.connected_at.is_not(None)))).label(
            "decided"
        ),
        _count(_R.direction == "outbound").label("outbound"),
        _count(and_(_R.direction == "outbound", _R.connected_at.is_not(None))).label(
            "outbound_connected"
        ),
    ]


def _aggregate(
    db: Session,
    start: float,
    end: float,
    group: InstrumentedAttribute[int | None] | None,
    service_id: int | None = None,
    agent_id: int | None = None,
) -> dict[Any, dict[str, Any]]:
    """Figures per value of `group` (or one entry under None) for the calls arrived in the span."""
    columns = [group.label("key")] if group is not None else []
    query = (
        select(*columns, *_figure_columns())
        .select_from(_R)
        .outerjoin(m.Service, m.Service.id == _R.service_id)
        .where(_R.arrived_at >= start, _R.arrived_at < end)
    )
    if service_id is not None:
        query = query.where(_R.service_id == service_id)
    if agent_id is not None:
        query = query.where(_R.agent_id == agent_id)
    if group is not None:
        query = query.where(group.is_not(None)).group_by(group)
    return {
        (row.key if group is not None else None): _figures(row._mapping)
        for row in db.execute(query)
    }


def _figures(row: RowMapping) -> dict[str, Any]:
    def whole(name: str) -> int:
        return int(row[name] or 0)

    def tenth(name: str) -> float | None:
        value = row[name]
        return None if value is None else round(float(value), 1)

    decided = whole("decided")
    maxima = [tenth(name) for name in ("longest_answered", "longest_abandoned")]
    longest = max((value for value in maxima if value is not None), default=None)
    return {
        "offered": whole("offered"),
        "refused": whole("refused"),
        "answered": whole("answered"),
        "abandoned": whole("abandoned"),
        "avg_abandon_seconds": tenth("avg_abandon_seconds"),
        "avg_wait_seconds": tenth("avg_wait_seconds"),
        "longest_wait_seconds": longest,
        "avg_talk_seconds": tenth("avg_talk_seconds"),
        "avg_wrap_up_seconds": tenth("avg_wrap_up_seconds"),
        "service_level": round(whole("within") / decided, 3) if decided else None,
        "outbound": whole("outbound"),
        "outbound_connected": whole("outbound_connected"),
    }


def per_service(
    db: Session, start: float, end: float, service_id: int | None = None
) -> list[dict[str, Any]]:
    """Every service (a row of zeros when it had no calls), in id order."""
    query = select(m.Service).order_by(m.Service.id)
    if service_id is not None:
        query = query.where(m.Service.id == service_id)
    figures = _aggregate(db, start, end, _R.service_id, service_id=service_id)
    empty = summarize([], DEFAULT_SERVICE_LEVEL_SECONDS)
    return [
        {"service_id": s.id, "service_name": s.name, **figures.get(s.id, empty)}
        for s in db.scalars(query)
    ]


def _agent_ids(db: Session, service_id: int | None, agent_id: int | None) -> set[int]:
    """The agents a report lists even with no calls: one agent, a service's, or all of them."""
    if agent_id is not None:
        return {agent_id}
    if service_id is not None:
        query = select(m.ServiceAgent.user_id).where(m.ServiceAgent.service_id == service_id)
        return set(db.scalars(query))
    return set(db.scalars(select(m.User.id).where(m.User.role == "agent")))


def per_agent(
    db: Session,
    start: float,
    end: float,
    service_id: int | None = None,
    agent_id: int | None = None,
) -> list[dict[str, Any]]:
    """Agents with calls in the span, plus the ones the filter names, in id order."""
    figures = _aggregate(db, start, end, _R.agent_id, service_id=service_id, agent_id=agent_id)
    names: dict[int, str] = {uid: name for uid, name in db.execute(select(m.User.id, m.User.name))}
    # Agents without calls get a row of zeros: "no calls" is a figure a supervisor wants to see.
    listed = (_agent_ids(db, service_id, agent_id) & names.keys()) | figures.keys()
    empty = summarize([], DEFAULT_SERVICE_LEVEL_SECONDS)
    return [
        {"agent_id": uid, "name": names.get(uid, ""), **figures.get(uid, empty)}
        for uid in sorted(listed)
    ]


def overall(db: Session, start: float, end: float, service_id: int | None = None) -> dict[str, Any]:
    """Every call of the span together (each judged by its own service's target)."""
    return _aggregate(db, start, end, None, service_id=service_id)[None]
