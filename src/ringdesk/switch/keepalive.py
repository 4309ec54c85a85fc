"""Keep-alives for phones registered over UDP from behind a NAT (their REGISTER came from
another address or port than their Contact): an OPTIONS to each such binding's source every
`interval` seconds.

A phone behind a NAT router registered from the router's public address and port; the router
forgets that mapping after its UDP timeout (often 30 s to a few minutes) when nothing crosses it,
and then an INVITE toward the phone is dropped at the router. The OPTIONS we send (and the 200 it
answers) crosses the mapping and keeps it open, as Asterisk's `qualify` does. An OPTIONS rather
than a bare CRLF (RFC 5626 4.4.1 is for connections; over UDP it uses STUN, which phones do not
answer from us): its answer also tells us the phone is still there. A phone that leaves
`misses` OPTIONS in a row unanswered (each one times out after Timer F, 32 s, or at once on an
ICMP error) loses that binding, which reports it unreachable (PhoneRegistered) like an expiry.

Over TCP and TLS nothing is sent: the phone's own connection carries our requests back to it
(the transport reuses it) and the phone keeps it open itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ringdesk.sip.message import Headers, Request, Response, new_call_id, new_tag
from ringdesk.sip.registrar import Binding, Registrar
from ringdesk.sip.uri import NameAddr, SipUri

from .stack import SipStack
from .transport import Address

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 25.0  # seconds; below the common 30 s UDP timeout of home routers
DEFAULT_MISSES = 3  # OPTIONS left unanswered in a row before the binding goes


def behind_nat(binding: Binding) -> bool:
    """The phone registered from another address or port than its Contact names: a NAT (or a
    proxy) is between us, whose mapping must be kept open. A phone whose Contact is where it
    registered from needs no keep-alive, and gets none (OPTIONS it did not expect may upset a
    minimal UA)."""
    uri = binding.uri
    return (uri.host.strip("[]"), uri.port or 5060) != (binding.source[0], binding.source[1])


class KeepAlive:
    def __init__(
        self,
        stack: SipStack,
        registrar: Registrar,
        domain: Callable[[], str],
        on_dropped: Callable[[], None],
        interval: float | None = DEFAULT_INTERVAL,
        misses: int = DEFAULT_MISSES,
    ) -> None:
        self.stack = stack
        self.registrar = registrar
        self.domain = domain
        self.on_dropped = on_dropped  # a binding went: save the bindings file
        self.interval = interval  # None: no keep-alives
        self.misses = misses
        self._missed: dict[tuple[str, Address], int] = {}  # (CTI ID, source) -> in a row
        self._pending: set[tuple[str, Address]] = set()  # an OPTIONS is under way
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.answered = 0

    def start(self) -> None:
        if self.interval is not None and self.interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(self.interval))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.tick()
            except Exception:
                log.exception("keep-alive round failed")

    def tick(self) -> None:
        """One round: an OPTIONS to every UDP binding's source (one per source)."""
        now = self.stack.now()
        targets: dict[tuple[str, Address], Binding] = {}
        for binding in self.registrar.all_bindings():
            if binding.transport == "udp" and binding.expires_at > now and behind_nat(binding):
                targets.setdefault((binding.cti_id, binding.source), binding)
        for key in [k for k in self._missed if k not in targets]:
            del self._missed[key]
        for key, binding in targets.items():
            if key not in self._pending:
                self._send(key, binding)

    def _send(self, key: tuple[str, Address], binding: Binding) -> None:
        domain = self.domain()
        h = Headers()
        h.add("via", self.stack.via("udp", peer=binding.source[0]))
        h.add("max-forwards", "70")
        h.add("from", str(NameAddr(SipUri(host=domain, user="ringdesk")).with_tag(new_tag())))
        h.add("to", str(NameAddr(SipUri(host=domain, user=binding.cti_id))))
        h.add("call-id", new_call_id(self.stack.host))
        h.add("cseq", "1 OPTIONS")
        h.add("content-length", "0")
        request = Request(headers=h, body=b"", method="OPTIONS", uri=binding.target)
        self._pending.add(key)
        self.sent += 1

        def answered(resp: Response) -> None:
            if resp.status < 200:
                return
            self._pending.discard(key)
            self._missed.pop(key, None)  # any final answer: the phone is there
            self.answered += 1

        def timed_out() -> None:
            self._pending.discard(key)
            missed = self._missed.get(key, 0) + 1
            self._missed[key] = missed
            if missed < self.misses:
                return
            del self._missed[key]
            cti_id, source = key
            log.info(
                "phone %s at %s:%s: %d keep-alives unanswered, binding dropped",
                cti_id,
                source[0],
                source[1],
                missed,
            )
            if self.registrar.drop_source(cti_id, source):
                self.on_dropped()

        self.stack.send_request(request, binding.source, "udp", answered, timed_out)
