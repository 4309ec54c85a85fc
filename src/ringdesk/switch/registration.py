"""REGISTER: digest-authenticate the phone against its agent's phone password, then let the
registrar update the bindings. Bindings expire on a periodic sweep.

One answer whoever asks: an unknown CTI ID gets the same 401 challenge and then the same 403
as a wrong password, after the same hashing; a nonce we do not know gets a fresh challenge for
everyone. Every failure is reported to the gate, which bans a source that keeps failing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ringdesk.sip.auth import DigestServer, Verdict, legacy_md5_only, parse_credentials
from ringdesk.sip.message import Request, make_response, new_tag
from ringdesk.sip.registrar import Registrar
from ringdesk.sip.transaction import ServerTransaction
from ringdesk.switch.lookup import SwitchDirectory

from .gate import Gate
from .stack import SipStack
from .transport import WS_TRANSPORTS, Address

log = logging.getLogger(__name__)


class RegistrationService:
    def __init__(
        self,
        stack: SipStack,
        directory: SwitchDirectory,
        registrar: Registrar,
        secret: bytes,
        on_saved_change: Callable[[], None],
        gate: Gate | None = None,
    ) -> None:
        self.stack = stack
        self.gate = gate
        self.on_saved_change = on_saved_change
        self.directory = directory
        self.registrar = registrar
        # One server for the process: it remembers each used nonce's nc (replays).
        self._digest_server = DigestServer(secret, directory.sip_domain())
        self._sweeper: asyncio.Task[None] | None = None
        # Any phone registered (the switch ends a call it had before a restart, b2bua.py).
        self.on_registered: Callable[[str, Address, str], None] = lambda _cti, _src, _tp: None
        # A browser phone registered (or refreshed, or removed) its binding over its socket
        # (switch/reattach.py gives it back a call it lost with its previous socket).
        self.on_browser_registered: Callable[[str], None] = lambda _cti_id: None

    def _digest(self) -> DigestServer:
        # The realm follows the SIP domain setting, which the admin may change at any time
        # (the nonces' HMAC covers the realm, so older nonces then get a fresh challenge).
        digest = self._digest_server
        digest.realm = self.directory.sip_domain()
        return digest

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                if self.registrar.expire(self.stack.now()):
                    self.on_saved_change()
            except Exception:
                log.exception("registration sweep failed")

    def handle(self, req: Request, txn: ServerTransaction, src: Address, tp: str) -> None:
        aor = req.to_addr.uri.user
        tag = new_tag()
        if not aor:
            self.stack.respond(txn, make_response(req, 404, "No user in To", to_tag=tag))
            return
        if tp in WS_TRANSPORTS:
            self._over_websocket(req, txn, src, tp, aor, tag)
            return
        digest = self._digest()
        wall = time.time()  # nonces carry wall-clock time so they survive a restart's clock
        header = req.headers.get("authorization")
        creds = parse_credentials(header) if header else None
        if creds is None:
            self._challenge(req, txn, digest, wall, stale=False)
            return
        if creds.username != aor:
            self._refuse(req, txn, src, aor, "user name is not the To user", wall)
            return
        password = self.directory.phone_password(aor)
        verdict = digest.verify(creds, req.method, password, wall)
        if verdict is Verdict.UNKNOWN_NONCE:
            # Not our nonce (we restarted, the realm changed, or a forged one): a fresh
            # challenge, the same for every user name.
            self._challenge(req, txn, digest, wall, stale=False)
            return
        if verdict is Verdict.STALE:
            self._challenge(req, txn, digest, wall, stale=True)
            return
        if verdict is Verdict.REPLAY:
            # A captured Authorization sent again (or a phone that reuses its nc): no binding;
            # a fresh challenge lets an honest phone answer it, an eavesdropper cannot.
            log.info("REGISTER for %s from %s:%s refused: nonce count reused", aor, *src)
            self._report_failure(src, wall)
            self._challenge(req, txn, digest, wall, stale=False)
            return
        if verdict is Verdict.BAD:
            self._refuse(req, txn, src, aor, "bad credentials", wall)
            return
        result = self.registrar.register(aor, req, src, tp, self.stack.now())
        headers = result.headers
        self.stack.respond(
            txn, make_response(req, result.status, result.reason, to_tag=tag, headers=headers)
        )
        if result.status == 200:
            self.on_saved_change()
            self.on_registered(aor, src, tp)

    def _over_websocket(
        self, req: Request, txn: ServerTransaction, src: Address, tp: str, aor: str, tag: str
    ) -> None:
        """The browser phone: its socket was opened for one agent with a ticket from that
        agent's web session (web/routers/sip_ws.py), so the socket is the credential and no
        digest is asked (the page never learns the phone password). Any other CTI ID is 403."""
        peer = self.stack.transport.ws_peers.get(src)
        owner = getattr(peer, "cti_id", None)
        if owner is None or aor != owner:
            self._refuse(req, txn, src, aor, f"not the socket's agent ({owner})", time.time())
            return
        result = self.registrar.register(aor, req, src, tp, self.stack.now())
        self.stack.respond(
            txn,
            make_response(req, result.status, result.reason, to_tag=tag, headers=result.headers),
        )
        if result.status == 200:
            self.on_saved_change()
            self.on_browser_registered(aor)
            self.on_registered(aor, src, tp)

    def _report_failure(self, src: Address, now: float) -> None:
        if self.gate is not None:
            self.gate.auth_failed(src, now)

    def _refuse(
        self, req: Request, txn: ServerTransaction, src: Address, aor: str, why: str, now: float
    ) -> None:
        log.info("REGISTER for %s from %s:%s refused: %s", aor, src[0], src[1], why)
        self._report_failure(src, now)
        self.stack.respond(txn, make_response(req, 403, "Forbidden", to_tag=new_tag()))

    def _challenge(
        self, req: Request, txn: ServerTransaction, digest: DigestServer, now: float, stale: bool
    ) -> None:
        legacy = legacy_md5_only(req.headers.get("user-agent"))
        algorithms = ("MD5",) if legacy else ("MD5", "SHA-256")
        values = digest.challenge(now, stale=stale, algorithms=algorithms)
        headers = [("WWW-Authenticate", v) for v in values]
        self.stack.respond(txn, make_response(req, 401, to_tag=new_tag(), headers=headers))
