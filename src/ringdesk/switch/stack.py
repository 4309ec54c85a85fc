"""The transaction layer on the asyncio loop: matches messages to transactions, runs their
timers with loop.call_at, and hands new requests and responses to the switch (the TU)."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import assert_never

from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import Request, Response, make_response, new_branch, parse_message
from ringdesk.sip.transaction import (
    ClientInvite,
    ClientNonInvite,
    ClientTransaction,
    ServerInvite,
    ServerNonInvite,
    ServerTransaction,
    TransactionTable,
    client_key,
)
from ringdesk.sip.uri import parse_via

from .gate import Gate, unmapped
from .timers import TimerQueue
from .transport import Address, SipTransport

log = logging.getLogger(__name__)

OnResponse = Callable[[Response], None]
OnTimeout = Callable[[], None]


@dataclass(slots=True)
class _ClientOwner:
    on_response: OnResponse
    on_timeout: OnTimeout


class RequestHandler:
    """What the stack calls for requests no transaction absorbed."""

    def on_request(
        self, req: Request, txn: ServerTransaction | None, src: Address, tp: str
    ) -> None:
        raise NotImplementedError

    def on_stray_response(self, resp: Response, src: Address) -> None:
        """A response no client transaction wants (a late 2xx retransmission)."""

    def on_server_timeout(self, txn: ServerTransaction) -> None:
        """Our final response to an INVITE was never ACKed."""


class SipStack:
    def __init__(
        self,
        host: str,
        port: int,
        handler: RequestHandler,
        gate: Gate | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        tls_port: int = 0,
    ) -> None:
        self.handler = handler
        self.gate = gate
        self.transport = SipTransport(
            host,
            port,
            self._on_message,
            on_unreachable=self._on_unreachable,
            gate=gate,
            tls=tls,
            tls_port=tls_port,
        )
        self.table = TransactionTable()
        self._timers = TimerQueue(self._fire)
        self._owners: dict[int, _ClientOwner] = {}
        # The transport each transaction's messages go over ("udp", "tcp", "tls"), by id.
        self._tps: dict[int, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.host = host
        self.ws_port = 0  # the web server's port, once the runtime knows it
        # Our address in Via toward a peer (SwitchState sets addresses.py's choice).
        self.advertise: Callable[[str | None], str] = lambda _peer: host or "127.0.0.1"

    @property
    def port(self) -> int:
        return self.transport.local_port

    @property
    def tls_port(self) -> int | None:
        """The SIP over TLS port once started; None without TLS."""
        return self.transport.tls_port if self.transport.tls is not None else None

    def port_for(self, transport: str) -> int:
        """The port we advertise (Via, Contact) on `transport`: TLS has its own."""
        tls = self.tls_port
        if transport in ("ws", "wss") and self.ws_port:
            return self.ws_port  # the web server's port (SIP over WebSocket, websocket.py)
        return tls if transport == "tls" and tls is not None else self.port

    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._timers.bind(self._loop)
        await self.transport.start()

    async def stop(self) -> None:
        self._timers.clear()
        await self.transport.stop()

    def via(
        self, transport: str = "udp", branch: str | None = None, *, peer: str | None = None
    ) -> str:
        """Our Via toward `peer` (its address; the advertised address is chosen for it)."""
        host = self.advertise(peer)
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return (
            f"SIP/2.0/{transport.upper()} {host}:{self.port_for(transport)}"
            f";branch={branch or new_branch()};rport"
        )

    # ---- incoming ---------------------------------------------------------------------

    def _on_message(self, msg: Request | Response, src: Address, tp: str) -> None:
        src = unmapped(src)  # above the transport an IPv4 peer is named as itself
        match msg:
            case Response():
                self._on_response(msg, src)
            case Request():
                self._on_request(msg, src, tp)
            case _:
                assert_never(msg)

    def _on_request(self, req: Request, src: Address, tp: str) -> None:
        _note_source(req, src)
        if req.method == "ACK":
            invite = self.table.find_server(req)
            if (
                isinstance(invite, ServerInvite)
                and invite.last is not None
                and invite.last.status >= 300
            ):
                invite.receive(req, self.now())
                self._service(invite)
                return
            self.handler.on_request(req, None, src, tp)  # ACK for a 2xx: the dialog's business
            return
        existing = self.table.find_server(req)
        if existing is not None:
            existing.receive(req, self.now())  # a retransmission: resend our last response
            self._service(existing)
            return
        if self.table.is_merged(req) or self.table.is_loop(req):
            self.send_stateless(make_response(req, 482, to_tag=new_branch()[7:]), src, tp)
            return
        reliable = tp != "udp"
        txn: ServerTransaction
        if req.method == "INVITE":
            txn = ServerInvite(req, src, self.now(), reliable)
        else:
            txn = ServerNonInvite(req, src, self.now(), reliable)
        if tp not in ("udp", "tcp"):  # TLS, WS, WSS: not implied by `reliable`
            self._tps[id(txn)] = tp
        self.table.add_server(txn)
        self.handler.on_request(req, txn, src, tp)

    def _on_unreachable(self, data: bytes, dest: Address) -> None:
        """An ICMP error for a request we sent: its client transaction fails at once, as a
        transport error (RFC 3261 8.1.3.1) rather than after 32 s of retransmissions."""
        msg = bounced_request(data)
        if msg is None:
            return
        branch = msg.top_via.branch or ""
        txn = self.table.clients.get(client_key(branch, msg.method))
        if txn is not None and not txn.terminated:
            log.info("%s to %s:%s: destination unreachable", msg.method, dest[0], dest[1])
            txn.fail_transport()
            self._service(txn)

    def _on_response(self, resp: Response, src: Address) -> None:
        txn = self.table.find_client(resp)
        if txn is None:
            self.handler.on_stray_response(resp, src)
            return
        passed = txn.receive(resp, self.now())
        self._service(txn)
        owner = self._owners.get(id(txn))
        if passed is not None and owner is not None:
            owner.on_response(passed)

    # ---- outgoing -----------------------------------------------------------------------

    def respond(self, txn: ServerTransaction, resp: Response) -> None:
        txn.respond(resp, self.now())
        self._service(txn)

    def send_request(
        self,
        req: Request,
        dest: Address,
        tp: str,
        on_response: OnResponse,
        on_timeout: OnTimeout,
    ) -> ClientTransaction:
        reliable = tp != "udp"
        txn: ClientTransaction
        if req.method == "INVITE":
            txn = ClientInvite(req, dest, self.now(), reliable)
        else:
            txn = ClientNonInvite(req, dest, self.now(), reliable)
        if tp not in ("udp", "tcp"):  # TLS, WS, WSS: not implied by `reliable`
            self._tps[id(txn)] = tp
        self.table.add_client(txn)
        self._owners[id(txn)] = _ClientOwner(on_response, on_timeout)
        self._service(txn)
        return txn

    def send_stateless(self, msg: Request | Response, dest: Address, tp: str) -> None:
        self.transport.send(msg, dest, tp)

    # ---- timers -------------------------------------------------------------------------

    def _service(self, txn: ServerTransaction | ClientTransaction) -> None:
        tp = self._tps.get(id(txn)) or ("tcp" if txn.reliable else "udp")
        for msg in txn.take():
            self.transport.send(msg, txn.dest, tp)
        if txn.terminated:
            self._timers.cancel(txn)
            self.table.remove(txn)
            self._tps.pop(id(txn), None)
            owner = self._owners.pop(id(txn), None)
            if txn.timed_out:
                self._timed_out(txn, owner)
            return
        at = txn.next_timer()
        if at is None:
            self._timers.cancel(txn)
        else:
            self._timers.schedule(txn, at)

    def _fire(self, key: Hashable) -> None:
        txn = key
        assert isinstance(txn, ServerInvite | ServerNonInvite | ClientInvite | ClientNonInvite)
        txn.handle_timer(self.now())
        self._service(txn)

    def _timed_out(
        self, txn: ServerTransaction | ClientTransaction, owner: _ClientOwner | None
    ) -> None:
        try:
            if owner is not None:
                owner.on_timeout()
            elif isinstance(txn, ServerInvite):
                self.handler.on_server_timeout(txn)
        except Exception:
            log.exception("timeout handler failed")


def _note_source(req: Request, src: Address) -> None:
    """RFC 3261 18.2.1 and RFC 3581: record where the request really came from in the top Via,
    so responses (sent there by make_response's copied Via) find their way back."""
    top = req.headers.get("via")
    if top is None:
        return
    via = parse_via(top)
    params = dict(via.params)
    changed = False
    if via.host.strip("[]") != src[0]:
        params["received"] = src[0]
        changed = True
    if "rport" in params and params["rport"] is None:
        params["rport"] = str(src[1])
        changed = True
    if changed:
        req.headers.replace_first("via", str(type(via)(via.transport, via.host, via.port, params)))


_LENGTH = re.compile(rb"(?i)(content-length|l)[ \t]*:")


def bounced_request(data: bytes) -> Request | None:
    """The request an ICMP error quotes. The quote is often cut short (an ICMP error carries
    at most 576 bytes on Linux, and an INVITE with SDP is longer), so only the complete header
    lines are read: the Via branch and CSeq method are all the transaction match needs."""
    head, sep, _ = data.partition(b"\r\n\r\n")
    if not sep:
        head = head.rpartition(b"\r\n")[0]  # drop the line the quote cut
    lines = [line for line in head.split(b"\r\n") if not _LENGTH.match(line)]
    try:
        msg = parse_message(b"\r\n".join(lines) + b"\r\nContent-Length: 0\r\n\r\n")
    except SipParseError:
        return None
    return msg if isinstance(msg, Request) else None
