"""The browser phone's signalling: the agent's phone choice, the SIP WebSocket and its ticket.

GET/PUT /api/cti/phone: "sip" (a SIP phone) or "browser", as the agent chose and the admin
allows (CTI agents page). POST /api/cti/sip-ticket: a single-use ticket (web/sip_tickets.py) for
GET /api/sip, SIP over WebSocket (RFC 7118, subprotocol `sip`) on the web server's own port:
wss when the web is served over HTTPS. Each frame is one SIP message for the switch, as
transport "ws"/"wss" (switch/websocket.py); a REGISTER over it is only for the agent the
ticket was issued to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect

from ringdesk.runtime import Runtime
from ringdesk.store import cti_agents as ctis
from ringdesk.store.security import token_digest
from ringdesk.switch.gate import unmapped
from ringdesk.switch.websocket import MAX_FRAME, SipWebSockets, WsPeer
from ringdesk.web.auth import RuntimeDep, User, bearer_token, principal_for_digest
from ringdesk.web.errors import ApiError
from ringdesk.web.responses import PhoneChoice, SipTicket
from ringdesk.web.schemas import PhoneChoiceBody
from ringdesk.web.sip_tickets import TICKET_SECONDS, SipGrant, SipTickets

router = APIRouter(tags=["cti"])
log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
TOO_BIG = 1009
SESSION_CHECK = 5.0  # seconds between looks at the web session behind an open socket
SEND_QUEUE = 256  # frames waiting for a slow browser before its socket is closed


def tickets(app_state: Any) -> SipTickets:
    """The app's ticket store (app.py makes it)."""
    found: SipTickets = app_state.sip_tickets
    return found


def _choice(runtime: Runtime, user_id: int) -> PhoneChoice:
    with runtime.db() as db:
        cti = ctis.get(db, user_id=user_id)
        allowed = bool(cti and cti.browser_phone_allowed)
        chosen = cti.phone_kind if cti else "sip"
        return {
            "phone": "browser" if allowed and chosen == "browser" else "sip",
            "browser_allowed": allowed,
            "cti_id": cti.cti_id if cti else None,
            "sip_domain": runtime.directory.sip_domain(),
        }


@router.get("/api/cti/phone")
async def get_phone(user: User, runtime: RuntimeDep) -> PhoneChoice:
    return _choice(runtime, user.id)


@router.put("/api/cti/phone")
async def set_phone(body: PhoneChoiceBody, user: User, runtime: RuntimeDep) -> PhoneChoice:
    with runtime.db() as db:
        cti = ctis.get(db, user_id=user.id)
        if cti is None:
            raise ApiError(409, "no_cti_assignment", "You have no CTI ID: ask an administrator.")
        if body.phone == "browser" and not cti.browser_phone_allowed:
            raise ApiError(
                403, "browser_phone_not_allowed", "The browser phone is not allowed for you."
            )
        ctis.set_phone(db, user_id=user.id, phone=body.phone)
    # The engine rings a desk phone with the offer only while the agent uses it (ring_on_offer),
    # and the browser phone with the offer to set its media up early (prewarm).
    runtime.reload_config()
    return _choice(runtime, user.id)


@router.post("/api/cti/sip-ticket")
async def sip_ticket(user: User, runtime: RuntimeDep, request: Request) -> SipTicket:
    choice = _choice(runtime, user.id)
    cti_id = choice["cti_id"]
    if cti_id is None:
        raise ApiError(409, "no_cti_assignment", "You have no CTI ID: ask an administrator.")
    if choice["phone"] != "browser":
        raise ApiError(409, "not_browser_phone", "Your phone is not the browser.")
    token = bearer_token(request) or ""
    ticket = tickets(request.app.state).issue(
        user_id=user.id, cti_id=cti_id, session=token_digest(token), now=time.monotonic()
    )
    return {
        "ticket": ticket,
        "path": "/api/sip",
        "expires_in": int(TICKET_SECONDS),
        "cti_id": cti_id,
        "sip_domain": choice["sip_domain"],
    }


