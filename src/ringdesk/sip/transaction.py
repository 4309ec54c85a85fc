"""RFC 3261 section 17 transactions (with the RFC 6026 Accepted state), sans-I/O.

Each transaction takes `receive(msg, now)` / `handle_timer(now)` and leaves what must go on the
wire in `outbox` (to `dest`); `next_timer()` says when it wants `handle_timer` again. Over a
reliable transport the retransmission timers are off and the wait timers are zero.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .message import BRANCH_MAGIC, Headers, Request, Response
from .uri import Via

T1 = 0.5
T2 = 4.0
T4 = 5.0

Address = tuple[str, int]


class State(enum.Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(slots=True)
class _Timers:
    """Named deadlines; a transaction has at most a few running at once."""

    due: dict[str, float] = field(default_factory=dict)

    def start(self, name: str, at: float) -> None:
        self.due[name] = at

    def stop(self, *names: str) -> None:
        for name in names:
            self.due.pop(name, None)

    def next(self) -> float | None:
        return min(self.due.values()) if self.due else None

    def expired(self, now: float) -> list[str]:
        fired = sorted((t, n) for n, t in self.due.items() if t <= now)
        return [n for _, n in fired]


class Transaction:
    def __init__(self, request: Request, dest: Address, reliable: bool) -> None:
        self.request = request
        self.dest = dest
        self.reliable = reliable
        self.state = State.TRYING
        self.outbox: list[Request | Response] = []
        self.timed_out = False
        self.transport_error = False  # ended by an ICMP/transport error, not by a timer
        self._timers = _Timers()

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def next_timer(self) -> float | None:
        return None if self.terminated else self._timers.next()

    def take(self) -> list[Request | Response]:
        out, self.outbox = self.outbox, []
        return out

    def _terminate(self) -> None:
        self.state = State.TERMINATED
        self._timers.due.clear()

    def fail_transport(self) -> None:
        """The transport reported the destination unreachable: end as a timeout does."""
        if self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
            self.timed_out = True
            self.transport_error = True
            self._terminate()

    def handle_timer(self, now: float) -> None:
        for name in self._timers.expired(now):
            if name in self._timers.due and not self.terminated:
                self._fire(name, now)

    def _fire(self, name: str, now: float) -> None:
        raise NotImplementedError


# ---- client side --------------------------------------------------------------------------


def build_ack(invite: Request, response: Response) -> Request:
    """The ACK a client transaction sends for a non-2xx final response (RFC 3261 17.1.1.3)."""
    h = Headers()
    top = invite.headers.get("via")
    if top is not None:
        h.add("via", top)
    for route in invite.headers.get_all("route"):
        h.add("route", route)
    for name in ("from", "call-id"):
        found = invite.headers.get(name)
        if found is not None:
            h.add(name, found)
    h.add("to", response.headers.get("to") or invite.headers.get("to") or "")
    h.add("cseq", f"{invite.cseq[0]} ACK")
    h.add("max-forwards", "70")
    return Request(headers=h, body=b"", method="ACK", uri=invite.uri)


def build_cancel(invite: Request) -> Request:
    """CANCEL for a pending INVITE (RFC 3261 9.1): same branch, To without a new tag."""
    h = Headers()
    top = invite.headers.get("via")
    if top is not None:
        h.add("via", top)
    for route in invite.headers.get_all("route"):
        h.add("route", route)
    for name in ("from", "to", "call-id"):
        found = invite.headers.get(name)
        if found is not None:
            h.add(name, found)
    h.add("cseq", f"{invite.cseq[0]} CANCEL")
    h.add("max-forwards", "70")
    return Request(headers=h, body=b"", method="CANCEL", uri=invite.uri)


class ClientInvite(Transaction):
    def __init__(self, request: Request, dest: Address, now: float, reliable: bool = False):
        super().__init__(request, dest, reliable)
        self.state = State.CALLING
        self._interval = T1
        self.outbox.append(request)
        if not reliable:
            self._timers.start("A", now + T1)
        self._timers.start("B", now + 64 * T1)
        self._ack: Request | None = None

    def receive(self, response: Response, now: float) -> Response | None:
        """Returns the response when the TU should see it."""
        code = response.status
        if self.state in (State.CALLING, State.PROCEEDING):
            if code < 200:
                self.state = State.PROCEEDING
                self._timers.stop("A", "B")
                return response
            self._timers.stop("A", "B")
            if code < 300:
                self.state = State.ACCEPTED
                self._timers.start("M", now + 64 * T1)
                return response
            self._ack = build_ack(self.request, response)
            self.outbox.append(self._ack)
            self.state = State.COMPLETED
            self._timers.start("D", now + (0 if self.reliable else 32))
            return response
        if self.state is State.ACCEPTED and 200 <= code < 300:
            return response  # a 2xx retransmission: the dialog ACKs it again
        if self.state is State.COMPLETED and code >= 300 and self._ack is not None:
            self.outbox.append(self._ack)
        return None

    def _fire(self, name: str, now: float) -> None:
        if name == "A":
            self.outbox.append(self.request)
            self._interval *= 2
            self._timers.start("A", now + self._interval)
        elif name == "B":
            self.timed_out = True
            self._terminate()
        else:  # D, M
            self._terminate()


class ClientNonInvite(Transaction):
    def __init__(self, request: Request, dest: Address, now: float, reliable: bool = False):
        super().__init__(request, dest, reliable)
        self._interval = T1
        self.outbox.append(request)
        if not reliable:
            self._timers.start("E", now + T1)
        self._timers.start("F", now + 64 * T1)

    def receive(self, response: Response, now: float) -> Response | None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return None
        if response.status < 200:
            self.state = State.PROCEEDING
            return response
        self._timers.stop("E", "F")
        self.state = State.COMPLETED
        self._timers.start("K", now + (0 if self.reliable else T4))
        return response

    def _fire(self, name: str, now: float) -> None:
        if name == "E":
            self.outbox.append(self.request)
            self._interval = T2 if self.state is State.PROCEEDING else min(2 * self._interval, T2)
            self._timers.start("E", now + self._interval)
        elif name == "F":
            self.timed_out = True
            self._terminate()
        else:  # K
            self._terminate()


# ---- server side --------------------------------------------------------------------------


class ServerInvite(Transaction):
    def __init__(self, request: Request, dest: Address, now: float, reliable: bool = False):
        super().__init__(request, dest, reliable)
        self.state = State.PROCEEDING
        self.last: Response | None = None
        self._interval = T1

    def respond(self, response: Response, now: float) -> None:
        if self.state is not State.PROCEEDING:
            return  # a final response went already: the TU lost a race, nothing to send
        self.last = response
        self.outbox.append(response)
        if response.status < 200:
            return
        if response.status < 300:
            # The 2xx is retransmitted by the dialog layer until its ACK (13.3.1.4).
            self.state = State.ACCEPTED
            self._timers.start("L", now + 64 * T1)
            return
        self.state = State.COMPLETED
        if not self.reliable:
            self._timers.start("G", now + T1)
        self._timers.start("H", now + 64 * T1)

    def receive(self, request: Request, now: float) -> None:
        """A retransmitted INVITE or the ACK for our non-2xx final response."""
        if request.method == "INVITE":
            if self.state in (State.PROCEEDING, State.COMPLETED) and self.last is not None:
                self.outbox.append(self.last)
        elif request.method == "ACK" and self.state is State.COMPLETED:
            self.state = State.CONFIRMED
            self._timers.stop("G", "H")
            self._timers.start("I", now + (0 if self.reliable else T4))

    def _fire(self, name: str, now: float) -> None:
        if name == "G" and self.last is not None:
            self.outbox.append(self.last)
            self._interval = min(2 * self._interval, T2)
            self._timers.start("G", now + self._interval)
        elif name == "H":
            self.timed_out = True
            self._terminate()
        elif name in ("I", "L"):
            self._terminate()


class ServerNonInvite(Transaction):
    def __init__(self, request: Request, dest: Address, now: float, reliable: bool = False):
        super().__init__(request, dest, reliable)
        self.last: Response | None = None

    def respond(self, response: Response, now: float) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return
        self.last = response
        self.outbox.append(response)
        if response.status < 200:
            self.state = State.PROCEEDING
            return
        self.state = State.COMPLETED
        self._timers.start("J", now + (0 if self.reliable else 64 * T1))

    def receive(self, request: Request, now: float) -> None:
        if self.state in (State.PROCEEDING, State.COMPLETED) and self.last is not None:
            self.outbox.append(self.last)

    def _fire(self, name: str, now: float) -> None:
        self._terminate()  # J


ClientTransaction = ClientInvite | ClientNonInvite
ServerTransaction = ServerInvite | ServerNonInvite


# ---- matching -----------------------------------------------------------------------------

ServerKey = tuple[str, ...]


def server_key(request: Request) -> ServerKey:
    """RFC 3261 17.2.3: branch + sent-by + method (ACK and CANCEL fold onto INVITE for the
    purpose of finding the INVITE; CANCEL gets its own key via `method`)."""
    via: Via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    host, port = via.sent_by
    if branch.startswith(BRANCH_MAGIC):
        return (branch, host, str(port), method)
    # RFC 2543 peers: no magic cookie, match on the dialog-ish identifiers instead.
    from_tag = request.from_tag or ""
    return ("2543", request.call_id, from_tag, str(request.cseq[0]), host, str(port), method)


def client_key(branch: str, method: str) -> tuple[str, str]:
    return (branch, "INVITE" if method == "ACK" else method)


class TransactionTable:
    """Finds the transaction a message belongs to; detects merged and looped requests."""

    def __init__(self) -> None:
        self.servers: dict[ServerKey, ServerTransaction] = {}
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self._merge: dict[tuple[str, str, int, str], ServerKey] = {}

    def add_server(self, txn: ServerTransaction) -> None:
        key = server_key(txn.request)
        self.servers[key] = txn
        req = txn.request
        if req.to_tag is None:
            self._merge[self._merge_key(req)] = key

    @staticmethod
    def _merge_key(req: Request) -> tuple[str, str, int, str]:
        number, method = req.cseq
        return (req.from_tag or "", req.call_id, number, method)

    def find_server(self, request: Request) -> ServerTransaction | None:
        return self.servers.get(server_key(request))

    def find_invite_for_cancel(self, cancel: Request) -> ServerTransaction | None:
        key = server_key(cancel)
        return self.servers.get((*key[:-1], "INVITE"))

    def is_merged(self, request: Request) -> bool:
        """Same From tag, Call-ID and CSeq as a request in progress but another branch: the
        request forked and reached us twice (RFC 3261 8.2.2.2) -> 482."""
        if request.method == "ACK" or request.to_tag is not None:
            return False
        key = self._merge.get(self._merge_key(request))
        return key is not None and key != server_key(request) and key in self.servers

    def is_loop(self, request: Request) -> bool:
        """One of the Vias carries a branch we generated: the request came back to us."""
        return any(
            (via.branch or "", request.method) in self.clients
            or (via.branch or "", "INVITE") in self.clients
            for via in request.vias
            if via.branch
        )

    def add_client(self, txn: ClientTransaction) -> None:
        branch = txn.request.top_via.branch or ""
        self.clients[client_key(branch, txn.request.method)] = txn

    def find_client(self, response: Response) -> ClientTransaction | None:
        branch = response.top_via.branch or ""
        return self.clients.get(client_key(branch, response.cseq[1]))

    def remove(self, txn: ServerTransaction | ClientTransaction) -> None:
        if isinstance(txn, ServerInvite | ServerNonInvite):
            key = server_key(txn.request)
            if self.servers.get(key) is txn:
                del self.servers[key]
            mk = self._merge_key(txn.request)
            if self._merge.get(mk) == key:
                del self._merge[mk]
        else:
            ck = client_key(txn.request.top_via.branch or "", txn.request.method)
            if self.clients.get(ck) is txn:
                del self.clients[ck]
