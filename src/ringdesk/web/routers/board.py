"""Supervisor board and statistics (a day or a date range, as JSON or CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from ringdesk.core.commands import CtiLogout, MonitorCall, SetStatus, StopMonitoring
from ringdesk.core.errors import NotFound
from ringdesk.core.model import AgentStatus
from ringdesk.live.shapes import AgentState, Board, Figures, ServiceFigures, agent_state, board_for
from ringdesk.live.shapes import board as board_view
from ringdesk.runtime.runtime import Runtime
from ringdesk.store import stats
from ringdesk.web.auth import Lead, Principal, RuntimeDep, User
from ringdesk.web.errors import ApiError
from ringdesk.web.responses import AgentFigures, Report
from ringdesk.web.schemas import AgentLogoutBody, AgentStatusBody, MonitorBody

router = APIRouter(prefix="/api", tags=["board"])
IdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
DateQuery = Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")]
FromQuery = Annotated[
    str | None, Query(alias="from", max_length=10, description="first day, YYYY-MM-DD")
]
TzQuery = Annotated[
    str | None,
    Query(max_length=64, description="IANA time zone the days are counted in (default UTC)"),
]
MAX_RANGE_DAYS = 366
FIGURES = (
    "offered",
    "refused",
    *stats.OUTCOMES,
    "callback_done",
    "callback_failed",
    "avg_abandon_seconds",
    "avg_wait_seconds",
    "longest_wait_seconds",
    "avg_talk_seconds",
    "avg_wrap_up_seconds",
    "service_level",
    "outbound",
    "outbound_connected",
)
# An agent's row has figures of its own (store/stats.py per_agent); the CSV has both sets of
# columns, each row filling its own, and each status's seconds as `status_<name>_seconds`.
AGENT_FIGURES = (
    "offered",
    "answered",
    "missed",
    "declined",
    "transfers_made",
    "transfers_received",
    "outbound",
    "outbound_connected",
    "talk_seconds",
    "avg_talk_seconds",
    "wrap_up_seconds",
    "logged_in_seconds",
    "occupancy",
)
_AGENT_ONLY = tuple(name for name in AGENT_FIGURES if name not in FIGURES)
_STATUS_COLUMNS = tuple(f"status_{status}_seconds" for status in stats.STATUSES)


AgentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


def led_services(runtime: Runtime, user: Principal) -> frozenset[int] | None:
    """The services a lead sees: None for an admin (every one), a supervisor's own."""
    return None if user.is_admin else runtime.config.agent_services(user.id)


@router.get("/board")
async def board(user: Lead, runtime: RuntimeDep) -> Board:
    """The live board: an admin's has every service, a supervisor's the services they lead."""
    with runtime.db() as db:
        data = board_view(runtime.live, db)
    services = led_services(runtime, user)
    return data if services is None else board_for(data, services)


def _led_agent(runtime: Runtime, user: Principal, agent_id: int) -> str:
    """The agent's name, if the lead may act on them (404 otherwise: nothing is learnt)."""
    services = led_services(runtime, user)
    try:
        view = runtime.engine.agent(agent_id)
    except NotFound:
        view = None
    if view is None or (services is not None and not services & view.services):
        raise ApiError(404, "not_found", f"No agent {agent_id} in your services.")
    return view.name


def _said(user: Principal, message: str) -> str:
    message = " ".join(message.split())
    return f"{user.name} (supervisor): {message}" if message else f"By {user.name} (supervisor)."


@router.put("/board/agents/{agent_id}/status")
async def set_agent_status(
    agent_id: AgentId, body: AgentStatusBody, user: Lead, runtime: RuntimeDep
) -> AgentState:
    """Set an agent's status (Business, Ready or Rest) as they would; during a call it applies
    when the call work ends. The agent's widget says who did it and the message."""
    _led_agent(runtime, user, agent_id)
    status = AgentStatus(body.status)
    runtime.command(
        SetStatus(agent_id, status, reason="by_supervisor", note=_said(user, body.message))
    )
    return agent_state(runtime.live, agent_id)


