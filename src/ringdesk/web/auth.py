"""Bearer-token authentication and role checks, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ringdesk.runtime import Runtime
from ringdesk.store import sessions
from ringdesk.store.security import token_digest
from ringdesk.web.errors import ApiError
from ringdesk.web.principals import Principal, SessionCache


async def get_runtime(request: Request) -> Runtime:
    # async: a plain def dependency would cost a thread-pool hop on every request
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


__all__ = ["Principal", "SessionCache"]


def principal_for_token(runtime: Runtime, cache: SessionCache, token: str) -> Principal | None:
    digest = token_digest(token)
    principal = cache.get(digest)
    if principal is not None:
        return principal
    with runtime.db() as db:
        row = sessions.user(db, digest=digest)
        if row is None:
            return None
        principal = Principal(row.id, row.username, row.name, row.role)
    cache.put(digest, principal)
    return principal


def logins(request: Request) -> SessionCache:
    cache: SessionCache = request.app.state.logins
    return cache


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def current_user(request: Request) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "not_authenticated", "Log in first: this needs a bearer token.")
    principal = principal_for_token(request.app.state.runtime, request.app.state.logins, token)
    if principal is None:
        raise ApiError(401, "not_authenticated", "Your session has ended; log in again.")
    return principal


async def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "Only an administrator can do this.")
    return user


User = Annotated[Principal, Depends(current_user)]
Admin = Annotated[Principal, Depends(admin_user)]


def open_session(runtime: Runtime, user_id: int) -> str:
    with runtime.db() as db:
        return sessions.create(db, user_id=user_id)
