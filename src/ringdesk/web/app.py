"""The FastAPI application: routers per area, one error format, the single-page app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ringdesk.runtime import Runtime
from ringdesk.web import errors
from ringdesk.web.limits import BodyLimit
from ringdesk.web.principals import SessionCache
from ringdesk.web.routers import admin, auth, board, calls, cti, favorites, tickets, ws

STATIC = Path(__file__).parent / "static"
SPA_PATHS = ("/", "/tickets", "/tickets/{ticket_id}", "/admin", "/admin/{rest:path}", "/board")


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """The app around a runtime; with manage_runtime it starts and stops it with the server."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(title="Ringdesk", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.logins = SessionCache()  # token digest -> user, in front of the sessions table
    app.add_middleware(BodyLimit)
    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        health = runtime.health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    for module in (auth, cti, calls, favorites, tickets, *admin.MODULES, board, ws):
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
