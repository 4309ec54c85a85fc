"""Outbound registration to a provider trunk (RFC 3261 10.2): REGISTER with digest on 401/407,
refreshed before it expires, retried with back-off after a failure. Pure: `now` is passed in and
requests come out; the switch sends them and hands the responses back."""

from __future__ import annotations

import enum
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ringdesk.sip.auth import authorization, pick_challenge
from ringdesk.sip.message import Headers, Request, Response, new_call_id, new_tag
from ringdesk.sip.uri import NameAddr, SipUri

from .lookup import TrunkSettings
from .resolver import TrunkResolver
from .stack import SipStack
from .transport import Address
from .trunk_targets import TrunkTargets, by_dns, default_port, transport_of

log = logging.getLogger(__name__)

BACKOFF_FIRST = 30.0  # seconds after the first failure; doubled each time up to BACKOFF_MAX
BACKOFF_MAX = 600.0
REFRESH_MARGIN = 0.1  # refresh when 10% of the granted time is left (at least 5 s before)


class RegState(enum.Enum):
    UNREGISTERED = "unregistered"
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"


@dataclass(slots=True)
class TrunkRegistration:
    trunk: TrunkSettings
    contact: str  # our Contact toward the trunk
    state: RegState = RegState.UNREGISTERED
    last_error: str | None = None
    expires_at: float | None = None
    next_at: float = 0.0  # when the next REGISTER is due
    failures: int = 0
    call_id: str = field(default_factory=lambda: new_call_id("ringdesk"))
    tag: str = field(default_factory=new_tag)
    cseq: int = 0
    _auth_tried: bool = False

    def ready(self, now: float) -> bool:
        """Whether calls may go to the trunk: registered and not expired."""
        return (
            self.state is RegState.REGISTERED
            and self.expires_at is not None
            and now < self.expires_at
        )

    def due(self, now: float) -> bool:
        return self.state is not RegState.REGISTERING and now >= self.next_at

    def request(self, now: float, via: str, auth: tuple[str, str] | None = None) -> Request:
        """The next REGISTER (with an Authorization or Proxy-Authorization header)."""
        t = self.trunk
        host = t.host or ""
        aor = NameAddr(SipUri(host=t.from_domain or host, user=t.username or "ringdesk"))
        self.cseq += 1
        self.state = RegState.REGISTERING
        h = Headers()
        h.add("via", via)
        h.add("max-forwards", "70")
        h.add("from", str(aor.with_tag(self.tag)))
        h.add("to", str(aor))
        h.add("call-id", self.call_id)
        h.add("cseq", f"{self.cseq} REGISTER")
        h.add("contact", self.contact)
        h.add("expires", str(t.register_expires))
        if auth is not None:
            h.add(*auth)
        else:
            self._auth_tried = False
        uri = SipUri(host=host, port=t.port or None)  # port 0: located by DNS, none in the URI
        return Request(headers=h, body=b"", method="REGISTER", uri=uri)

    def on_response(self, resp: Response, sent: Request, now: float, via: str) -> Request | None:
        """The trunk's answer; a REGISTER to send again at once (the digest answer) or None."""
        code = resp.status
        if code < 200:
            return None
        if 200 <= code < 300:
            granted = _granted(resp, self.trunk.register_expires)
            self.state, self.last_error, self.failures = RegState.REGISTERED, None, 0
            self.expires_at = now + granted
            self.next_at = now + max(granted * (1 - REFRESH_MARGIN), min(granted - 5, granted / 2))
            return None
        t = self.trunk
        if code in (401, 407) and not self._auth_tried and t.digest_user and t.password:
            name = "www-authenticate" if code == 401 else "proxy-authenticate"
            challenge = pick_challenge(resp.headers.get_all(name))
            if challenge is not None and (not t.realm or challenge.realm == t.realm):
                value = authorization(
                    challenge,
                    method="REGISTER",
                    uri=str(sent.uri),
                    username=t.digest_user,
                    password=t.password,
                    cnonce=secrets.token_hex(8),
                )
                header = "Authorization" if code == 401 else "Proxy-Authorization"
                retry = self.request(now, via, (header, value))
                self._auth_tried = True
                return retry
        self.fail(now, f"{code} {resp.reason}")
        return None

    def fail(self, now: float, why: str) -> None:
        """No answer, a transport error or a refusal: retry after a growing pause."""
        self.state, self.last_error = RegState.FAILED, why
        self.expires_at = None
        self.failures += 1
        self.next_at = now + min(BACKOFF_FIRST * 2 ** (self.failures - 1), BACKOFF_MAX)


def _granted(resp: Response, asked: int) -> float:
    """The expiry the registrar granted: our Contact's expires parameter, or Expires."""
    for value in resp.headers.get_all("contact"):
        for param in value.split(";")[1:]:
            key, _, val = param.strip().partition("=")
            if key.lower() == "expires" and val.strip().isdigit():
                return float(val)
    expires = resp.headers.get("expires")
    if expires and expires.strip().isdigit():
        return float(expires)
    return float(asked)


