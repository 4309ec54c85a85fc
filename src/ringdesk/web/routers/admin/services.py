"""Services: the contract of a queue (inbound number, strategy, overflow)."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Response

from ringdesk.core import dialplan
from ringdesk.store import models as m
from ringdesk.store import services
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError, unique
from ringdesk.web.responses import DialPlan, Service
from ringdesk.web.routers.admin.common import PREFIX, Id, service_or_404
from ringdesk.web.schemas import DialPlanBody, ServiceBody, ServicePatch

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
        "dial_plan": _plan_json(s),
    }


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
        values = body.model_dump(exclude={"dial_plan"}) | _plan_columns(None, body.dial_plan)
        result = _service_json(services.create(db, values=values))
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
