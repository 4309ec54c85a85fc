"""GET /api/ws?since=: the user's numbered feed, replayed from `since` on reconnect.

The token comes in the first message, {"type": "auth", "token": "..."}, never in the URL:
URLs end up in access logs, proxy logs and browser history.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ringdesk.live.feeds import Subscriber
from ringdesk.runtime import Runtime
from ringdesk.store.security import token_digest
from ringdesk.web.auth import principal_for_token
from ringdesk.web.principals import Principal

router = APIRouter()
log = logging.getLogger(__name__)
POLICY_VIOLATION = 1008
AUTH_TIMEOUT = 5.0  # seconds an opened socket may wait before sending its token
MAX_SINCE = 2**63 - 1


@router.websocket("/api/ws")
async def feed(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    since_raw = websocket.query_params.get("since")
    await websocket.accept()
    if "token" in websocket.query_params:
        # An old client: refuse, so the token does not keep landing in logs.
        await _refuse(websocket, "send the token in the first message, not in the URL")
        return
    since: int | None = None
    if since_raw not in (None, ""):
        try:
            since = int(since_raw)
        except ValueError:
            since = -1
        if not 0 <= since <= MAX_SINCE:
            await _refuse(websocket, "invalid since")
            return
    token = await _auth_token(websocket)
    principal = principal_for_token(runtime, websocket.app.state.logins, token) if token else None
    if principal is None:
        await _refuse(websocket, "not_authenticated")
        return
    if principal.needs_totp:  # an admin who must set up two-step sign-in first gets no board
        await _refuse(websocket, "totp_setup_required")
        return
    feeds = runtime.feeds
    sub, replay, resync = feeds.subscribe(
        principal.id,
        since,
        session=token_digest(token),
        admin=principal.is_admin,
        supervisor=principal.is_supervisor,
    )
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
        pass  # the sender closed the socket (slow client, ended session) while we were receiving
    finally:
        feeds.unsubscribe(principal.id, sub)
        sender.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await sender


async def _refuse(websocket: WebSocket, reason: str) -> None:
    with suppress(RuntimeError, WebSocketDisconnect):  # the client may be gone already
        await websocket.close(code=POLICY_VIOLATION, reason=reason)


async def _auth_token(websocket: WebSocket) -> str:
    """The token of the first message, or "" if it is late, malformed or not an auth message."""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT)
        message = json.loads(text)
    except (TimeoutError, ValueError, WebSocketDisconnect, RuntimeError, KeyError):
        return ""
    if not isinstance(message, dict) or message.get("type") != "auth":
        return ""
    token = message.get("token")
    return token if isinstance(token, str) and 0 < len(token) <= 200 else ""


async def _send(
    websocket: WebSocket,
    sub: Subscriber,
    replay: list[str],
    resync: bool,
    principal: Principal,
    runtime: Runtime,
) -> None:
    # From here on nothing for this user is missed: a client can act once it has this.
    await websocket.send_text('{"type":"ready"}')
    if resync:
        await websocket.send_text('{"type":"resync"}')
    for old in replay:
        await websocket.send_text(old)
    # No board on connect: the page starts from GET /api/board, and a board for every admin
    # feed on each (re)connection would flood everybody when many supervisors reconnect.
    while True:
        message = await sub.queue.get()
        if message is None:
            code, reason = sub.close or (1013, "too slow; reconnect with since")
            await websocket.close(code=code, reason=reason)
            return
        await websocket.send_text(message)