@router.post("/board/agents/{agent_id}/logout")
async def log_agent_out(
    agent_id: AgentId, body: AgentLogoutBody, user: Lead, runtime: RuntimeDep
) -> AgentState:
    """Log an agent out of CTI (not during a call: 409); their widget shows why."""
    _led_agent(runtime, user, agent_id)
    runtime.command(CtiLogout(agent_id, reason="by_supervisor", note=_said(user, body.message)))
    return agent_state(runtime.live, agent_id)


def _led_call(runtime: Runtime, user: Principal, call_id: str) -> None:
    services = led_services(runtime, user)
    try:
        call = runtime.engine.call(call_id)
    except NotFound as exc:
        raise ApiError(404, "call_not_found", "That call has ended.") from exc
    if services is not None and call.service_id not in services:
        raise ApiError(404, "call_not_found", "That call is not in your services.")


@router.put("/board/calls/{call_id}/monitor")
async def monitor_call(
    call_id: CallId, body: MonitorBody, user: Lead, runtime: RuntimeDep
) -> Board:
    """Listen to a live call from your phone (it rings and answers by itself), or change how:
    listen (you hear both), whisper (the agent hears you too), barge (everybody hears you)."""
    _led_call(runtime, user, call_id)
    runtime.command(MonitorCall(user.id, call_id, body.mode))
    return await board(user, runtime)


@router.delete("/board/calls/{call_id}/monitor")
async def stop_monitoring(call_id: CallId, user: Lead, runtime: RuntimeDep) -> Board:
    """Leave the call: your phone hangs up."""
    runtime.command(StopMonitoring(user.id, call_id))
    return await board(user, runtime)


@dataclass(frozen=True, slots=True)
class Span:
    first: dt.date
    last: dt.date
    tz_name: str
    start: float
    end: float


def _zone(name: str | None) -> tuple[str, dt.tzinfo]:
    if not name or name == "UTC":
        return "UTC", dt.UTC
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ApiError(
            422, "invalid_input", "tz must be a time zone name, like UTC or Europe/Paris."
        ) from exc


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(422, "invalid_input", f"{name} must be YYYY-MM-DD.") from exc


def _span(date: str | None, first: str | None, last: str | None, tz: str | None) -> Span:
    """`date` is one day; `from`/`to` a range (either alone means that one day); none: today."""
    tz_name, zone = _zone(tz)
    if date and (first or last):
        raise ApiError(422, "invalid_input", "Give either date or from/to, not both.")
    if date:
        first = last = date
    today = dt.datetime.now(zone).date().isoformat()
    first_day = _day(first or last or today, "from" if first else "to")
    last_day = _day(last or first or today, "to" if last else "from")
    if last_day < first_day:
        raise ApiError(422, "invalid_input", "to must not be before from.")
    if (last_day - first_day).days >= MAX_RANGE_DAYS:
        raise ApiError(422, "invalid_input", f"A range covers at most {MAX_RANGE_DAYS} days.")
    try:
        start, end = stats.span_bounds(first_day, last_day, zone)
    except OverflowError as exc:  # the day after 9999-12-31 does not exist
        raise ApiError(422, "invalid_input", "The dates are out of range.") from exc
    return Span(first_day, last_day, tz_name, start, end)


def _report(
    user: Principal,
    runtime: RuntimeDep,
    span: Span,
    service_id: int | None,
    agent_id: int | None,
) -> Report:
    if user.is_supervisor:
        return _supervisor_report(user, runtime, span, service_id, agent_id)
    if not user.is_admin:
        # An agent may see their own figures, nobody else's.
        if agent_id is not None and agent_id != user.id:
            raise ApiError(403, "forbidden", "Agents can only see their own statistics.")
        agent_id = user.id
    with runtime.db() as db:
        services = stats.per_service(db, span.start, span.end, service_id) if user.is_admin else []
        agents = stats.per_agent(db, span.start, span.end, service_id, agent_id)
        total = stats.overall(db, span.start, span.end, service_id) if user.is_admin else None
    return _report_body(span, services, agents, total)


