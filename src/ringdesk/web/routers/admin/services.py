"""Services: the contract of a queue (inbound number, strategy, overflow), and what its callers
meet: the opening hours and holidays, what a closed service does, the menu heard first and the
queue announcements."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from fastapi import APIRouter, Response

from ringdesk.core import dialplan
from ringdesk.core import hours as core_hours
from ringdesk.runtime import Runtime
from ringdesk.store import menus, services
from ringdesk.store import models as m
from ringdesk.store.unit import Db
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError, unique
from ringdesk.web.responses import DialPlan, HolidayDays, Service, ServiceHours, WeeklyHours
from ringdesk.web.routers.admin.common import PREFIX, Id, service_or_404
from ringdesk.web.schemas import (
    DialPlanBody,
    HolidayBody,
    ServiceBody,
    ServiceHoursBody,
    ServicePatch,
    WeeklyHoursBody,
)

router = APIRouter(prefix=PREFIX, tags=["admin"])


def _service_json(s: m.Service, runtime: Runtime) -> Service:
    open_now, next_change = _open(runtime, s.id)
    return {
        "id": s.id,
        "name": s.name,
        "inbound_number": s.inbound_number,
        "inbound_enabled": s.inbound_enabled,
        "outbound_enabled": s.outbound_enabled,
        "strategy": s.strategy,
        "max_wait_seconds": s.max_wait_seconds,
        "overflow_action": s.overflow_action,
        "overflow_number": s.overflow_number,
        "service_level_seconds": s.service_level_seconds,
        "dial_plan": _plan_json(s),
        "timezone": s.timezone,
        "closed_action": s.closed_action,
        "closed_number": s.closed_number,
        "menu_id": s.menu_id,
        "announce_position": s.announce_position,
        "announce_message": s.announce_message,
        "announce_every_seconds": s.announce_every_seconds,
        "voicemail_max_seconds": s.voicemail_max_seconds,
        "callback_enabled": s.callback_enabled,
        "callback_retry_seconds": s.callback_retry_seconds,
        "callback_max_attempts": s.callback_max_attempts,
        "record_calls": s.record_calls,
        "open_now": open_now,
        "next_change": next_change,
    }


def _open(runtime: Runtime, service_id: int) -> tuple[bool, float | None]:
    """Open now, and when that changes next, by the calendar in the engine's snapshot (what a
    call arriving now gets: the snapshot is reloaded after every save)."""
    calendar = runtime.config.service_hours(service_id)
    now = runtime.clock()
    return core_hours.is_open(calendar, now), core_hours.next_change(calendar, now)


def _plan_json(s: m.Service) -> DialPlan:
    plan = services.plan_of(s)
    return {
        "country_code": plan.country_code,
        "national_prefix": plan.national_prefix,
        "international_prefixes": list(plan.international_prefixes),
        "allow_international": plan.allow_international,
        "allow_premium": plan.allow_premium,
        "premium_prefixes": list(plan.premium_prefixes),
        "allowed_patterns": list(plan.allowed_patterns),
        "blocked_patterns": list(plan.blocked_patterns),
    }


def _plan_columns(row: m.Service | None, body: DialPlanBody | None) -> dict[str, object]:
    """The dial plan columns for a new service (row None) or a change: what the body sets,
    over the service's plan (or the defaults)."""
    plan = services.plan_of(row) if row is not None else dialplan.DEFAULT_PLAN
    if body is not None:
        changes = body.model_dump(exclude_unset=True)
        listed = {k: tuple(v) for k, v in changes.items() if isinstance(v, list)}
        plan = replace(plan, **{**changes, **listed})
    return services.plan_columns(plan)


def _check_service(
    db: Db,
    overflow_action: str,
    overflow_number: str | None,
    *,
    timezone: str,
    closed_action: str,
    closed_number: str | None,
    menu_id: int | None,
) -> None:
    """422 for a field that does not fit the others or the store (and nothing is written)."""
    if overflow_action == "forward" and not overflow_number:
        raise ApiError(422, "invalid_input", "Forwarding on overflow needs an overflow_number.")
    _check_timezone(timezone)
    if closed_action == "forward" and not closed_number:
        raise ApiError(422, "invalid_input", "Forwarding when closed needs a closed_number.")
    if menu_id is not None and menus.get(db, menu_id=menu_id) is None:
        raise ApiError(422, "unknown_menu", f"There is no menu {menu_id}.")


