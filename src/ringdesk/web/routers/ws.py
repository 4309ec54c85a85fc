"""GET /api/ws?token=&since=: the user's numbered feed, replayed from `since` on reconnect."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ringdesk.live.feeds import Subscriber
from ringdesk.runtime import Runtime
from ringdesk.web.auth import principal_for_token
from ringdesk.web.principals import Principal

router = APIRouter()
log = logging.getLogger(__name__)
POLICY_VIOLATION = 1008


@router.websocket("/api/ws")
async def feed(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    token = websocket.query_params.get("token", "")
    since_raw = websocket.query_params.get("since")
    principal = principal_for_token(runtime, websocket.app.state.logins, token) if token else None
    if principal is None:
        await websocket.close(code=POLICY_VIOLATION, reason="not_authenticated")
        return
    since: int | None = None
    if since_raw not in (None, ""):
        try:
            since = int(since_raw)
        except ValueError:
            await websocket.close(code=POLICY_VIOLATION, reason="invalid since")
            return
    await websocket.accept()
    feeds = runtime.feeds
    sub, replay, resync = feeds.subscribe(principal.id, since)
    if principal.is_admin:
        feeds.admins.add(principal.id)
    sender = asyncio.create_task(_send(websocket, sub, replay, resync, principal, runtime))
    try:
        while True:
            text = await websocket.receive_text()
            try:
                message = json.loads(text)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("type") == "ping":
                await sub.queue.put('{"type":"pong"}')
    except WebSocketDisconnect:
        pass
    except RuntimeError:
        pass  # the sender closed the socket (slow client) while we were receiving
    finally:
        feeds.unsubscribe(principal.id, sub)
        sender.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await sender


async def _send(
    websocket: WebSocket,
    sub: Subscriber,
    replay: list[str],
    resync: bool,
    principal: Principal,
    runtime: Runtime,
) -> None:
    if resync:
        await websocket.send_text('{"type":"resync"}')
    for old in replay:
        await websocket.send_text(old)
    # No board on connect: the page starts from GET /api/board, and a board for every admin
    # feed on each (re)connection would flood everybody when many supervisors reconnect.
    while True:
        message = await sub.queue.get()
        if message is None:
            await websocket.close(code=1013, reason="too slow; reconnect with since")
            return
        await websocket.send_text(message)
