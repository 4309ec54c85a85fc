"""What every HTTP answer carries, and the token check that comes before any body is read."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ringdesk.web.auth import PRINCIPAL_KEY, principal_for_token

# No inline script or style anywhere in the pages; blob: for recordings and sounds, which are
# fetched with the token and played from memory (an <audio> cannot send a header).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; form-action 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
COMMON_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
# Sent only over HTTPS (RFC 6797 7.2). A browser ignores it on a connection with certificate
# errors (RFC 6797 8.1), so the self-signed demo certificate never locks anyone out.
HSTS = (b"strict-transport-security", b"max-age=31536000")
DOCS_PATH = "/docs"
# Requests with a body that need no session: the login and its second step.
PUBLIC_WRITES = frozenset({"/api/auth/login", "/api/auth/login/second-factor"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def docs_csp(page: str) -> str:
    """The Swagger page's CSP: its CDN and its one inline script, by hash rather than inline."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in re.findall(r"<script>(.*?)</script>", page, re.S)
    )
    cdn = "https://cdn.jsdelivr.net"
    return (
        f"default-src 'self'; script-src 'self' {cdn} {hashes}; style-src 'self' {cdn}; "
        "img-src 'self' https://fastapi.tiangolo.com data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, docs: str) -> None:
        self.app = app
        self.docs = docs.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = self.docs if path == DOCS_PATH else CSP.encode()
        api = path.startswith("/api/")
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                extra = [(b"content-security-policy", csp), *COMMON_HEADERS]
                if https:
                    extra.append(HSTS)
                if api:
                    # Answers carry tickets and customers' numbers: no copy in any cache.
                    extra.append((b"cache-control", b"no-store"))
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class AuthBeforeBody:
    """Refuse a write without a live session before its body is read.

    FastAPI reads and parses the body before it runs the dependencies, so without this an
    anonymous client could make the server take in a 20 MB upload only to answer 401.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope.get("method") not in BODY_METHODS
            or not path.startswith("/api/")
            or path in PUBLIC_WRITES
        ):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        app = scope["app"]
        principal = (
            principal_for_token(app.state.runtime, app.state.logins, token) if token else None
        )
        if principal is None:
            message = (
                "Log in first: this needs a bearer token."
                if token is None
                else "Your session has ended; log in again."
            )
            await _unauthenticated(send, message)
            return
        scope[PRINCIPAL_KEY] = principal  # current_user takes it from here: one lookup
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            raw: bytes = value
            scheme, _, token = raw.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


async def _unauthenticated(send: Send, message: str) -> None:
    body = json.dumps({"code": "not_authenticated", "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
                # The body is left unread: the connection cannot be reused for another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