CALLBACK_NEEDS_NUMBER = (
    "Callbacks need a calling number on this service, to call customers from: add one under "
    "Calling numbers first."
)


def _check_callback(db: Db, service_id: int | None) -> None:
    """409 when callbacks are turned on for a service (None: a new one) without a calling
    number: the customer is called back from one of the service's calling numbers."""
    if service_id is None or services.calling_number_count(db, service_id=service_id) == 0:
        raise ApiError(
            409,
            "callback_needs_calling_number",
            CALLBACK_NEEDS_NUMBER,
            extra={"fields": [{"field": "callback_enabled", "message": "needs a calling number"}]},
        )


def _check_timezone(name: str) -> None:
    if not core_hours.valid_timezone(name):
        raise ApiError(
            422,
            "invalid_timezone",
            f"{name!r} is not a time zone: use an IANA name such as Europe/Berlin or UTC.",
        )


@router.get("/services")
def list_services(_: Admin, runtime: RuntimeDep) -> list[Service]:
    with runtime.db() as db:
        return [_service_json(s, runtime) for s in services.list_(db)]


@router.post("/services", status_code=201)
async def create_service(body: ServiceBody, _: Admin, runtime: RuntimeDep) -> Service:
    with runtime.db() as db, unique(f"The inbound number {body.inbound_number}"):
        _check_service(
            db,
            body.overflow_action,
            body.overflow_number,
            timezone=body.timezone,
            closed_action=body.closed_action,
            closed_number=body.closed_number,
            menu_id=body.menu_id,
        )
        if body.callback_enabled:
            _check_callback(db, None)  # a new service has no calling number yet
        values = body.model_dump(exclude={"dial_plan"}) | _plan_columns(None, body.dial_plan)
        row = services.create(db, values=values)
    runtime.reload_config()
    return _service_json(row, runtime)


@router.get("/services/{service_id}")
def get_service(service_id: Id, _: Admin, runtime: RuntimeDep) -> Service:
    with runtime.db() as db:
        return _service_json(service_or_404(db, service_id), runtime)


@router.patch("/services/{service_id}")
async def edit_service(
    service_id: Id, body: ServicePatch, _: Admin, runtime: RuntimeDep
) -> Service:
    nullable = {
        "inbound_number",
        "max_wait_seconds",
        "overflow_number",
        "closed_number",
        "menu_id",
        "record_calls",  # null: as the global setting
    }
    changes = body.model_dump(exclude_unset=True, exclude={"dial_plan"})
    with runtime.db() as db:
        row = service_or_404(db, service_id)
        for name, value in changes.items():
            if value is None and name not in nullable:
                raise ApiError(422, "invalid_input", f"{name} cannot be null.")
        if "dial_plan" in body.model_fields_set:
            if body.dial_plan is None:
                raise ApiError(422, "invalid_input", "dial_plan cannot be null.")
            changes |= _plan_columns(row, body.dial_plan)
        _check_service(
            db,
            changes.get("overflow_action", row.overflow_action),
            changes.get("overflow_number", row.overflow_number),
            timezone=changes.get("timezone", row.timezone),
            closed_action=changes.get("closed_action", row.closed_action),
            closed_number=changes.get("closed_number", row.closed_number),
            menu_id=changes.get("menu_id", row.menu_id),
        )
        if changes.get("callback_enabled"):  # turned on, or kept on, by this change
            _check_callback(db, row.id)
        number = changes.get("inbound_number", row.inbound_number)
        with unique(f"The inbound number {number}"):
            services.update(db, service=row, changes=changes)
    runtime.reload_config()
    return _service_json(row, runtime)


