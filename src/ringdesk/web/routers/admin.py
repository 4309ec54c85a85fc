"""Admin settings of the manual: services (contract), phone permission, calling numbers, users,
CTI settings, sounds and CTI agent management. Every change reaches the engine and the switch
at once: after each save the runtime reloads the configuration snapshot as a whole."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ringdesk.live.shapes import user_json
from ringdesk.runtime import Runtime
from ringdesk.store import models as m
from ringdesk.store.security import hash_password
from ringdesk.store.snapshot import settings_row
from ringdesk.store.sounds import SOUND_NAMES
from ringdesk.web.auth import Admin, RuntimeDep, logins
from ringdesk.web.errors import ApiError
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


def _service(db: Session, service_id: int) -> m.Service:
    row = db.get(m.Service, service_id)
    if row is None:
        raise ApiError(404, "not_found", f"No service {service_id}.")
    return row


def _check_service(row: m.Service) -> None:
    if row.overflow_action == "forward" and not row.overflow_number:
        raise ApiError(422, "invalid_input", "Forwarding on overflow needs an overflow_number.")


def _commit_unique(db: Session, what: str) -> None:
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise ApiError(409, "already_exists", f"{what} is already in use.") from exc


@router.get("/services")
def list_services(_: Admin, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        return [_service_json(s) for s in db.scalars(select(m.Service).order_by(m.Service.id))]


@router.post("/services", status_code=201)
async def create_service(body: ServiceBody, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        row = m.Service(**body.model_dump())
        _check_service(row)
        db.add(row)
        _commit_unique(db, f"The inbound number {body.inbound_number}")
        result = _service_json(row)
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
    with runtime.db() as db:
        row = _service(db, service_id)
        for name, value in body.model_dump(exclude_unset=True).items():
            if value is None and name not in nullable:
                raise ApiError(422, "invalid_input", f"{name} cannot be null.")
            setattr(row, name, value)
        _check_service(row)
        _commit_unique(db, f"The inbound number {row.inbound_number}")
        result = _service_json(row)
    runtime.reload_config()
    return result


@router.delete("/services/{service_id}", status_code=204)
async def delete_service(service_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        db.delete(_service(db, service_id))  # tickets keep their history (service_id NULL)
        db.commit()
    runtime.reload_config()  # the engine closes both contracts of the deleted service
    return Response(status_code=204)


# ---- phone permission ----------------------------------------------------------------------------
@router.get("/services/{service_id}/agents")
def service_agents(service_id: Id, _: Admin, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        _service(db, service_id)
        users = db.scalars(select(m.User).where(m.User.role == "agent").order_by(m.User.id)).all()
        granted = set(
            db.scalars(
                select(m.ServiceAgent.user_id).where(
                    m.ServiceAgent.service_id == service_id,
                    m.ServiceAgent.phone_permission.is_(True),
                )
            ).all()
        )
        return [
            {"user_id": u.id, "name": u.name, "phone_permission": u.id in granted} for u in users
        ]


@router.put("/services/{service_id}/agents/{user_id}")
async def set_permission(
    service_id: Id, user_id: Id, body: PermissionBody, _: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.db() as db:
        _service(db, service_id)
        user = db.get(m.User, user_id)
        if user is None:
            raise ApiError(404, "not_found", f"No user {user_id}.")
        row = db.get(m.ServiceAgent, (service_id, user_id))
        if row is None:
            row = m.ServiceAgent(service_id=service_id, user_id=user_id)
            db.add(row)
        row.phone_permission = body.phone_permission
        db.commit()
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
        rows = db.scalars(
            select(m.CallingNumber)
            .where(m.CallingNumber.service_id == service_id)
            .order_by(m.CallingNumber.id)
        ).all()
        return [_number_json(n) for n in rows]


@router.post("/services/{service_id}/calling-numbers", status_code=201)
async def add_calling_number(
    service_id: Id, body: CallingNumberBody, _: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.db() as db:
        _service(db, service_id)
        row = m.CallingNumber(service_id=service_id, number=body.number, label=body.label)
        db.add(row)
        _commit_unique(db, f"The calling number {body.number}")
        result = _number_json(row)
    runtime.reload_config()
    return result


@router.delete("/services/{service_id}/calling-numbers/{number_id}", status_code=204)
async def remove_calling_number(
    service_id: Id, number_id: Id, _: Admin, runtime: RuntimeDep
) -> Response:
    with runtime.db() as db:
        row = db.get(m.CallingNumber, number_id)
        if row is None or row.service_id != service_id:
            raise ApiError(404, "not_found", f"No calling number {number_id} on this service.")
        db.delete(row)
        db.commit()
    runtime.reload_config()
    return Response(status_code=204)


# ---- users ---------------------------------------------------------------------------------------
@router.get("/users")
def list_users(_: Admin, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        return [user_json(u) for u in db.scalars(select(m.User).order_by(m.User.id))]


@router.post("/users", status_code=201)
async def create_user(body: UserBody, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    password_hash = await asyncio.to_thread(hash_password, body.password)
    with runtime.db() as db:
        row = m.User(
            username=body.username,
            name=body.name,
            role=body.role,
            password_hash=password_hash,
            created_at=time.time(),
        )
        db.add(row)
        _commit_unique(db, f"The username {body.username}")
        result = user_json(row)
    runtime.reload_config()
    return result


def _user(db: Session, user_id: int) -> m.User:
    row = db.get(m.User, user_id)
    if row is None:
        raise ApiError(404, "not_found", f"No user {user_id}.")
    return row


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
        if body.name is not None:
            row.name = body.name
        if body.role is not None:
            row.role = body.role
        if password_hash is not None:
            row.password_hash = password_hash
        db.commit()
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
        state = db.get(m.AgentStateRow, user_id)
        if state is not None and state.logged_in:
            raise ApiError(409, "agent_logged_in", "Log the agent out of CTI first.")
        db.delete(row)
        db.commit()
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
        return _settings_json(settings_row(db))


@router.put("/cti/settings")
async def put_settings(body: CtiSettingsBody, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        row = settings_row(db)
        values = body.model_dump()
        values["codecs"] = ",".join(dict.fromkeys(values["codecs"]))
        for name, value in values.items():
            setattr(row, name, value)
        db.commit()
        result = _settings_json(row)
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
        users = db.scalars(select(m.User).order_by(m.User.id)).all()
        ctis = {c.user_id: c for c in db.scalars(select(m.CtiAgent))}
        return [_cti_json(runtime, u, ctis.get(u.id)) for u in users]


@router.get("/cti/agents/{user_id}")
def cti_agent(user_id: Id, _: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        return _cti_json(runtime, _user(db, user_id), db.get(m.CtiAgent, user_id))


@router.put("/cti/agents/{user_id}")
async def assign_cti(
    user_id: Id, body: CtiAgentBody, _: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.db() as db:
        user = _user(db, user_id)
        clash = db.scalar(
            select(m.CtiAgent).where(
                m.CtiAgent.user_id != user_id,
                (m.CtiAgent.cti_id == body.cti_id) | (m.CtiAgent.cti_number == body.cti_number),
            )
        )
        if clash is not None:
            raise ApiError(409, "already_exists", "This CTI ID or CTI number belongs to another.")
        cti = db.get(m.CtiAgent, user_id)
        if cti is None:
            if body.phone_password is None:
                raise ApiError(422, "invalid_input", "A new CTI agent needs a phone_password.")
            cti = m.CtiAgent(user_id=user_id, cti_id=body.cti_id, cti_number=body.cti_number)
            db.add(cti)
        cti.cti_id = body.cti_id
        cti.cti_number = body.cti_number
        if body.phone_password is not None:
            cti.phone_password = body.phone_password
        if body.auto_answer is not None:
            cti.auto_answer = body.auto_answer
        _commit_unique(db, "This CTI ID or CTI number")
    runtime.reload_config()
    with runtime.db() as db:
        return _cti_json(runtime, user, db.get(m.CtiAgent, user_id))


@router.delete("/cti/agents/{user_id}", status_code=204)
async def unassign_cti(user_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        _user(db, user_id)
        state = db.get(m.AgentStateRow, user_id)
        if state is not None and state.logged_in:
            raise ApiError(409, "agent_logged_in", "Log the agent out of CTI first.")
        cti = db.get(m.CtiAgent, user_id)
        if cti is not None:
            db.delete(cti)
            db.commit()
    runtime.reload_config()
    return Response(status_code=204)
