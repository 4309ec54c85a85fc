"""Bearer-token authentication, session lifetimes and role checks, as FastAPI dependencies."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request

from ringdesk.runtime import Runtime
from ringdesk.store import sessions, totp
from ringdesk.store.security import token_digest
from ringdesk.web.errors import ApiError
from ringdesk.web.principals import Login, Principal, SessionCache

# A session's last use reaches the table at most this often: the idle lifetime is hours, and a
# write per request would make every status click a database write.
TOUCH_EVERY = 60.0
PRINCIPAL_KEY = "ringdesk.principal"  # where the body guard leaves the principal it resolved
SESSION_ENDED = 1008  # WebSocket close code: policy violation, the client must log in again


async def get_runtime(request: Request) -> Runtime:
    # async: a plain def dependency would cost a thread-pool hop on every request
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


__all__ = ["Principal", "SessionCache"]


def _expired(runtime: Runtime, login: Login, now: float) -> bool:
    settings = runtime.settings
    return (
        now - login.last_seen_at > settings.session_idle_seconds
        or now - login.created_at > settings.session_absolute_seconds
    )


def principal_for_token(
    runtime: Runtime, cache: SessionCache, token: str, *, touch: bool = True
) -> Principal | None:
    """The user of a live session, or None; an expired session is ended (and its feeds closed).

    `touch` counts this as use of the session; the feed's periodic check passes False so an
    open tab alone does not keep a session alive past its idle lifetime.
    """
    digest = token_digest(token)
    return principal_for_digest(runtime, cache, digest, touch=touch)


def principal_for_digest(
    runtime: Runtime, cache: SessionCache, digest: str, *, touch: bool = True
) -> Principal | None:
    now = time.time()
    login = cache.get(digest)
    if login is None:
        with runtime.db() as db:
            found = sessions.user(db, digest=digest)
            if found is None:
                return None
            row, session = found
            needs_totp = (
                runtime.settings.admin_totp_required
                and row.role == "admin"
                and not totp.is_enabled(db, user_id=row.id)
            )
            login = Login(
                Principal(row.id, row.username, row.name, row.role, needs_totp),
                session.created_at,
                session.last_seen_at,
                session.last_seen_at,
            )
        cache.put(digest, login)
    if _expired(runtime, login, now):
        cache.drop(digest)
        with runtime.db() as db:
            sessions.delete(db, digest=digest)
        runtime.feeds.close_session(digest, SESSION_ENDED, "session_expired")
        return None
    if touch:
        login.last_seen_at = now
        if now - login.written_at >= TOUCH_EVERY:
            login.written_at = now
            with runtime.db() as db:
                sessions.touch(db, digest=digest, at=now)
    return login.principal


def end_sessions(
    runtime: Runtime, cache: SessionCache, user_id: int, *, keep: str | None = None
) -> None:
    """End the user's sessions (but the one of digest `keep`) and close their feeds at once."""
    with runtime.db() as db:
        digests = sessions.delete_user(db, user_id=user_id, keep=keep)
    cache.drop_user(user_id)
    if keep is None:
        runtime.feeds.close_user(user_id, SESSION_ENDED, "session_ended")
    else:
        for digest in digests:
            runtime.feeds.close_session(digest, SESSION_ENDED, "session_ended")


def end_session(runtime: Runtime, cache: SessionCache, digest: str) -> None:
    cache.drop(digest)
    with runtime.db() as db:
        sessions.delete(db, digest=digest)
    runtime.feeds.close_session(digest, SESSION_ENDED, "logged_out")


def logins(request: Request) -> SessionCache:
    cache: SessionCache = request.app.state.logins
    return cache


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# What an admin who must still set up two-step sign-in may do (--admin-totp required).
TOTP_SETUP_PATHS = frozenset({"/api/me", "/api/auth/logout"})
TOTP_SETUP_PREFIX = "/api/me/totp"


async def current_user(request: Request) -> Principal:
    resolved = request.scope.get(PRINCIPAL_KEY)
    if isinstance(resolved, Principal):
        principal: Principal | None = resolved
    else:
        token = bearer_token(request)
        if token is None:
            raise ApiError(401, "not_authenticated", "Log in first: this needs a bearer token.")
        principal = principal_for_token(request.app.state.runtime, request.app.state.logins, token)
    if principal is None:
        raise ApiError(401, "not_authenticated", "Your session has ended; log in again.")
    path = request.url.path
    if principal.needs_totp and not (
        path in TOTP_SETUP_PATHS or path.startswith(TOTP_SETUP_PREFIX)
    ):
        raise ApiError(
            403,
            "totp_setup_required",
            "Admins need two-step sign-in on this server: set it up on your account page first.",
        )
    return principal


async def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "Only an administrator can do this.")
    return user


async def lead_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    if not user.leads:
        raise ApiError(403, "forbidden", "Only a supervisor or an administrator can do this.")
    return user


User = Annotated[Principal, Depends(current_user)]
Admin = Annotated[Principal, Depends(admin_user)]
Lead = Annotated[Principal, Depends(lead_user)]


def open_session(runtime: Runtime, user_id: int) -> str:
    with runtime.db() as db:
        return sessions.create(db, user_id=user_id)
