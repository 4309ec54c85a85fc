"""The FastAPI application: routers per area, one error format, the single-page app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ringdesk.runtime import Runtime
from ringdesk.store import sessions
from ringdesk.store.security import verify_no_user
from ringdesk.web import errors
from ringdesk.web.auth import SESSION_ENDED, principal_for_digest
from ringdesk.web.edge import DOCS_PATH, AuthBeforeBody, SecurityHeaders, docs_csp
from ringdesk.web.limits import BodyLimit
from ringdesk.web.principals import SessionCache
from ringdesk.web.routers import (
    admin,
    auth,
    board,
    calls,
    cti,
    favorites,
    phone,
    profile,
    tickets,
    ws,
)
from ringdesk.web.second_factor import PendingLogins
from ringdesk.web.sip_tickets import SipTickets
from ringdesk.web.throttle import LoginThrottle

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
SPA_PATHS = (
    "/",
    "/tickets",
    "/tickets/{ticket_id}",
    "/admin",
    "/admin/{rest:path}",
    "/board",
    "/account",
)


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """The app around a runtime; with manage_runtime it starts and stops it with the server."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        # The first unknown-user login would otherwise also pay for making the dummy hash.
        await asyncio.to_thread(verify_no_user, "")
        sweeper = asyncio.create_task(_sweep_sessions(app), name="session-sweep")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(
        title="Ringdesk", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.runtime = runtime
    app.state.logins = SessionCache()  # token digest -> user, in front of the sessions table
    settings = runtime.settings
    app.state.throttle = LoginThrottle(
        window=settings.login_window_seconds,
        per_account=settings.login_account_failures,
        per_address=settings.login_address_failures,
    )
    app.state.pending_logins = PendingLogins()  # password right, TOTP code still due
    app.state.sip_tickets = SipTickets()  # the browser phone's single-use socket tickets
    docs_page = get_swagger_ui_html(openapi_url="/openapi.json", title="Ringdesk - Swagger UI")
    # Added last = runs first: the headers wrap every answer, the size and auth checks included.
    app.add_middleware(AuthBeforeBody)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, docs=docs_csp(bytes(docs_page.body).decode()))
    errors.install(app)

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return docs_page

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        health = runtime.health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    for module in (auth, profile, cti, phone, calls, favorites, tickets, *admin.MODULES, board, ws):
        app.include_router(module.router)

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def spa() -> FileResponse:
        index = STATIC / "index.html"
        if not index.is_file():
            raise errors.ApiError(404, "not_found", "The web pages are not installed.")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    for path in SPA_PATHS:
        app.add_api_route(path, spa, methods=["GET"], include_in_schema=False)
    return app


async def _sweep_sessions(app: FastAPI) -> None:
    """Close the feeds of sessions that expired while only their socket was open.

    A REST call with an expired token is refused when it comes; an open socket sends no token
    again, so its session is looked at here. Expired rows are also deleted now and then.
    """
    runtime: Runtime = app.state.runtime
    settings = runtime.settings
    interval = max(0.5, min(30.0, settings.session_idle_seconds / 4))
    last_purge = 0.0
    while True:
        await asyncio.sleep(interval)
        try:
            for digest in runtime.feeds.sessions():
                if principal_for_digest(runtime, app.state.logins, digest, touch=False) is None:
                    runtime.feeds.close_session(digest, SESSION_ENDED, "session_ended")
            now = time.time()
            if now - last_purge > 600:
                last_purge = now
                with runtime.db() as db:
                    sessions.delete_expired(
                        db,
                        idle_before=now - settings.session_idle_seconds,
                        created_before=now - settings.session_absolute_seconds,
                    )
        except Exception:
            log.exception("session sweep")