@router.delete("/services/{service_id}", status_code=204)
async def delete_service(service_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    """Tickets keep their history; 409 service_in_use while a menu leads to the service."""
    with runtime.db() as db:
        row = service_or_404(db, service_id)
        leading = menus.leading_to_service(db, service_id=service_id)
        if leading:  # a menu choice must never lead nowhere
            raise ApiError(
                409,
                "service_in_use",
                f"The service {row.name} is still a choice of the menu {', '.join(leading)}: "
                "change that menu first.",
            )
        services.delete(db, service=row)
    runtime.reload_config()  # the engine closes both contracts of the deleted service
    return Response(status_code=204)


# ---- opening hours and holidays -------------------------------------------------------------
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _minutes(value: str, where: str, *, end: bool) -> int:
    """ "HH:MM" as minutes of the day; an end may be "24:00" (midnight at the day's end)."""
    if end and value == "24:00":
        return core_hours.MINUTES_PER_DAY
    if not _CLOCK.match(value):
        allowed = "00:00 to 24:00" if end else "00:00 to 23:59"
        raise ApiError(
            422,
            "invalid_time",
            f"{where} {value!r} is not a time of day (HH:MM, {allowed}).",
            extra={"fields": [{"field": where, "message": "is not a time of day"}]},
        )
    return int(value[:2]) * 60 + int(value[3:])


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _day(value: str, where: str) -> date:
    try:
        if not _DAY.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422,
            "invalid_date",
            f"{where} {value!r} is not a date (YYYY-MM-DD).",
            extra={"fields": [{"field": where, "message": "is not a date"}]},
        ) from None


def _weekly(ranges: list[WeeklyHoursBody]) -> list[tuple[int, int, int]]:
    result = []
    for i, r in enumerate(ranges):
        start = _minutes(r.start, f"weekly.{i}.start", end=False)
        end = _minutes(r.end, f"weekly.{i}.end", end=True)
        result.append((r.weekday, start, end))
    return result


def _holidays(days: list[HolidayBody]) -> list[tuple[str, str, str, bool]]:
    result = []
    for i, h in enumerate(days):
        first = _day(h.first, f"holidays.{i}.first")
        last = _day(h.last, f"holidays.{i}.last")
        if first > last and not h.yearly:
            raise ApiError(
                422,
                "invalid_holiday",
                f"holidays.{i} ({h.name}) ends before it starts: a range over New Year must be"
                " yearly.",
                extra={"fields": [{"field": f"holidays.{i}.last", "message": "is before first"}]},
            )
        result.append((h.name, first.isoformat(), last.isoformat(), h.yearly))
    return result


def _hours_json(db: Db, row: m.Service, runtime: Runtime) -> ServiceHours:
    open_now, next_change = _open(runtime, row.id)
    weekly: list[WeeklyHours] = [
        {"weekday": r.weekday, "start": _clock(r.start_minute), "end": _clock(r.end_minute)}
        for r in services.hours(db, service_id=row.id)
    ]
    holidays: list[HolidayDays] = [
        {"name": h.name, "first": h.first_day, "last": h.last_day, "yearly": h.yearly}
        for h in services.holidays(db, service_id=row.id)
    ]
    return {
        "timezone": row.timezone,
        "weekly": weekly,
        "holidays": holidays,
        "open_now": open_now,
        "next_change": next_change,
    }


@router.get("/services/{service_id}/hours")
def get_hours(service_id: Id, _: Admin, runtime: RuntimeDep) -> ServiceHours:
    with runtime.db() as db:
        return _hours_json(db, service_or_404(db, service_id), runtime)


@router.put("/services/{service_id}/hours")
async def put_hours(
    service_id: Id, body: ServiceHoursBody, _: Admin, runtime: RuntimeDep
) -> ServiceHours:
    """Replace the whole calendar; any bad part refuses all of it (nothing changed)."""
    _check_timezone(body.timezone)
    weekly = _weekly(body.weekly)
    holidays = _holidays(body.holidays)
    with runtime.db() as db:
        row = service_or_404(db, service_id)
        services.replace_calendar(
            db, service=row, timezone=body.timezone, weekly=weekly, holiday_values=holidays
        )
    runtime.reload_config()
    with runtime.db() as db:
        return _hours_json(db, service_or_404(db, service_id), runtime)
