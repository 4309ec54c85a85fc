"""Users: the accounts, their roles and passwords."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from ringdesk.live.shapes import User, user_json
from ringdesk.store import cti_agents as ctis
from ringdesk.store import totp, users
from ringdesk.store.security import hash_password, token_digest
from ringdesk.web.auth import Admin, RuntimeDep, bearer_token, end_sessions, logins
from ringdesk.web.errors import ApiError, unique
from ringdesk.web.responses import AdminUser
from ringdesk.web.routers.admin.common import PREFIX, Id, user_or_404
from ringdesk.web.schemas import UserBody, UserPatch

router = APIRouter(prefix=PREFIX, tags=["admin"])


@router.get("/users")
def list_users(_: Admin, runtime: RuntimeDep) -> list[AdminUser]:
    with runtime.db() as db:
        with_totp = totp.enabled_user_ids(db)
        return [{**user_json(u), "totp_enabled": u.id in with_totp} for u in users.list_(db)]


@router.post("/users", status_code=201)
async def create_user(body: UserBody, _: Admin, runtime: RuntimeDep) -> User:
    _not_the_username(body.password, body.username)
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


@router.patch("/users/{user_id}")
async def edit_user(
    user_id: Id, body: UserPatch, admin: Admin, runtime: RuntimeDep, request: Request
) -> User:
    password_hash = None
    with runtime.db() as db:
        username = user_or_404(db, user_id).username
    if body.password is not None:
        _not_the_username(body.password, username)
        password_hash = await asyncio.to_thread(hash_password, body.password)
    with runtime.db() as db:
        row = user_or_404(db, user_id)
        if body.role in ("agent", "supervisor") and user_id == admin.id:
            raise ApiError(409, "cannot_demote_self", "You cannot remove your own admin role.")
        role_changed = body.role is not None and body.role != row.role
        users.update(db, user=row, name=body.name, role=body.role, password_hash=password_hash)
        result = user_json(row)
    if password_hash is not None or role_changed:
        # Whoever knew the old password, or holds a session with the old rights, is out now;
        # an admin changing her own password keeps the session she is using.
        token = bearer_token(request) if user_id == admin.id else None
        keep = token_digest(token) if token else None
        end_sessions(runtime, logins(request), user_id, keep=keep)
    else:
        logins(request).drop_user(user_id)
    runtime.reload_config()
    return result


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(user_id: Id, admin: Admin, runtime: RuntimeDep, request: Request) -> Response:
    if user_id == admin.id:
        raise ApiError(409, "cannot_delete_self", "You cannot delete your own account.")
    with runtime.db() as db:
        row = user_or_404(db, user_id)
        if ctis.logged_in(db, user_id=user_id):
            raise ApiError(409, "agent_logged_in", "Log the agent out of CTI first.")
        users.delete(db, user=row)
    end_sessions(runtime, logins(request), user_id)
    runtime.reload_config()
    return Response(status_code=204)


@router.delete(
    "/users/{user_id}/totp",
    status_code=204,
    responses={404: {"description": "No such user, or the user has no two-step sign-in"}},
)
def reset_totp(user_id: Id, admin: Admin, runtime: RuntimeDep, request: Request) -> Response:
    """Turn a user's two-step sign-in off (a lost phone). Their sessions end, their open feeds
    close; they log in with the password alone and can set it up again."""
    with runtime.db() as db:
        row = user_or_404(db, user_id)
        if not totp.delete(db, user_id=user_id):
            raise ApiError(404, "not_found", f"{row.name} has no two-step sign-in.")
    token = bearer_token(request) if user_id == admin.id else None
    end_sessions(runtime, logins(request), user_id, keep=token_digest(token) if token else None)
    return Response(status_code=204)


def _not_the_username(password: str, username: str) -> None:
    if username.casefold() in password.casefold():
        raise ApiError(
            422, "weak_password", "The password must not contain the username; choose another."
        )
