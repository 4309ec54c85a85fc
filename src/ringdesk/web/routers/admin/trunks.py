"""Provider trunks: several, tried by priority, each with its registration, caller-ID form and
number formats (docs/decisions.md, "Provider trunks"). Passwords are write-only."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response

from ringdesk.store import models as m
from ringdesk.store import trunks as store
from ringdesk.switch.resolver import ip_literal
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError, found, unique
from ringdesk.web.responses import Trunk
from ringdesk.web.routers.admin.common import PREFIX, Id
from ringdesk.web.schemas import TrunkBody

router = APIRouter(prefix=PREFIX, tags=["admin"])


def _json(row: m.TrunkRow, runtime: RuntimeDep) -> Trunk:
    state, error, until = "off", None, None
    if row.register:
        reg = runtime.switch.trunk_registrations.status(row.id)
        state = "unregistered"
        if reg is not None:
            state, error = reg.state.value, reg.last_error
            now = runtime.switch.stack.now()
            if reg.ready(now) and reg.expires_at is not None:
                until = time.time() + (reg.expires_at - now)
    last_error, located = runtime.switch.trunk_status(row.id)
    return {
        "id": row.id,
        "name": row.name,
        "host": row.host,
        "port": row.port,
        "transport": row.transport,
        "username": row.username,
        "has_password": bool(row.password),
        "auth_username": row.auth_username,
        "realm": row.realm,
        "register": row.register,
        "register_expires": row.register_expires,
        "priority": row.priority,
        "enabled": row.enabled,
        "sources": [s for s in row.sources.split(",") if s],
        "identity_header": row.identity_header,
        "from_domain": row.from_domain,
        "privacy_withheld": row.privacy_withheld,
        "number_format": row.number_format,
        "country_code": row.country_code,
        "registration": state,
        "registration_error": error,
        "registered_until": until,
        "last_error": last_error,
        "located": located,
    }


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "invalid_input",
        f"{field}: {message}.",
        extra={"fields": [{"field": f"body.{field}", "message": message}]},
    )


def _values(body: TrunkBody) -> dict[str, Any]:
    """The row's values, checked across fields (422 naming the field)."""
    if body.register_ and not body.username:
        raise _invalid("username", "registration needs a username")
    if body.register_ and not body.password and "password" in body.model_fields_set:
        raise _invalid("password", "registration needs a password")
    if body.number_format == "national" and not body.country_code:
        raise _invalid("country_code", "the national number format needs the trunk's country")
    if body.transport == "auto":
        if ip_literal(body.host) is not None:
            raise _invalid(
                "transport",
                "auto finds the transport of a host name in DNS; for an IP address choose "
                "udp, tcp or tls",
            )
        if "port" not in body.model_fields_set:
            body.port = 0  # auto: located by DNS
        elif body.port:
            raise _invalid(
                "port", "auto locates the host by DNS: leave the port 0, or choose a transport"
            )
    values = body.model_dump()
    values["register"] = values.pop("register_")
    if "password" not in body.model_fields_set:
        values["password"] = None  # omitted: keep the stored one
    return values


@router.get("/trunks")
def list_trunks(_: Admin, runtime: RuntimeDep) -> list[Trunk]:
    with runtime.db() as db:
        return [_json(row, runtime) for row in store.rows(db)]


@router.post("/trunks", status_code=201)
async def add_trunk(body: TrunkBody, _: Admin, runtime: RuntimeDep) -> Trunk:
    values = _values(body)
    with runtime.db() as db:
        with unique(f"The trunk name {body.name}"):
            row = store.create(db, values)
        result = _json(row, runtime)
    runtime.reload_config()
    return result


@router.put("/trunks/{trunk_id}")
async def update_trunk(trunk_id: Id, body: TrunkBody, _: Admin, runtime: RuntimeDep) -> Trunk:
    values = _values(body)
    with runtime.db() as db:
        row = found(store.get(db, trunk_id), f"No trunk {trunk_id}.")
        with unique(f"The trunk name {body.name}"):
            store.update(db, row, values)
        result = _json(row, runtime)
    runtime.reload_config()
    return result


@router.delete("/trunks/{trunk_id}", status_code=204)
async def remove_trunk(trunk_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        store.delete(db, found(store.get(db, trunk_id), f"No trunk {trunk_id}."))
    runtime.reload_config()
    return Response(status_code=204)
