"""Admin settings of the manual: services (contract), phone permission, calling numbers, users,
CTI settings, sounds and CTI agent management. Every change reaches the engine and the switch
at once: after each save the runtime reloads the configuration snapshot as a whole."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, UploadFile
from fastapi.responses import FileResponse

from ringdesk.live.shapes import user_json
from ringdesk.runtime import Runtime
from ringdesk.store import calling_numbers as numbers
from ringdesk.store import cti_agents as ctis
from ringdesk.store import cti_config, permissions, services, users
from ringdesk.store import models as m
from ringdesk.store.security import hash_password
from ringdesk.store.sounds import SOUND_NAMES
from ringdesk.store.unit import Db
from ringdesk.web.auth import Admin, RuntimeDep, logins
from ringdesk.web.errors import ApiError, found, unique
from ringdesk.web.schemas import (
    CallingNumberBody,
    CtiAgentBody,
    CtiSettingsBody,
    PermissionBody,
    ServiceBody,
    ServicePatch,
    UserBody,
    UserPatch,
)

router = APIRouter(prefix="/api/admin", tags=["admin"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
SoundName = Annotated[str, Path(pattern="^(" + "|".join(SOUND_NAMES) + ")$")]
MAX_WAV = 16 * 1024 * 1024


# ---- services ------------------------------------------------------------------------------------
def _service_json(s: m.Service) -> dict[str, Any]:
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


def _service(db: Db, service_id: int) -> m.Service:
    return found(services.get(db, service_id=service_id), f"No service {service_id}.")


def _check_service(overflow_action: str, overflow_number: str | None) -> None:
    if overflow_action == "forward" and not overflow_number:
        raise ApiError(422, "invalid_input", "Forwarding on overflow needs an overflow_number.")


@router.get("/services")
def list_services(_: Admin, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        return [_service_json(s) for s in services.list_(db)]


@router.post("/services", status_code=201)
async def create_service(body: ServiceBody, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    _check_service(body.overflow_action, body.overflow_number)
    with runtime.db() as db, unique(f"The inbound number {body.inbound_number}"):
        result = _service_json(services.create(db, values=body.model_dump()))
    runtime.reload_config()
    return result


@router.get("/services/{service_id}")
def get_service(service_id: Id, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        return _service_json(_service(db, service_id))


@router.patch("/services/{service_id}")
async def edit_service(
    service_id: Id, body: ServicePatch, _: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    nullable = {"inbound_number", "max_wait_seconds", "overflow_number"}
    changes = body.model_dump(exclude_unset=True)
    with runtime.db() as db:
        row = _service(db, service_id)
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
        services.delete(db, service=_service(db, service_id))
    runtime.reload_config()  # the engine closes both contracts of the deleted service
    return Response(status_code=204)


# ---- phone permission ----------------------------------------------------------------------------
@router.get("/services/{service_id}/agents")
def service_agents(service_id: Id, _: Admin, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        _service(db, service_id)
        agents = users.list_(db, role="agent")
        granted = permissions.granted(db, service_id=service_id)
        return [
            {"user_id": u.id, "name": u.name, "phone_permission": u.id in granted} for u in agents
        ]


@router.put("/services/{service_id}/agents/{user_id}")
async def set_permission(
    service_id: Id, user_id: Id, body: PermissionBody, _: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.db() as db:
        _service(db, service_id)
        user = _user(db, user_id)
        permissions.set_(
            db, service_id=service_id, user_id=user_id, phone_permission=body.phone_permission
        )
        result = {"user_id": user.id, "name": user.name, "phone_permission": body.phone_permission}
    runtime.reload_config()
    return result


# ---- calling numbers -----------------------------------------------------------------------------
def _number_json(n: m.CallingNumber) -> dict[str, Any]:
    return {"id": n.id, "number": n.number, "label": n.label}


@router.get("/services/{service_id}/calling-numbers")
def calling_numbers(service_id: Id, _: Admin, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        _service(db, service_id)
        return [_number_json(n) for n in numbers.list_(db, service_id=service_id)]


@router.post("/services/{service_id}/calling-numbers", status_code=201)
async def add_calling_number(
    service_id: Id, body: CallingNumberBody, _: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.db() as db:
        _service(db, service_id)
        with unique(f"The calling number {body.number}"):
            row = numbers.create(db, service_id=service_id, number=body.number, label=body.label)
        result = _number_json(row)
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
        numbers.delete(db, calling_number=row)
    runtime.reload_config()
    return Response(status_code=204)


# ---- users ---------------------------------------------------------------------------------------
@router.get("/users")
def list_users(_: Admin, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        return [user_json(u) for u in users.list_(db)]


@router.post("/users", status_code=201)
async def create_user(body: UserBody, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    password_hash = await asyncio.to_thread(hash_password, body.password)
    with runtime.db() as db, unique(f"The username {body.username}"):
        row = users.create(
            db,
            username=body.username,
            name=body.name,
            role=body.role,
            password_hash=password_hash,
        )
        result = user_json(row)
    runtime.reload_config()
    return result


def _user(db: Db, user_id: int) -> m.User:
    return found(users.get(db, user_id=user_id), f"No user {user_id}.")


@router.patch("/users/{user_id}")
async def edit_user(
    user_id: Id, body: UserPatch, admin: Admin, runtime: RuntimeDep, request: Request
) -> dict[str, Any]:
    password_hash = None
    if body.password is not None:
        password_hash = await asyncio.to_thread(hash_password, body.password)
    with runtime.db() as db:
        row = _user(db, user_id)
        if body.role == "agent" and user_id == admin.id:
            raise ApiError(409, "cannot_demote_self", "You cannot remove your own admin role.")
        users.update(db, user=row, name=body.name, role=body.role, password_hash=password_hash)
        result = user_json(row)
    logins(request).drop_user(user_id)
    runtime.reload_config()
    return result


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(user_id: Id, admin: Admin, runtime: RuntimeDep, request: Request) -> Response:
    if user_id == admin.id:
        raise ApiError(409, "cannot_delete_self", "You cannot delete your own account.")
    with runtime.db() as db:
        row = _user(db, user_id)
        if ctis.logged_in(db, user_id=user_id):
            raise ApiError(409, "agent_logged_in", "Log the agent out of CTI first.")
        users.delete(db, user=row)
    logins(request).drop_user(user_id)
    runtime.reload_config()
    return Response(status_code=204)


# ---- CTI settings --------------------------------------------------------------------------------
def _settings_json(row: m.CtiSettingsRow) -> dict[str, Any]:
    return {
        "sip_domain": row.sip_domain,
        "trunk_host": row.trunk_host,
        "trunk_port": row.trunk_port,
        "trunk_username": row.trunk_username,
        "trunk_password": row.trunk_password,
        "allow_any_source": row.allow_any_source,
        "codecs": [c for c in row.codecs.split(",") if c],
        "queue_music_mode": row.queue_music_mode,
        "default_login_status": row.default_login_status,
        "pickup_seconds": row.pickup_seconds,
        "pickup_timeout_status": row.pickup_timeout_status,
        "max_missed_offers": row.max_missed_offers,
        "outbound_ticket_on_dial": row.outbound_ticket_on_dial,
        "wrap_up_seconds": row.wrap_up_seconds,
        "record_calls": row.record_calls,
    }


@router.get("/cti/settings")
def get_settings(_: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        return _settings_json(cti_config.get(db))


@router.put("/cti/settings")
async def put_settings(body: CtiSettingsBody, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        result = _settings_json(cti_config.update(db, values=body.model_dump()))
    runtime.reload_config()
    return result


# ---- sounds --------------------------------------------------------------------------------------
@router.get("/cti/sounds/{name}", response_class=FileResponse)
def get_sound(name: SoundName, _: Admin, runtime: RuntimeDep) -> FileResponse:
    with runtime.db() as db:
        path = runtime.sounds.paths(db).get(name)
    if path is None or not path.is_file():
        raise ApiError(404, "not_found", f"No sound {name}.")
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "no-cache"})


@router.put("/cti/sounds/{name}", status_code=204)
async def put_sound(name: SoundName, file: UploadFile, _: Admin, runtime: RuntimeDep) -> Response:
    data = await file.read(MAX_WAV + 1)
    if len(data) > MAX_WAV:
        raise ApiError(413, "too_large", "The WAV file is larger than 16 MB.")
    if not _valid_wav(data):
        raise ApiError(415, "not_a_wav", "The file is not a WAV sound we can play.")
    with runtime.db() as db:
        runtime.sounds.save_upload(db, name, data)
    runtime.reload_config()
    return Response(status_code=204)


@router.delete("/cti/sounds/{name}", status_code=204)
async def reset_sound(name: SoundName, _: Admin, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        runtime.sounds.restore_default(db, name)
    runtime.reload_config()
    return Response(status_code=204)


def _valid_wav(data: bytes) -> bool:
    try:
        from ringdesk.media.sounds import validate_wav
    except ImportError:
        return data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    try:
        validate_wav(data)
    except Exception:  # the validator raises on anything it cannot decode
        return False
    return True


# ---- CTI agent management ------------------------------------------------------------------------
def _cti_json(runtime: Runtime, user: m.User, cti: m.CtiAgent | None) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "name": user.name,
        "cti_id": cti.cti_id if cti else None,
        "cti_number": cti.cti_number if cti else None,
        "has_phone_password": bool(cti and cti.phone_password),
        "registered": bool(cti) and runtime.phone_registered(user.id),
        "auto_answer": bool(cti and cti.auto_answer),
    }


@router.get("/cti/agents")
def cti_agents(_: Admin, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        return [_cti_json(runtime, u, cti) for u, cti in ctis.list_(db)]


@router.get("/cti/agents/{user_id}")
def cti_agent(user_id: Id, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        return _cti_json(runtime, _user(db, user_id), ctis.get(db, user_id=user_id))


@router.put("/cti/agents/{user_id}")
async def assign_cti(
    user_id: Id, body: CtiAgentBody, _: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.db() as db:
        user = _user(db, user_id)
        if ctis.taken(db, user_id=user_id, cti_id=body.cti_id, cti_number=body.cti_number):
            raise ApiError(409, "already_exists", "This CTI ID or CTI number belongs to another.")
        if body.phone_password is None and ctis.get(db, user_id=user_id) is None:
            raise ApiError(422, "invalid_input", "A new CTI agent needs a phone_password.")
        with unique("This CTI ID or CTI number"):
            ctis.assign(
                db,
                user_id=user_id,
                cti_id=body.cti_id,
                cti_number=body.cti_number,
                phone_password=body.phone_password,
                auto_answer=body.auto_answer,
            )
    runtime.reload_config()
    with runtime.db() as db:
        return _cti_json(runtime, user, ctis.get(db, user_id=user_id))


@router.delete("/cti/agents/{user_id}", status_code=204)
async def unassign_cti(user_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        _user(db, user_id)
        if ctis.logged_in(db, user_id=user_id):
            raise ApiError(409, "agent_logged_in", "Log the agent out of CTI first.")
        ctis.unassign(db, user_id=user_id)
    runtime.reload_config()
    return Response(status_code=204)