def _supervisor_report(
    user: Principal,
    runtime: RuntimeDep,
    span: Span,
    service_id: int | None,
    agent_id: int | None,
) -> Report:
    """A supervisor's report: the services they lead and those services' agents (each agent's
    figures are their whole work in the span, or one service's when the query names it). The
    total is given for one service; over several it is left out."""
    led = runtime.config.agent_services(user.id)
    if service_id is not None and service_id not in led:
        raise ApiError(403, "forbidden", "You can only see the reports of the services you lead.")
    shown = {service_id} if service_id is not None else set(led)
    team = {a for sid in shown for a in runtime.config.service_agents(sid)} | {user.id}
    if agent_id is not None and agent_id not in team:
        raise ApiError(403, "forbidden", "That agent is not in the services you lead.")
    with runtime.db() as db:
        services = [
            s
            for s in stats.per_service(db, span.start, span.end, service_id)
            if s["service_id"] in shown
        ]
        agents = [
            a
            for a in stats.per_agent(db, span.start, span.end, service_id, agent_id)
            if a["agent_id"] in team
        ]
        total = (
            stats.overall(db, span.start, span.end, next(iter(shown))) if len(shown) == 1 else None
        )
    return _report_body(span, services, agents, total)


def _report_body(
    span: Span,
    services: list[dict[str, Any]],
    agents: list[dict[str, Any]],
    total: dict[str, Any] | None,
) -> Report:
    return {
        # `date` stays the first day, as before ranges existed.
        "date": span.first.isoformat(),
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "tz": span.tz_name,
        "services": cast(list[ServiceFigures], services),
        "agents": cast(list[AgentFigures], agents),
        "total": cast(Figures | None, total),
    }


def _requested_report(
    user: User,
    runtime: RuntimeDep,
    date: DateQuery = None,
    first: FromQuery = None,
    to: DateQuery = None,
    tz: TzQuery = None,
    service_id: IdQuery = None,
    agent_id: IdQuery = None,
) -> Report:
    """The report the query asks for; the JSON and the CSV endpoint share it."""
    return _report(user, runtime, _span(date, first, to, tz), service_id, agent_id)


Requested = Annotated[Report, Depends(_requested_report)]


@router.get("/stats")
def day_stats(report: Requested) -> Report:
    return report


@router.get(
    "/stats.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The figures as CSV"}},
)
def stats_csv(report: Requested) -> Response:
    """The same figures as /api/stats, one row per service, per agent and the total."""
    name = f"ringdesk-stats-{report['from']}-to-{report['to']}.csv"
    return Response(
        content=_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = (*FIGURES, *_AGENT_ONLY)
    writer.writerow(["from", "to", "tz", "row", "id", "name", *columns, *_STATUS_COLUMNS])
    head = [report["from"], report["to"], report["tz"]]
    for service in report["services"]:
        name = _cell(service["service_name"])
        writer.writerow([*head, "service", service["service_id"], name, *_nums(service, columns)])
    for agent in report["agents"]:
        times = cast(Mapping[str, Any], agent["status_seconds"])
        writer.writerow(
            [
                *head,
                "agent",
                agent["agent_id"],
                _cell(agent["name"]),
                *_nums(agent, columns),
                *(times[status] for status in stats.STATUSES),
            ]
        )
    if report["total"] is not None:
        total = _nums(report["total"], columns)
        writer.writerow([*head, "total", "", "All services", *total])
    return out.getvalue()


def _nums(row: Mapping[str, Any], columns: tuple[str, ...]) -> list[Any]:
    """The row's figures in the columns' order; empty where it has none (or no such figure)."""
    return ["" if row.get(key) is None else row[key] for key in columns]


def _cell(text: str) -> str:
    # A name starting with = + - @ would run as a formula when the file is opened in a
    # spreadsheet (CSV injection); a leading apostrophe keeps it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
