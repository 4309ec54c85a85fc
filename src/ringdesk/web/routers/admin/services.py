"""Services: the contract of a queue (inbound number, strategy, overflow)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ringdesk.store import models as m
from ringdesk.store import services
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError, unique
from ringdesk.web.responses import Service
from ringdesk.web.routers.admin.common import PREFIX, Id, service_or_404
from ringdesk.web.schemas import ServiceBody, ServicePatch

router = APIRouter(prefix=PREFIX, tags=["admin"])


def _service_json(s: m.Service) -> Service:
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
    }


def _check_service(overflow_action: str, overflow_number: str | None) -> None:
    if overflow_action == "forward" and not overflow_number:
        raise ApiError(422, "invalid_input", "Forwarding on overflow needs an overflow_number.")


@router.get("/services")
def list_services(_: Admin, runtime: RuntimeDep) -> list[Service]:
    with runtime.db() as db:
        return [_service_json(s) for s in services.list_(db)]


@router.post("/services", status_code=201)
async def create_service(body: ServiceBody, _: Admin, runtime: RuntimeDep) -> Service:
    _check_service(body.overflow_action, body.overflow_number)
    with runtime.db() as db, unique(f"The inbound number {body.inbound_number}"):
        result = _service_json(services.create(db, values=body.model_dump()))
    runtime.reload_config()
    return result


@router.get("/services/{service_id}")
def get_service(service_id: Id, _: Admin, runtime: RuntimeDep) -> Service:
    with runtime.db() as db:
        return _service_json(service_or_404(db, service_id))


@router.patch("/services/{service_id}")
async def edit_service(
    service_id: Id, body: ServicePatch, _: Admin, runtime: RuntimeDep
) -> Service:
    nullable = {"inbound_number", "max_wait_seconds", "overflow_number"}
    changes = body.model_dump(exclude_unset=True)
    with runtime.db() as db:
        row = service_or_404(db, service_id)
        for name, value in changes.items():
            if value is None and name not in nullable:
                raise ApiError(422, "invalid_input", f"{name} cannot be null.")
        _check_service(
            changes.get("overflow_action", row.overflow_action),
            changes.get("overflow_number", row.overflow_number),
        )
        number = changes.get("inbound_number", row.inbound_number)
        with unique(f"The inbound number {number}"):
            result = _service_json(services.update(db, service=row, changes=changes))
    runtime.reload_config()
    return result


@router.delete("/services/{service_id}", status_code=204)
async def delete_service(service_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        services.delete(db, service=service_or_404(db, service_id))
    runtime.reload_config()  # the engine closes both contracts of the deleted service
    return Response(status_code=204)