def _same_origin(websocket: WebSocket) -> bool:
    """A browser always sends Origin: it must be this server (no other site's page may use a
    ticket it stole). A client without one (not a browser) has no ambient credential to abuse."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == websocket.headers.get("host", "").lower()


@router.websocket("/api/sip")
async def sip_socket(websocket: WebSocket) -> None:
    app = websocket.app
    runtime: Runtime = app.state.runtime
    grant = tickets(app.state).take(websocket.query_params.get("ticket", ""), time.monotonic())
    why = _refusal(websocket, runtime, grant)
    if why is not None or grant is None:
        log.info("SIP WebSocket refused: %s", why)
        await websocket.close(code=POLICY_VIOLATION, reason=why or "")  # before accept: 403
        return
    client = websocket.client
    addr = unmapped((client.host, client.port) if client else ("0.0.0.0", 0))
    hub = runtime.switch.websockets
    busy = hub.admit(addr)
    if busy is not None:
        log.info("SIP WebSocket from %s refused: %s", addr[0], busy)
        await websocket.close(code=POLICY_VIOLATION, reason=busy)
        return
    await websocket.accept(subprotocol="sip")
    stack = runtime.switch.stack
    stack.ws_port = runtime.http_port
    transport = "wss" if websocket.url.scheme == "wss" else "ws"
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(SEND_QUEUE)
    closing: list[tuple[int, str]] = []

    def write(data: bytes) -> bool:
        try:
            queue.put_nowait(data)
        except asyncio.QueueFull:
            close(1013, "too slow")
            return False
        return True

    def close(code: int, reason: str) -> None:
        if not closing:
            closing.append((code, reason))
            with suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    peer = WsPeer(addr, grant.cti_id, transport, write, close)
    # One socket per web session: a reload's new socket replaces the old one at once.
    open_by_session: dict[str, WsPeer] = getattr(app.state, "sip_sockets", None) or {}
    app.state.sip_sockets = open_by_session
    older = open_by_session.get(grant.session)
    if older is not None:
        hub.detach(older)
        older.close(1000, "replaced by a newer connection")
    open_by_session[grant.session] = peer
    hub.attach(peer)
    sender = asyncio.create_task(_send(websocket, queue, closing))
    try:
        await _receive(websocket, runtime, hub, peer, grant, closing, close)
    finally:
        if open_by_session.get(grant.session) is peer:
            del open_by_session[grant.session]
        hub.detach(peer)
        close(1000, "")
        with suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(sender, 2)
        sender.cancel()


def _refusal(websocket: WebSocket, runtime: Runtime, grant: SipGrant | None) -> str | None:
    if "sip" not in websocket.scope.get("subprotocols", []):
        return "the sip subprotocol is required"
    if grant is None:
        return "no valid ticket (ask POST /api/cti/sip-ticket for one)"
    if not _same_origin(websocket):
        return "another site's page"
    app = websocket.app
    principal = principal_for_digest(runtime, app.state.logins, grant.session, touch=False)
    if principal is None or principal.id != grant.user_id:
        return "session_ended"
    return None


async def _receive(
    websocket: WebSocket,
    runtime: Runtime,
    hub: SipWebSockets,
    peer: WsPeer,
    grant: SipGrant,
    closing: list[tuple[int, str]],
    close: Callable[[int, str], None],
) -> None:
    app = websocket.app
    last_check = time.monotonic()
    while not closing:
        now = hub.now()
        wait = min(SESSION_CHECK, max(0.0, hub.idle_deadline(peer) - now))
        try:
            message = await asyncio.wait_for(websocket.receive(), max(0.05, wait))
        except TimeoutError:
            if hub.now() >= hub.idle_deadline(peer):
                close(1000, "idle")
                return
            message = None
        except (WebSocketDisconnect, RuntimeError):
            return
        if time.monotonic() - last_check >= SESSION_CHECK:
            last_check = time.monotonic()
            principal = principal_for_digest(runtime, app.state.logins, grant.session, touch=False)
            if principal is None:
                close(POLICY_VIOLATION, "session_ended")
                return
        if message is None:
            continue
        if message["type"] == "websocket.disconnect":
            return
        data: bytes | None = message.get("bytes")
        if data is None:
            text = message.get("text")
            data = text.encode() if isinstance(text, str) else b""
        if len(data) > MAX_FRAME:
            log.info("SIP WebSocket from %s: a %d-byte frame refused", peer.addr[0], len(data))
            close(TOO_BIG, "message too big")
            return
        hub.frame(peer, data)


async def _send(
    websocket: WebSocket, queue: asyncio.Queue[bytes | None], closing: list[tuple[int, str]]
) -> None:
    try:
        while True:
            data = await queue.get()
            if data is None:
                code, reason = closing[0] if closing else (1000, "")
                await websocket.close(code=code, reason=reason)
                return
            await websocket.send_text(data.decode("utf-8", "replace"))
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