class TrunkRegistrations:
    """Every trunk with registration on, driven by the switch's one-second housekeeping: due
    REGISTERs are sent, responses answered; `ready` tells outbound calls which trunks may be
    used (one that must register and has not is skipped until it registers again)."""

    def __init__(
        self,
        stack: SipStack,
        resolver: TrunkResolver,
        contact: Callable[[str, str], str],
        targets: TrunkTargets | None = None,
    ):
        self.stack = stack
        self.resolver = resolver
        self.contact = contact  # (transport, peer host) -> our Contact
        self.targets = targets  # where DNS located the trunks without a port (RFC 3263)
        self.by_trunk: dict[int, TrunkRegistration] = {}

    def ready(self, trunk: TrunkSettings) -> bool:
        if not trunk.register:
            return True
        reg = self.by_trunk.get(trunk.id)
        return reg is not None and reg.trunk == trunk and reg.ready(self.stack.now())

    def status(self, trunk_id: int) -> TrunkRegistration | None:
        return self.by_trunk.get(trunk_id)

    def tick(self, trunks: tuple[TrunkSettings, ...]) -> None:
        """Follow the configured trunks (a changed trunk starts over), send what is due."""
        now = self.stack.now()
        wanted = {t.id: t for t in trunks if t.register and t.host}
        for trunk_id in list(self.by_trunk):
            if trunk_id not in wanted or self.by_trunk[trunk_id].trunk != wanted[trunk_id]:
                self._unregister(self.by_trunk.pop(trunk_id), now)
        for trunk_id, trunk in wanted.items():
            reg = self.by_trunk.get(trunk_id)
            if reg is None:
                tp = transport_of(trunk)
                reg = TrunkRegistration(trunk, contact=self.contact(tp, trunk.host or ""))
                self.by_trunk[trunk_id] = reg
            if reg.due(now):
                self._send(reg, now)

    def _unregister(self, reg: TrunkRegistration, now: float) -> None:
        """A trunk removed, disabled or changed while registered: REGISTER with Expires 0 on
        the same Call-ID (RFC 3261 10.2.2), so the provider stops sending its calls there."""
        if not reg.ready(now):
            return
        where = self._where(reg.trunk, now)
        if not isinstance(where, tuple):
            return
        dest, tp = where
        gone = TrunkRegistration(
            replace(reg.trunk, register_expires=0),
            contact=reg.contact,
            call_id=reg.call_id,
            tag=reg.tag,
            cseq=reg.cseq,
        )
        request = gone.request(now, self.stack.via(tp, peer=dest[0]))
        self._transmit(gone, request, dest, tp, owned=False)
        log.info("trunk %s: unregistering", reg.trunk.name)

    def _where(
        self, trunk: TrunkSettings, now: float, failures: int = 0
    ) -> tuple[Address, str] | str | None:
        """Where the trunk's REGISTER goes and over what: its first address (a trunk without a
        port: its RFC 3263 targets in turn, the next one after each failure); None while that
        is being looked up; the reason when it cannot be found. Over TLS the connection is
        opened to it, verified for the host."""
        host = trunk.host or ""
        if by_dns(trunk) and self.targets is not None:
            found = self.targets.known(trunk)
            if not found:
                error = self.targets.error(trunk)
                if error:
                    return f"{host} cannot be located ({error})"
                self.targets.refresh([trunk])  # asked again on the next tick
                return None
            target = found[failures % len(found)]
            dest: Address = (target.address, target.port)
            tp = target.transport
        else:
            addresses = self.resolver.cached(host, now)
            if addresses is None:
                self.resolver.prefetch(host)  # asked again on the next tick
                return None
            if not addresses:
                return f"{host} cannot be resolved"
            dest, tp = (addresses[0], trunk.port or default_port(trunk)), transport_of(trunk)
        if tp == "tls":
            self.stack.transport.dial_as(dest, host)
        return dest, tp

    def _send(self, reg: TrunkRegistration, now: float) -> None:
        where = self._where(reg.trunk, now, reg.failures)
        if where is None:
            return
        if isinstance(where, str):
            reg.fail(now, where)
            log.warning("trunk %s: registration failed (%s)", reg.trunk.name, reg.last_error)
            return
        dest, tp = where
        # Our address as chosen for the trunk's resolved address, not its name (a name is
        # in no local network and has no route: bound to 0.0.0.0 it would get loopback);
        # the transport: "auto" is the one DNS found.
        reg.contact = self.contact(tp, dest[0])
        self._transmit(reg, reg.request(now, self.stack.via(tp, peer=dest[0])), dest, tp)

    def _transmit(
        self, reg: TrunkRegistration, req: Request, dest: Address, tp: str, *, owned: bool = True
    ) -> None:
        """Send `req`; an `owned` registration is the trunk's current one (one that is not is
        an unregistration, answered only for its digest)."""

        def on_response(resp: Response) -> None:
            if owned and self.by_trunk.get(reg.trunk.id) is not reg:
                return  # the trunk was changed or removed meanwhile
            now = self.stack.now()
            was = reg.state
            retry = reg.on_response(resp, req, now, self.stack.via(tp, peer=dest[0]))
            if retry is not None:
                self._transmit(reg, retry, dest, tp, owned=owned)
            elif not owned:
                return
            elif reg.state is RegState.REGISTERED and was is not RegState.REGISTERED:
                log.info("trunk %s: registered", reg.trunk.name)
            elif reg.state is RegState.FAILED:
                log.warning("trunk %s: registration failed (%s)", reg.trunk.name, reg.last_error)

        def on_timeout() -> None:
            if owned and self.by_trunk.get(reg.trunk.id) is reg:
                # A transport error says why (a refused connection, a TLS certificate not
                # accepted for the trunk's name); else the registrar did not answer.
                why = self.stack.transport.dial_error(dest, tp) or "no response"
                reg.fail(self.stack.now(), why)
                log.warning("trunk %s: registration failed (%s)", reg.trunk.name, why)

        self.stack.send_request(req, dest, tp, on_response, on_timeout)
