"""Calling numbers: what a service's agents may show when they dial out."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ringdesk.store import calling_numbers as numbers
from ringdesk.store import services
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError, unique
from ringdesk.web.responses import CallingNumber, calling_number_json
from ringdesk.web.routers.admin.common import PREFIX, Id, service_or_404
from ringdesk.web.schemas import CallingNumberBody

router = APIRouter(prefix=PREFIX, tags=["admin"])


@router.get("/services/{service_id}/calling-numbers")
def calling_numbers(service_id: Id, _: Admin, runtime: RuntimeDep) -> list[CallingNumber]:
    with runtime.db() as db:
        service_or_404(db, service_id)
        return [calling_number_json(n) for n in numbers.list_(db, service_id=service_id)]


@router.post("/services/{service_id}/calling-numbers", status_code=201)
async def add_calling_number(
    service_id: Id, body: CallingNumberBody, _: Admin, runtime: RuntimeDep
) -> CallingNumber:
    with runtime.db() as db:
        service_or_404(db, service_id)
        with unique(f"The calling number {body.number}"):
            row = numbers.create(db, service_id=service_id, number=body.number, label=body.label)
        result = calling_number_json(row)
    runtime.reload_config()
    return result


@router.delete("/services/{service_id}/calling-numbers/{number_id}", status_code=204)
async def remove_calling_number(
    service_id: Id, number_id: Id, _: Admin, runtime: RuntimeDep
) -> Response:
    with runtime.db() as db:
        row = numbers.get(db, service_id=service_id, number_id=number_id)
        if row is None:
            raise ApiError(404, "not_found", f"No calling number {number_id} on this service.")
        service = service_or_404(db, service_id)
        last = services.calling_number_count(db, service_id=service_id) == 1
        if service.callback_enabled and last:  # callbacks call customers from one of them
            raise ApiError(
                409,
                "callback_needs_calling_number",
                f"{row.number} is the last calling number of {service.name}, which calls "
                "customers back from it: turn callbacks off first.",
            )
        numbers.delete(db, calling_number=row)
    runtime.reload_config()
    return Response(status_code=204)
