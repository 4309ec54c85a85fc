"""REGISTER: digest-authenticate the phone against its agent's phone password, then let the
registrar update the bindings. Bindings expire on a periodic sweep."""

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

from .stack import SipStack
from .transport import Address

log = logging.getLogger(__name__)


class RegistrationService:
    def __init__(
        self,
        stack: SipStack,
        directory: SwitchDirectory,
        registrar: Registrar,
        secret: bytes,
        on_saved_change: Callable[[], None],
    ) -> None:
        self.stack = stack
        self.on_saved_change = on_saved_change
        self.directory = directory
        self.registrar = registrar
        self._secret = secret
        self._sweeper: asyncio.Task[None] | None = None

    def _digest(self) -> DigestServer:
        # The realm follows the SIP domain setting, which the admin may change at any time.
        return DigestServer(self._secret, self.directory.sip_domain())

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
        digest = self._digest()
        wall = time.time()  # nonces carry wall-clock time so they survive a restart's clock
        header = req.headers.get("authorization")
        creds = parse_credentials(header) if header else None
        if creds is None:
            self._challenge(req, txn, digest, wall, stale=False)
            return
        if creds.username != aor:
            self.stack.respond(txn, make_response(req, 403, "Wrong user name", to_tag=tag))
            return
        password = self.directory.phone_password(aor)
        verdict = digest.verify(creds, req.method, password, wall)
        if verdict is Verdict.STALE:
            self._challenge(req, txn, digest, wall, stale=True)
            return
        if verdict is Verdict.BAD:
            if password is not None and digest.nonce_age(creds.nonce, wall) is None:
                # Not our nonce (we restarted, or another realm): a fresh challenge, not a no.
                self._challenge(req, txn, digest, wall, stale=False)
            else:
                log.info("REGISTER for %s from %s:%s refused: bad credentials", aor, *src)
                self.stack.respond(txn, make_response(req, 403, "Forbidden", to_tag=tag))
            return
        result = self.registrar.register(aor, req, src, tp, self.stack.now())
        headers = result.headers
        self.stack.respond(
            txn, make_response(req, result.status, result.reason, to_tag=tag, headers=headers)
        )
        if result.status == 200:
            self.on_saved_change()

    def _challenge(
        self, req: Request, txn: ServerTransaction, digest: DigestServer, now: float, stale: bool
    ) -> None:
        legacy = legacy_md5_only(req.headers.get("user-agent"))
        algorithms = ("MD5",) if legacy else ("MD5", "SHA-256")
        values = digest.challenge(now, stale=stale, algorithms=algorithms)
        headers = [("WWW-Authenticate", v) for v in values]
        self.stack.respond(txn, make_response(req, 401, to_tag=new_tag(), headers=headers))
