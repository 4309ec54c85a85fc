"""Wrap-up codes (dispositions) of a service: the list its agents pick from in Ticket Processing
and whether picking one is required. Written whole: a PUT replaces the list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from typing_extensions import TypedDict

from ringdesk.store import dispositions
from ringdesk.store.unit import Db
from ringdesk.web.auth import Admin, Lead, RuntimeDep
from ringdesk.web.errors import ApiError, unique
from ringdesk.web.routers.admin.common import PREFIX, Id, service_or_404
from ringdesk.web.routers.board import DateQuery, FromQuery, IdQuery, TzQuery, _span
from ringdesk.web.schemas import Body

router = APIRouter(prefix=PREFIX, tags=["admin"])
MAX_CODES = 50


class DispositionCodeBody(Body):
    id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None  # keep this code (renamed)
    label: Annotated[str, Field(min_length=1, max_length=100)]


class DispositionsBody(Body):
    required: bool = False
    codes: Annotated[list[DispositionCodeBody], Field(max_length=MAX_CODES)] = []


class DispositionCodeJson(TypedDict):
    id: int
    label: str


class Dispositions(TypedDict):
    """A service's wrap-up codes, in the order agents see them."""

    service_id: int
    required: bool  # an agent cannot end Ticket Processing before picking one
    codes: list[DispositionCodeJson]


def _json(db: Db, service_id: int) -> Dispositions:
    required, codes = dispositions.get(db, service_id=service_id)
    return {
        "service_id": service_id,
        "required": required,
        "codes": [{"id": c.id, "label": c.label} for c in codes],
    }


@router.get("/services/{service_id}/dispositions")
def get_dispositions(service_id: Id, _: Admin, runtime: RuntimeDep) -> Dispositions:
    with runtime.db() as db:
        service_or_404(db, service_id)
        return _json(db, service_id)


@router.put("/services/{service_id}/dispositions")
async def put_dispositions(
    service_id: Id, body: DispositionsBody, _: Admin, runtime: RuntimeDep
) -> Dispositions:
    labels = [code.label.strip() for code in body.codes]
    if any(not label for label in labels):
        raise ApiError(422, "invalid_input", "A wrap-up code needs a name.")
    if len({label.casefold() for label in labels}) != len(labels):
        raise ApiError(422, "invalid_input", "Two wrap-up codes have the same name.")
    ids = [code.id for code in body.codes if code.id is not None]
    if len(set(ids)) != len(ids):
        raise ApiError(422, "invalid_input", "A wrap-up code is listed twice.")
    with runtime.db() as db:
        service_or_404(db, service_id)
        try:
            with unique("A wrap-up code"):
                dispositions.replace_all(
                    db,
                    service_id=service_id,
                    required=body.required,
                    codes=[(c.id, label) for c, label in zip(body.codes, labels, strict=True)],
                )
        except LookupError as exc:
            raise ApiError(404, "not_found", "A wrap-up code of another service.") from exc
    runtime.reload_config()
    with runtime.db() as db:
        return _json(db, service_id)


class DispositionCount(TypedDict):
    service_id: int
    label: str  # as it was when picked
    count: int  # calls (arrived in the range) it was picked for, one per agent wrapping up


class DispositionReport(TypedDict):
    """How often each wrap-up code was picked, per service, for the calls of a date range."""

    date_from: str
    date_to: str
    tz: str
    counts: list[DispositionCount]


@router.get("/dispositions/report")
def disposition_report(
    user: Lead,
    runtime: RuntimeDep,
    date: DateQuery = None,
    first: FromQuery = None,
    to: DateQuery = None,
    tz: TzQuery = None,
    service_id: IdQuery = None,
) -> DispositionReport:
    """The range as for /api/stats (days counted in `tz`); a supervisor's: the services they
    lead."""
    span = _span(date, first, to, tz)
    led = None if user.is_admin else runtime.config.agent_services(user.id)
    if led is not None and service_id is not None and service_id not in led:
        raise ApiError(403, "forbidden", "You can only see the reports of the services you lead.")
    with runtime.db() as db:
        rows = dispositions.per_service(db, span.start, span.end, service_id)
    if led is not None:
        rows = [r for r in rows if r["service_id"] in led]
    return {
        "date_from": span.first.isoformat(),
        "date_to": span.last.isoformat(),
        "tz": span.tz_name,
        "counts": [
            {"service_id": r["service_id"], "label": r["label"], "count": r["count"]} for r in rows
        ],
    }
