"""The registrar's bindings (RFC 3261 section 10.3), keyed by the agent's CTI ID.

Authentication is the caller's job; this module decides what a REGISTER does to the bindings
and what the 200/423/400 says, and expires bindings when asked with the current time.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .errors import SipParseError
from .message import Request
from .uri import SipUri, parse_name_addr

Address = tuple[str, int]


@dataclass(slots=True)
class Binding:
    cti_id: str
    uri: SipUri
    expires_at: float
    call_id: str
    cseq: int
    source: Address  # where the REGISTER came from: we send there (works behind NAT too)
    transport: str = "udp"

    def key(self) -> tuple[str, str | None, str, int | None]:
        return (self.uri.scheme, self.uri.user, self.uri.host, self.uri.port)

    @property
    def target(self) -> SipUri:
        """The Request-URI that reaches this contact: the URI as registered (and echoed in the
        200, RFC 4475 3.3.14) minus its headers, which never go into a Request-URI (RFC 3261
        19.1.5)."""
        return replace(self.uri, headers="") if self.uri.headers else self.uri


@dataclass(slots=True)
class RegisterResult:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)


class Registrar:
    def __init__(
        self,
        *,
        min_expires: int = 60,
        default_expires: int = 3600,
        max_expires: int = 86400,
        on_change: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.min_expires = min_expires
        self.default_expires = default_expires
        self.max_expires = max_expires
        self.on_change = on_change
        self._bindings: dict[str, list[Binding]] = {}
        # (expires_at, cti_id) of every binding set, earliest first: the sweep looks at the
        # AORs whose time came, not at every binding (10,000 phones, once a second). An entry
        # may be stale (the binding was refreshed or removed since): looked at, nothing done.
        self._expiries: list[tuple[float, str]] = []

    def all_bindings(self) -> list[Binding]:
        return [b for bs in self._bindings.values() for b in bs]

    def bindings_of(self, cti_id: str) -> list[Binding]:
        """The AOR's bindings as held (not yet expired ones too): no scan of the others."""
        return list(self._bindings.get(cti_id, ()))

    def restore(self, bindings: list[Binding], now: float) -> None:
        """Put back bindings saved before a restart (those still valid), reporting each AOR."""
        for binding in bindings:
            if binding.expires_at <= now:
                continue
            was = self.is_registered(binding.cti_id, now)
            current = {b.key(): b for b in self._bindings.get(binding.cti_id, [])}
            current[binding.key()] = binding
            self._bindings[binding.cti_id] = list(current.values())
            self._push(binding.expires_at, binding.cti_id)
            if not was:
                self._notify(binding.cti_id, True)

    def drop_source(self, cti_id: str, source: Address) -> bool:
        """Forget the bindings reached at `source` (it bounced); True if any went."""
        kept = [b for b in self._bindings.get(cti_id, []) if b.source != source]
        if len(kept) == len(self._bindings.get(cti_id, [])):
            return False
        if kept:
            self._bindings[cti_id] = kept
        else:
            self._bindings.pop(cti_id, None)
            self._notify(cti_id, False)
        return True

    def lookup(self, cti_id: str, now: float) -> list[Binding]:
        return [b for b in self._bindings.get(cti_id, []) if b.expires_at > now]

    def is_registered(self, cti_id: str, now: float) -> bool:
        return bool(self.lookup(cti_id, now))

    def _push(self, expires_at: float, cti_id: str) -> None:
        heapq.heappush(self._expiries, (expires_at, cti_id))
        if len(self._expiries) > 4 * len(self._bindings) + 1024:
            # refreshes far more often than their expiry (a phone re-registering every few
            # seconds) leave stale entries: rebuilt from the bindings held, amortised O(1)
            self._expiries = [
                (b.expires_at, b.cti_id) for bs in self._bindings.values() for b in bs
            ]
            heapq.heapify(self._expiries)

    def next_expiry(self) -> float | None:
        times = [b.expires_at for bs in self._bindings.values() for b in bs]
        return min(times) if times else None

    def expire(self, now: float) -> list[str]:
        """Drop bindings past their time; returns the CTI IDs left with none."""
        due: dict[str, None] = {}  # earliest first, each once
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            due[heapq.heappop(expiries)[1]] = None
        gone: list[str] = []
        for cti_id in due:
            if cti_id not in self._bindings:
                continue  # removed since (unregistered, dropped)
            kept = [b for b in self._bindings[cti_id] if b.expires_at > now]
            if kept:
                self._bindings[cti_id] = kept
            else:
                del self._bindings[cti_id]
                gone.append(cti_id)
        for cti_id in gone:
            self._notify(cti_id, False)
        return gone

    def _notify(self, cti_id: str, registered: bool) -> None:
        if self.on_change is not None:
            self.on_change(cti_id, registered)

    def register(
        self, cti_id: str, request: Request, source: Address, transport: str, now: float
    ) -> RegisterResult:
        header_expires = request.headers.get("expires")
        default = self.default_expires
        if header_expires is not None:
            text = header_expires.strip()
            if not text.isdigit() or len(text) > 10:
                return RegisterResult(400, "Bad Expires")
            default = int(text)
        contacts = request.headers.get_all("contact")
        was_registered = self.is_registered(cti_id, now)
        call_id = request.call_id
        cseq = request.cseq[0]
        if any(c.strip() == "*" for c in contacts):
            if len(contacts) != 1 or default != 0:
                return RegisterResult(400, "Wildcard Contact needs Expires 0")
            self._bindings.pop(cti_id, None)
            if was_registered:
                self._notify(cti_id, False)
            return RegisterResult(200, "OK")
        updates: list[tuple[SipUri, int]] = []
        for contact in contacts:
            try:
                addr = parse_name_addr(contact)
            except SipParseError:
                return RegisterResult(400, "Bad Contact")
            expires = default
            param = addr.params.get("expires")
            if param is not None:
                if not param.isdigit() or len(param) > 10:
                    return RegisterResult(400, "Bad Contact expires")
                expires = int(param)
            if 0 < expires < self.min_expires:
                return RegisterResult(
                    423, "Interval Too Brief", [("Min-Expires", str(self.min_expires))]
                )
            updates.append((addr.uri, min(expires, self.max_expires)))
        current = {b.key(): b for b in self.lookup(cti_id, now)}
        for uri, expires in updates:
            binding = Binding(cti_id, uri, now + expires, call_id, cseq, source, transport)
            old = current.get(binding.key())
            if old is not None and old.call_id == call_id and old.cseq > cseq:
                return RegisterResult(500, "Out of order REGISTER")
            if expires == 0:
                current.pop(binding.key(), None)
            else:
                current[binding.key()] = binding
        if current:
            self._bindings[cti_id] = list(current.values())
            for _uri, expires in updates:
                if expires:
                    self._push(now + expires, cti_id)
        else:
            self._bindings.pop(cti_id, None)
        now_registered = bool(current)
        if now_registered != was_registered:
            self._notify(cti_id, now_registered)
        headers = [
            ("Contact", f"<{b.uri}>;expires={max(0, int(b.expires_at - now))}")
            for b in current.values()
        ]
        return RegisterResult(200, "OK", headers)
