"""Dialog state (RFC 3261 section 12) and the UAS's 2xx retransmission (13.3.1.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from .errors import SipParseError
from .message import Headers, Request, Response
from .transaction import T1, T2
from .uri import NameAddr, SipUri, parse_name_addr, parse_uri


def _target(message: Request | Response) -> SipUri | None:
    contact = message.headers.get("contact")
    if contact is None:
        return None
    uri = parse_name_addr(contact).uri
    # Headers in a Contact URI never go into a Request-URI (RFC 3261 19.1.5, 12.1.1).
    return replace(uri, headers="") if uri.headers else uri


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local: NameAddr  # our From/To value without the tag
    remote: NameAddr
    remote_target: SipUri
    route_set: list[str] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, request: Request, local_tag: str) -> Dialog:
        """The dialog an answered INVITE creates on our side as the callee."""
        frm = request.from_addr
        to = request.to_addr
        target = _target(request) or frm.uri
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=frm.tag or "",
            local=NameAddr(to.uri, to.display),
            remote=NameAddr(frm.uri, frm.display),
            remote_target=target,
            route_set=list(request.headers.get_all("record-route")),
            local_seq=0,
            remote_seq=request.cseq[0],
        )

    @classmethod
    def as_uac(
        cls, request: Request, response: Response, *, target_fallback: bool = False
    ) -> Dialog:
        """The dialog a 2xx (or 1xx with a tag) to our INVITE creates as the caller.

        An unparseable Contact raises SipParseError, unless `target_fallback`: then the
        Request-URI stands in, so that an unusable 2xx can still be acknowledged and ended."""
        frm = request.from_addr
        to = response.to_addr
        try:
            target = _target(response)
        except SipParseError:
            if not target_fallback:
                raise
            target = None
        return cls(
            call_id=request.call_id,
            local_tag=frm.tag or "",
            remote_tag=to.tag or "",
            local=NameAddr(frm.uri, frm.display),
            remote=NameAddr(to.uri, to.display),
            remote_target=target or request.uri,
            route_set=list(reversed(response.headers.get_all("record-route"))),
            local_seq=request.cseq[0],
            remote_seq=None,
        )

    def matches(self, message: Request | Response, *, incoming: bool = True) -> bool:
        if message.call_id != self.call_id:
            return False
        frm, to = message.from_addr.tag, message.to_addr.tag
        if incoming and isinstance(message, Request):
            return frm == self.remote_tag and to == self.local_tag
        return frm == self.local_tag and to == self.remote_tag

    def check_remote_seq(self, request: Request) -> bool:
        """False for an out-of-order in-dialog request (answer 500, RFC 3261 12.2.2)."""
        number = request.cseq[0]
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq is not None and number < self.remote_seq:
            return False
        self.remote_seq = number
        return True

    def refresh_target(self, message: Request | Response) -> None:
        """A re-INVITE or its 2xx may move the remote target (RFC 3261 12.2)."""
        target = _target(message)
        if target is not None:
            self.remote_target = target

    def new_request(
        self,
        method: str,
        *,
        via: str,
        contact: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        extra: Iterable[tuple[str, str]] = (),
        cseq: int | None = None,
    ) -> Request:
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        h = Headers()
        h.add("via", via)
        for route in self.route_set:
            h.add("route", route)
        h.add("max-forwards", "70")
        h.add("from", str(self.local.with_tag(self.local_tag)))
        h.add("to", str(self.remote.with_tag(self.remote_tag)))
        h.add("call-id", self.call_id)
        h.add("cseq", f"{cseq} {method}")
        if contact is not None:
            h.add("contact", contact)
        for k, v in extra:
            h.add(k, v)
        if content_type is not None and body:
            h.add("content-type", content_type)
        return Request(headers=h, body=body, method=method, uri=self.remote_target)

    def ack(self, invite_cseq: int, *, via: str, body: bytes = b"") -> Request:
        """ACK for a 2xx: its own transaction, same CSeq number as the INVITE (13.2.2.4)."""
        req = self.new_request("ACK", via=via, cseq=invite_cseq, body=body)
        return req

    def to_row(self) -> dict[str, object]:
        """What an in-dialog request needs, as JSON-able values (the switch keeps live dialogs
        across a restart to end them with a BYE)."""
        return {
            "call_id": self.call_id,
            "local_tag": self.local_tag,
            "remote_tag": self.remote_tag,
            "local": str(self.local),
            "remote": str(self.remote),
            "remote_target": str(self.remote_target),
            "route_set": list(self.route_set),
            "local_seq": self.local_seq,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Dialog:
        """The dialog `to_row` wrote; SipParseError, KeyError, TypeError or ValueError when the
        row is not one."""
        routes = row["route_set"]
        if not isinstance(routes, list):
            raise TypeError("route_set is not a list")
        seq = row["local_seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("bad local_seq")
        for name in ("call_id", "local_tag", "remote_tag"):
            if not isinstance(row[name], str) or not row[name]:
                raise ValueError(f"bad {name}")
        for route in routes:
            parse_name_addr(str(route))
        return cls(
            call_id=str(row["call_id"]),
            local_tag=str(row["local_tag"]),
            remote_tag=str(row["remote_tag"]),
            local=parse_name_addr(str(row["local"])),
            remote=parse_name_addr(str(row["remote"])),
            remote_target=parse_uri(str(row["remote_target"])),
            route_set=[str(r) for r in routes],
            local_seq=seq,
        )

    def next_remote_target_addr(self) -> tuple[str, int]:
        if self.route_set:
            return parse_name_addr(self.route_set[0]).uri.host_port
        return self.remote_target.host_port


class Retransmit2xx:
    """Our 2xx to an INVITE goes again at T1, 2T1, ... capped at T2, until the ACK comes or
    64*T1 passes (then the dialog must be ended with a BYE)."""

    def __init__(self, response: Response, now: float, reliable: bool = False) -> None:
        self.response = response
        self.cseq = response.cseq[0]
        self._interval = T1
        self._next: float | None = None if reliable else now + T1
        self._deadline = now + 64 * T1
        self.acked = False
        self.gave_up = False

    def next_timer(self) -> float | None:
        if self.acked or self.gave_up:
            return None
        return self._deadline if self._next is None else min(self._next, self._deadline)

    def handle_timer(self, now: float) -> bool:
        """True when the 2xx should be sent again now."""
        if self.acked or self.gave_up:
            return False
        if now >= self._deadline:
            self.gave_up = True
            return False
        if self._next is not None and now >= self._next:
            self._interval = min(2 * self._interval, T2)
            self._next = now + self._interval
            return True
        return False

    def ack(self, request: Request) -> bool:
        """True when this ACK acknowledges our 2xx."""
        if request.cseq[0] == self.cseq:
            self.acked = True
            return True
        return False
