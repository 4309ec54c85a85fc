"""Call statistics for the board and reports, computed from the call records of a time span."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping
from statistics import fmean
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import InstrumentedAttribute, Session

from ringdesk.core.model import AgentStatus
from ringdesk.store import models as m

DEFAULT_SERVICE_LEVEL_SECONDS = 20.0
NOT_OFFERED = ("rejected", "refused")  # outcomes of inbound calls that never reached a queue

# Every offered call ends in exactly one of these (offered = their sum; `outcome_of` decides).
# callback_requested is the callbacks asked for: done, failed, or still waiting.
OUTCOMES = (
    "answered",  # talked with an agent (also when passed on to another agent)
    "transferred_out",  # talked with an agent, then transferred to an outside number
    "abandoned",  # the caller hung up before an agent answered (in a menu or in the queue)
    "overflowed",  # the service's maximum wait passed: the overflow message, or forwarded
    "closed",  # outside opening hours: the closed message, or forwarded to the closed number
    "menu_ended",  # a menu ended it (its hang-up choice, no choice) or forwarded it outside
    "voicemail",  # the caller left a message
    "callback_requested",  # the caller asked to be called back (done, failed or waiting)
    "in_progress",  # not over yet (in a menu, queued, ringing)
    "other",  # ended otherwise (a restart before an agent answered)
)
_BUCKETS = {
    "abandoned": "abandoned",
    "overflowed": "overflowed",
    "closed": "closed",
    "closed_forwarded": "closed",
    "menu_ended": "menu_ended",
    "forwarded": "menu_ended",  # only a menu choice forwards an open service's caller
    "voicemail": "voicemail",
}
# The agent statuses whose time is summed (logged out time is not).
STATUSES = tuple(str(s) for s in AgentStatus if s is not AgentStatus.LOGGED_OUT)


def outcome_of(record: m.CallRecord, callback_status: str | None = None) -> str:
    """The one outcome of an offered call (`callback_status` is its callbacks row's, if any):
    one of OUTCOMES, or callback_done / callback_failed / callback_waiting."""
    if callback_status is not None:
        return {"done": "callback_done", "failed": "callback_failed"}.get(
            callback_status, "callback_waiting"
        )
    if record.outcome == "transferred":
        return "transferred_out"
    if record.connected_at is not None:
        return "answered"
    if record.outcome is None:
        return "in_progress"
    return _BUCKETS.get(record.outcome, "other")


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
    callbacks: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The numbers of one group of calls (a service, a day, all of them).

    `levels` gives each service's own service level target; a group that mixes services (the
    total) judges every call by the target of the service it came to. `callbacks` gives the
    status of each call's callback (call id -> waiting / done / failed).
    """
    inbound = [r for r in records if r.direction == "inbound"]
    outbound = [r for r in records if r.direction == "outbound"]
    # A call rejected by a disabled contract, or refused because the queue was full, never
    # reached a queue: it is not "offered". The refused ones are counted on their own.
    offered = [r for r in inbound if r.outcome not in NOT_OFFERED]
    refused = [r for r in inbound if r.outcome == "refused"]
    outcomes = {key: 0 for key in (*OUTCOMES, "callback_done", "callback_failed")}
    for r in offered:
        outcome = outcome_of(r, (callbacks or {}).get(r.call_id))
        if outcome.startswith("callback_"):
            outcomes["callback_requested"] += 1
        if outcome != "callback_waiting":
            outcomes[outcome] += 1
    connected = [r for r in offered if r.connected_at is not None]
    abandoned = [
        r for r in offered if outcome_of(r, (callbacks or {}).get(r.call_id)) == "abandoned"
    ]
    timed = [r for r in connected if r.wait_seconds is not None]
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
        **outcomes,
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
_CB = m.Callback.status
_OFFERED = and_(_R.direction == "inbound", func.coalesce(_R.outcome, "").not_in(NOT_OFFERED))
_REFUSED = and_(_R.direction == "inbound", _R.outcome == "refused")
_CONNECTED = and_(_OFFERED, _R.connected_at.is_not(None))
# `outcome_of` in SQL: the one outcome of a call (the callback's status first).
_OUTCOME = case(
    (_CB == "done", "callback_done"),
    (_CB == "failed", "callback_failed"),
    (_CB.is_not(None), "callback_waiting"),
    (_R.outcome == "transferred", "transferred_out"),
    (_R.connected_at.is_not(None), "answered"),
    (_R.outcome.is_(None), "in_progress"),
    *((_R.outcome == outcome, bucket) for outcome, bucket in _BUCKETS.items()),
    else_="other",
)
_ABANDONED = and_(_OFFERED, _OUTCOME == "abandoned")
_TIMED = and_(_CONNECTED, _R.wait_seconds.is_not(None))
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
        *(
            _count(and_(_OFFERED, _OUTCOME == name)).label(name)  # noqa: SIM300
            for name in OUTCOMES
            if name != "callback_requested"
        ),
        _count(and_(_OFFERED, _CB.is_not(None))).label("callback_requested"),
        _count(and_(_OFFERED, _OUTCOME == "callback_done")).label("callback_done"),
        _count(and_(_OFFERED, _OUTCOME == "callback_failed")).label("callback_failed"),
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
        .outerjoin(m.Callback, m.Callback.call_id == _R.call_id)
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
        **{name: whole(name) for name in (*OUTCOMES, "callback_done", "callback_failed")},
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


_P = m.CallAgent
_TALKED = and_(_P.answered_at.is_not(None), _P.ended_at.is_not(None))


def _agent_columns() -> list[ColumnElement[Any]]:
    return [
        _count(_P.kind == "offer").label("offered"),
        _count(and_(_P.kind == "offer", _P.answered_at.is_not(None))).label("answered"),
        _count(_P.result == "missed").label("missed"),
        _count(_P.result == "declined").label("declined"),
        _count(_P.result == "transferred").label("transfers_made"),
        _count(_P.kind == "transfer").label("transfers_received"),
        _count(_P.kind == "dial").label("outbound"),
        _count(and_(_P.kind == "dial", _P.answered_at.is_not(None))).label("outbound_connected"),
        func.sum(case((_TALKED, _P.ended_at - _P.answered_at), else_=0.0)).label("talk"),
        _count(_TALKED).label("talked"),
    ]


def _parts(
    db: Session, start: float, end: float, service_id: int | None, agent_id: int | None
) -> dict[int, RowMapping]:
    """Per agent, their parts in calls (call_agents rows) begun in the span."""
    query = (
        select(_P.agent_id.label("key"), *_agent_columns())
        .where(_P.offered_at >= start, _P.offered_at < end, _P.agent_id.is_not(None))
        .group_by(_P.agent_id)
    )
    if service_id is not None:
        query = query.where(_P.service_id == service_id)
    if agent_id is not None:
        query = query.where(_P.agent_id == agent_id)
    return {int(row.key): row._mapping for row in db.execute(query)}


def _lesser(a: ColumnElement[Any], b: ColumnElement[Any] | float) -> ColumnElement[Any]:
    return case((a < b, a), else_=b)


def _greater(
    a: ColumnElement[Any] | InstrumentedAttribute[float], b: ColumnElement[Any] | float
) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


def _status_times(
    db: Session, start: float, end: float, now: float, agent_id: int | None
) -> dict[int, dict[str, float]]:
    """Per agent, the seconds in each status within the span (an open row counts to `now`)."""
    log = m.AgentStatusLog
    until = _lesser(func.coalesce(log.ended_at, now), end)
    since = _greater(log.started_at, start)
    query = (
        select(log.agent_id, log.status, func.sum(until - since))
        .where(log.started_at < end, func.coalesce(log.ended_at, now) > start)
        .group_by(log.agent_id, log.status)
    )
    if agent_id is not None:
        query = query.where(log.agent_id == agent_id)
    times: dict[int, dict[str, float]] = {}
    for uid, status, seconds in db.execute(query):
        times.setdefault(int(uid), {})[str(status)] = max(0.0, float(seconds or 0.0))
    return times


def agent_figures(parts: RowMapping | None, times: Mapping[str, float]) -> dict[str, Any]:
    """One agent's figures from their parts' counts and their seconds per status."""

    def whole(name: str) -> int:
        return int(parts[name] or 0) if parts is not None else 0

    talk = float(parts["talk"] or 0.0) if parts is not None else 0.0
    talked = whole("talked")
    status_seconds = {status: round(times.get(status, 0.0), 1) for status in STATUSES}
    logged_in = round(sum(times.get(status, 0.0) for status in STATUSES), 1)
    wrap_up = status_seconds[str(AgentStatus.TICKET_PROCESSING)]
    return {
        "offered": whole("offered"),
        "answered": whole("answered"),
        "missed": whole("missed"),
        "declined": whole("declined"),
        "transfers_made": whole("transfers_made"),
        "transfers_received": whole("transfers_received"),
        "outbound": whole("outbound"),
        "outbound_connected": whole("outbound_connected"),
        "talk_seconds": round(talk, 1),
        "avg_talk_seconds": round(talk / talked, 1) if talked else None,
        "wrap_up_seconds": wrap_up,
        "logged_in_seconds": logged_in,
        # The share of the logged-in time spent talking or wrapping up.
        "occupancy": round((talk + wrap_up) / logged_in, 3) if logged_in > 0 else None,
        "status_seconds": status_seconds,
    }


def per_agent(
    db: Session,
    start: float,
    end: float,
    service_id: int | None = None,
    agent_id: int | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """Agents with parts in calls in the span, plus the ones the filter names, in id order.

    Calls are counted from each agent's parts (call_agents), so a call answered by one agent
    and transferred to another counts for both; the status times (agent_status_log) are the
    agent's whole time, whatever the service filter."""
    parts = _parts(db, start, end, service_id, agent_id)
    clock = time.time() if now is None else now
    times = _status_times(db, start, end, clock, agent_id)
    names: dict[int, str] = {uid: name for uid, name in db.execute(select(m.User.id, m.User.name))}
    # Agents without calls get a row of zeros: "no calls" is a figure a supervisor wants to see.
    listed = (_agent_ids(db, service_id, agent_id) & names.keys()) | parts.keys()
    return [
        {
            "agent_id": uid,
            "name": names.get(uid, ""),
            **agent_figures(parts.get(uid), times.get(uid, {})),
        }
        for uid in sorted(listed)
    ]


def overall(db: Session, start: float, end: float, service_id: int | None = None) -> dict[str, Any]:
    """Every call of the span together (each judged by its own service's target)."""
    return _aggregate(db, start, end, None, service_id=service_id)[None]
