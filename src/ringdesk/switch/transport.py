"""SIP over UDP and TCP on one (host, port), and over TLS on a port of its own: bytes in ->
parsed messages out, and back.

TLS (RFC 3261 26.2, hop by hop): a connection to the TLS port is admitted (below) before its
handshake starts; a peer that does not complete it within the handshake timeout, or speaks
something else (a plain-TCP client on the TLS port, say), is dropped and nothing else notices.
Requests to a phone registered over TLS go back over the connection it opened; we never open a
TLS connection to a phone (it has no certificate we could check), so when that connection is
gone the request fails at once as a transport error.

We do open connections to trunks (`dial`): a TCP or TLS connection to an address the outbound
code named with `dial_as(address, server_name)` is made on the first message for it, the messages
sent meanwhile wait for it, and it is then used both ways for everything with that address (the
INVITE's dialog, the REGISTER refreshes; the provider's responses and in-dialog requests come
back on it: RFC 5923's reuse, without the alias negotiation). TLS is verified: the trunk client
context (`client_tls`, ringdesk.tls.client_context: system CAs plus RINGDESK_TRUNK_CA_FILE)
checks the chain and the name (the trunk's host name, sent as SNI; a numeric host is matched
against the certificate's IP addresses). A refused connect, a timeout, a failed handshake or
verification is a transport error for every request waiting for it (RFC 3261 8.1.3.1, through
`on_unreachable`, so the caller tries its next target at once), logged once per address and
reason; `dial_error(address)` says the last one until a connection works again.

TCP and TLS connections cost a file descriptor and a buffer each, so they are limited (the
gate's settings, GateSettings.conn_*): a new one from a banned source, from a source that has
`conn_per_source` open, or beyond `conn_total` in all is closed at once (trusted sources are
never refused), and each refusal is a strike with the gate, which bans a source after
`conn_strikes` of them. A message must be complete within `message_timeout` of its first byte
(else closed: the RFC 4475 "clerr" message whose body never comes, or a slowloris). A
connection that carries no call and no registration is closed after `conn_idle` seconds
without a complete message (CRLF keep-alives do not count); one whose REGISTER we accepted
stays open until the binding's expiry plus `conn_idle` (the phone re-registers before), and
one with a call on it (an INVITE we saw until its failure or the BYE) stays open as long as
the call. The counts of what was refused and closed are in `counts`.

Malformed input is answered here (400, 505, 416, 420, 483 as the parser says) and logged once;
nothing raised by a handler escapes into asyncio's protocol callbacks, so one bad message or
one failing call cannot take the socket down.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import Request, Response, make_response, new_tag, parse_message
from ringdesk.tls import client_context

from .gate import Gate, GateSettings, request_method

log = logging.getLogger(__name__)

Address = tuple[str, int]
OnMessage = Callable[[Request | Response, Address, str], None]

# A Content-Length line of the head (CRLF line ends: the \r before each \n is allowed for).
_CL_RE = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*\r?$", re.I | re.M)
_CL_ANY_RE = re.compile(rb"^(?:content-length|l)[ \t]*:", re.I | re.M)
MAX_TCP_BUFFER = 256 * 1024
UDP_BUFFER = 4 * 1024 * 1024
UDP_BATCH = 64  # datagrams read per loop wake-up at most, so other sockets still get turns
UDP_MAX_DATAGRAM = 65535
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)  # Linux: queue ICMP errors for us to read
MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
OnUnreachable = Callable[[bytes, Address], None]
TLS_HANDSHAKE_TIMEOUT = 10.0  # without a gate; with one, its tls_handshake_timeout
CONNECT_TIMEOUT = 5.0  # seconds for a connection we open (TCP connect + TLS handshake)
MAX_DIAL_NAMES = 4096  # addresses the outbound code may have us dial (trunk targets)
STREAM_TRANSPORTS = frozenset({"tcp", "tls"})
# SIP over WebSocket (RFC 7118): the web server's sockets, one frame per message (websocket.py).
WS_TRANSPORTS = frozenset({"ws", "wss"})
MAX_CALLS_PER_CONNECTION = 256  # INVITE dialogs tracked per connection (they keep it open)
_EXPIRES_RE = re.compile(r";\s*expires\s*=\s*(\d+)", re.I)
# What `counts` counts: connections refused at once, and closed by a timeout.
COUNTS = (
    "refused_banned",
    "refused_per_source",
    "refused_total",
    "message_timeout",
    "idle_timeout",
    "handshake_timeout",
    "handshake_failed",
)


@dataclass(slots=True, eq=False)
class _Conn:
    """One TCP or TLS connection and what keeps it open."""

    addr: Address
    writer: asyncio.StreamWriter
    last: float  # loop time of its opening or its last complete message in
    inbound: bool = True  # the peer opened it (counted against the limits)
    trusted: bool = False  # from a trusted source: never closed for being idle
    partial: float | None = None  # when the first byte of an unfinished message came
    registered_until: float = 0.0  # the expiry our last 2xx to a REGISTER on it granted
    calls: dict[str, bool] = field(default_factory=dict)  # Call-ID -> established


def _granted(resp: Response) -> float:
    """The longest expiry a 2xx to REGISTER grants (its Contacts' expires, else Expires)."""
    longest = 0
    for contact in resp.headers.get_all("contact"):
        for match in _EXPIRES_RE.finditer(contact):
            longest = max(longest, int(match.group(1)))
    if not longest and resp.headers.get_all("contact"):
        text = (resp.headers.get("expires") or "").strip()
        longest = int(text) if text.isdigit() else 0
    return float(longest)


def error_response(exc: SipParseError) -> Response | None:
    """The response a parse error calls for, None when there is no one to send it to."""
    req = exc.request
    if req is None or req.method == "ACK" or not req.headers.get_all("via") or exc.status < 300:
        return None
    return make_response(
        req, exc.status, exc.reason, to_tag=new_tag(), headers=exc.extra_headers
    )  # a final response gets a To tag (RFC 3261 8.2.6.2)


def _dual_stack(sock: socket.socket, host: str) -> None:
    """On '::' one socket serves IPv4 too (IPv4 peers appear as ::ffff:a.b.c.d)."""
    if host == "::":
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)


def _udp_socket(host: str, port: int) -> socket.socket:
    """Our UDP socket, made here rather than by asyncio so we keep the real socket object
    (asyncio hands out a wrapper without recvmsg, which reading the error queue needs)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        # A burst of calls arrives faster than one loop turn drains it; the kernel's default
        # buffer (about 200 KB) then drops datagrams, which costs retransmissions. Ask for
        # more (the kernel caps it at net.core.rmem_max).
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER)
        if family == socket.AF_INET:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        _dual_stack(sock, host)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        owner = self.owner
        owner.received(data, (addr[0], addr[1]), "udp")
        # asyncio reads one datagram per wake-up of the loop; under a burst (or a flood the
        # gate drops) that costs a full loop turn per packet. Read what else is queued now.
        sock = owner._sock
        if sock is None:
            return
        for _ in range(UDP_BATCH - 1):
            try:
                data, addr = sock.recvfrom(UDP_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error queued on the socket, as asyncio reports it
                self.error_received(exc)
                return
            owner.received(data, (addr[0], addr[1]), "udp")

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like (we asked for them with IP_RECVERR): find out
        # which datagram bounced, so its transaction fails now instead of after timer B.
        log.debug("UDP error: %s", exc)
        self.owner.drain_errors()


class SipTransport:
    def __init__(
        self,
        host: str,
        port: int,
        on_message: OnMessage,
        *,
        tcp: bool = True,
        on_unreachable: OnUnreachable | None = None,
        gate: Gate | None = None,
        clock: Callable[[], float] = time.time,
        tls: ssl.SSLContext | None = None,
        tls_port: int = 0,
        client_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.gate = gate
        self.clock = clock
        self.port = port
        self.on_message = on_message
        self.on_unreachable = on_unreachable
        self.tcp_enabled = tcp
        self._udp: asyncio.DatagramTransport | None = None
        self._sock: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._conns: dict[Address, _Conn] = {}
        self.tls = tls
        self.tls_port = tls_port  # the bound port once started (with 0: the one picked)
        self._tls_server: asyncio.Server | None = None
        self._tls_listener: socket.socket | None = None
        self._tls_conns: dict[Address, _Conn] = {}
        # The browser phones' SIP WebSockets, by peer address (websocket.SipWebSockets).
        self.ws_peers: dict[Address, Any] = {}
        # Connections we open (module docstring): the TLS client context (None: made with the
        # system CAs on first use), the server name per address we may dial, the messages
        # waiting for a connection being made, and the last failure per address.
        self.client_tls = client_tls
        self._dial_names: dict[Address, str] = {}
        self._dialing: dict[tuple[str, Address], list[tuple[bytes, Request | Response]]] = {}
        self._dial_errors: dict[tuple[str, Address], str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Connection limits and timeouts (the module docstring).
        self.limits = gate.settings if gate is not None else GateSettings()
        self.max_connections = self.limits.conn_total  # capped by the fd limit at start
        self._open: set[_Conn] = set()
        self._serving: set[asyncio.Task[Any]] = set()  # the peers' connections being read
        self._by_source: dict[str, int] = {}  # inbound connections open (or in handshake)
        self._inbound = 0
        self.counts: Counter[str] = Counter({name: 0 for name in COUNTS})
        self._noted: set[tuple[str, str]] = set()  # (what, address) logged once
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def local_port(self) -> int:
        return self.port

    @property
    def open_connections(self) -> int:
        """Connections the peers opened, with the TLS ones still in their handshake."""
        return self._inbound

    async def _start_tls(self) -> None:
        if self.tls is None:
            return
        # Our own accept loop: the limits apply to the bare socket, before a byte is read
        # (_accept_tls); the handshake then runs under its own timeout. (A protocol that pauses
        # reading in connection_made does not do it: uvloop reads the ClientHello anyway.)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            _dual_stack(sock, self.host)
            sock.bind((self.host, self.tls_port))
            sock.listen(512)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._tls_listener = sock
        self.tls_port = sock.getsockname()[1]
        self._spawn(self._accept_tls(sock))

    async def _accept_tls(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                raw, peer = await loop.sock_accept(listener)
            except OSError as exc:  # out of descriptors, say: keep accepting
                if listener.fileno() < 0:
                    return  # closed by stop()
                log.warning("TLS accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            addr: Address = (peer[0], peer[1])
            if not self._admit(addr):
                raw.close()
                continue
            raw.setblocking(False)
            self._spawn(self._handshake(raw, addr))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.max_connections = _connection_cap(self.limits.conn_total)
        # With port 0 the UDP bind picks the port and TCP must get the same one; if TCP is
        # taken there, try again with another UDP port.
        for _attempt in range(20):
            sock = _udp_socket(self.host, self.port)
            udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=sock)
            port = sock.getsockname()[1]
            if not self.tcp_enabled:
                self._udp, self._sock, self.port = udp, sock, port
                await self._start_tls()
                self._spawn(self._sweeper())
                return
            try:
                # On '::' TCP listens on both families (asyncio makes IPv6 listeners v6-only).
                hosts = ["::", "0.0.0.0"] if self.host == "::" else self.host
                self._server = await asyncio.start_server(self._serve_tcp, hosts, port)
            except OSError:
                udp.close()
                if self.port != 0:
                    raise
                continue
            self._udp, self._sock, self.port = udp, sock, port
            await self._start_tls()
            self._spawn(self._sweeper())
            return
        raise OSError("no port free for both UDP and TCP")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        for server in (self._server, self._tls_server):
            if server is not None:
                server.close()
        if self._tls_listener is not None:
            self._tls_listener.close()  # its accept loop is one of self._tasks, cancelled below
        for conn in list(self._open):
            conn.writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._serving:  # they end on the close above; let them, rather than cancel them
            await asyncio.wait(list(self._serving), timeout=2)
        for server in (self._server, self._tls_server):
            if server is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 2)

    # ---- receiving ----------------------------------------------------------------------

    def drain_errors(self) -> None:
        """Read the socket's error queue: each entry is a datagram of ours that bounced, with
        the address it was sent to."""
        sock = self._sock
        if sock is None or sock.fileno() < 0:
            return
        for _ in range(64):
            try:
                data, _anc, _flags, addr = sock.recvmsg(MAX_TCP_BUFFER, 1024, MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("error queue: %s", exc)
                return
            if self.on_unreachable is not None and isinstance(addr, tuple):
                try:
                    self.on_unreachable(data, (addr[0], addr[1]))
                except Exception:
                    log.exception("unreachable handler failed")

    def received(
        self, data: bytes, addr: Address, transport: str, conn: _Conn | None = None
    ) -> None:
        if not data.strip(b"\r\n\t "):
            return  # keep-alive (RFC 5626 CRLF ping or a NAT keep-alive)
        gate = self.gate
        if gate is not None and not gate.admit(addr, request_method(data), self.clock()):
            return  # banned or over its rate: dropped before the parser, without an answer
        try:
            msg = parse_message(data, stream=transport in STREAM_TRANSPORTS)
        except SipParseError as exc:
            log.warning(
                "bad SIP message from %s:%s: %s %s", addr[0], addr[1], exc.status, exc.reason
            )
            resp = error_response(exc)
            if resp is not None:
                self.send(resp, addr, transport)
            return
        if conn is not None:
            _track(conn, msg, self._now(), sent=False)
        try:
            self.on_message(msg, addr, transport)
        except Exception:  # one failing call must not stop the socket
            log.exception("error handling SIP message from %s:%s", addr[0], addr[1])

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        addr: Address = (peer[0], peer[1])
        if not self._admit(addr):
            writer.transport.abort()
            return
        try:
            await self._serve(reader, writer, addr, "tcp", self._conns)
        finally:
            self._release(addr[0])

    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Admitted before its handshake (_accept_tls), released here.
        peer = writer.get_extra_info("peername")
        addr: Address = (peer[0], peer[1])
        try:
            await self._serve(reader, writer, addr, "tls", self._tls_conns)
        finally:
            self._release(addr[0])

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        addr: Address,
        transport: str,
        conns: dict[Address, _Conn],
    ) -> None:
        gate = self.gate
        trusted = gate is not None and gate.trusted(addr)
        conn = conns[addr] = _Conn(addr, writer, self._now(), trusted=trusted)
        self._open.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
        try:
            await self._read_stream(reader, writer, addr, transport, conn)
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.info("%s peer %s:%s dropped: %s", transport.upper(), addr[0], addr[1], exc)
        finally:
            self._open.discard(conn)
            if task is not None:
                self._serving.discard(task)
            if conns.get(addr) is conn:
                del conns[addr]
            writer.close()

    # ---- connection limits and timeouts -----------------------------------------------------

    def _now(self) -> float:
        loop = self._loop
        return loop.time() if loop is not None else time.monotonic()

    def _admit(self, addr: Address) -> bool:
        """Whether to keep a connection the peer just opened (counted when kept); a refusal
        is counted, logged once per source and a strike with the gate."""
        gate = self.gate
        if gate is None:
            self._count_in(addr[0])
            return True
        now = self.clock()
        if gate.trusted(addr):
            self._count_in(addr[0])
            return True
        if gate.banned(addr[0], now):
            self.counts["refused_banned"] += 1
            return False
        if gate.settings.enabled:
            limits = self.limits
            what = None
            if self._by_source.get(addr[0], 0) >= limits.conn_per_source:
                what = "refused_per_source"
            elif self._inbound >= self.max_connections:
                what = "refused_total"
            if what is not None:
                self.counts[what] += 1
                self._note(what, addr[0], "SIP connection from %s refused: %s", what[8:])
                gate.connection_strike(addr, now)
                return False
        self._count_in(addr[0])
        return True

    def _count_in(self, host: str) -> None:
        self._by_source[host] = self._by_source.get(host, 0) + 1
        self._inbound += 1

    def _release(self, host: str) -> None:
        left = self._by_source.get(host, 0) - 1
        if left > 0:
            self._by_source[host] = left
        else:
            self._by_source.pop(host, None)
        self._inbound = max(0, self._inbound - 1)

    def _note(self, what: str, host: str, message: str, *args: object) -> None:
        """Log `message` the first time `what` happens to `host` (bounded memory)."""
        if (what, host) in self._noted:
            return
        if len(self._noted) >= 4096:
            self._noted.clear()
        self._noted.add((what, host))
        log.warning(message, host, *args)

    async def _sweeper(self) -> None:
        limits = self.limits
        tick = max(0.05, min(1.0, limits.message_timeout / 4, limits.conn_idle / 4))
        while True:
            await asyncio.sleep(tick)
            try:
                self.sweep(self._now())
            except Exception:  # never let the sweeper die
                log.exception("connection sweep failed")

    def sweep(self, now: float) -> None:
        """Close the connections past a timeout (called about once a second)."""
        limits = self.limits
        for conn in list(self._open):
            if conn.partial is not None and now - conn.partial > limits.message_timeout:
                self._expire(conn, "message_timeout", "a message unfinished for %.0f s")
            elif conn.trusted or conn.calls:
                continue
            elif now > max(conn.last, conn.registered_until) + limits.conn_idle:
                self._expire(conn, "idle_timeout", "silent for %.0f s")

    def _expire(self, conn: _Conn, what: str, why: str) -> None:
        self._open.discard(conn)
        self.counts[what] += 1
        seconds = (
            self.limits.message_timeout if what == "message_timeout" else self.limits.conn_idle
        )
        self._note(what, conn.addr[0], "SIP connection from %s closed: " + why, seconds)
        if what == "message_timeout" and conn.inbound and self.gate is not None:
            self.gate.connection_strike(conn.addr, self.clock())
        conn.writer.transport.abort()

    def _handshake_timeout(self) -> float:
        return self.limits.tls_handshake_timeout if self.gate is not None else TLS_HANDSHAKE_TIMEOUT

    async def _handshake(self, raw: socket.socket, addr: Address) -> None:
        """TLS on a connection _accept_tls admitted; the protocol then runs _serve_tls."""
        assert self.tls is not None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        protocol = asyncio.StreamReaderProtocol(reader, self._serve_tls)
        try:
            # Once the handshake is done the protocol's connection_made starts _serve_tls
            # (which releases the count).
            await loop.connect_accepted_socket(
                lambda: protocol,
                raw,
                ssl=self.tls,
                ssl_handshake_timeout=self._handshake_timeout(),
            )
        except asyncio.CancelledError:
            raw.close()
            self._release(addr[0])
            raise
        except (OSError, EOFError) as exc:  # ssl.SSLError is an OSError
            raw.close()
            self._release(addr[0])
            if isinstance(exc, ConnectionAbortedError):  # asyncio's handshake timeout
                self.counts["handshake_timeout"] += 1
                self._note("handshake_timeout", addr[0], "TLS handshake from %s timed out")
                if self.gate is not None:
                    self.gate.connection_strike(addr, self.clock())
            else:
                self.counts["handshake_failed"] += 1
                log.info("TLS handshake from %s:%s failed: %s", addr[0], addr[1], exc)
            return

    async def _read_stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        addr: Address,
        transport: str = "tcp",
        conn: _Conn | None = None,
    ) -> None:
        buf = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf += chunk
            if conn is not None:
                now = self._now()
                if conn.partial is None:
                    conn.partial = now
            while True:
                stripped = buf.lstrip(b"\r\n")
                if stripped != buf:
                    if buf.startswith(b"\r\n\r\n"):
                        writer.write(b"\r\n")  # RFC 5626 pong
                    buf = stripped
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_TCP_BUFFER:
                        log.warning("TCP peer %s:%s sent an endless header", *addr)
                        return
                    break
                lengths = _CL_RE.findall(buf[:end])
                if len(lengths) != 1 and _CL_ANY_RE.search(buf[:end]):
                    # A Content-Length that is not one number (negative, a word, two of
                    # them): where this message ends is unknown, and so is where the next
                    # one starts. Answer its 400 and close (RFC 4475 3.1.2.3, 3.3.9).
                    log.warning("TCP peer %s:%s: unreadable Content-Length", *addr)
                    self.received(buf[: end + 4], addr, transport)
                    return
                length = int(lengths[0]) if lengths else 0
                total = end + 4 + length
                if length > MAX_TCP_BUFFER:
                    log.warning("TCP peer %s:%s sent a huge body", *addr)
                    return
                if len(buf) < total:
                    break
                frame, buf = buf[:total], buf[total:]
                if conn is not None:
                    conn.last = now
                    conn.partial = now if buf.strip(b"\r\n") else None
                self.received(frame, addr, transport, conn)
            if conn is not None and not buf:
                conn.partial = None  # only keep-alives, or all messages complete

    # ---- sending ------------------------------------------------------------------------

    def _wired(self, dest: Address, transport: str) -> Address:
        """`dest` (an IPv4 peer named as itself above the transport) as this transport knows
        it. On a dual-stack socket an IPv4 address is sent to as its IPv4-mapped form
        (::ffff:192.0.2.1; uvloop's sendto refuses a plain IPv4 address there), which is also
        how an accepted TCP or TLS connection from it is keyed; a connection we dial is keyed as
        we name it."""
        if self.host != "::" or ":" in dest[0]:
            return dest
        try:
            ipaddress.IPv4Address(dest[0])
        except ValueError:
            return dest
        wired = (f"::ffff:{dest[0]}", dest[1])
        if transport == "udp":
            return wired
        conns = self._tls_conns if transport == "tls" else self._conns
        return wired if wired in conns else dest

    def send(self, msg: Request | Response, dest: Address, transport: str = "udp") -> None:
        data = msg.to_bytes()
        if transport not in WS_TRANSPORTS:
            dest = self._wired(dest, transport)
        if transport in WS_TRANSPORTS:
            peer = self.ws_peers.get(dest)
            if peer is None or not peer.write(data):
                # Never dialled: without the browser's socket the request fails at once.
                log.info("no SIP WebSocket to %s:%s: %s not sent", dest[0], dest[1], _what(msg))
                if isinstance(msg, Request) and self.on_unreachable is not None:
                    asyncio.get_running_loop().call_soon(self._unreachable, data, dest)
            return
        if transport in STREAM_TRANSPORTS:
            conns = self._tls_conns if transport == "tls" else self._conns
            conn = conns.get(dest)
            if conn is not None and not conn.writer.is_closing():
                conn.writer.write(data)
                _track(conn, msg, self._now(), sent=True)
            elif (transport, dest) in self._dialing:
                self._dialing[(transport, dest)].append((data, msg))  # a connect under way
            elif transport == "tcp" or dest in self._dial_names:
                self._dialing[(transport, dest)] = [(data, msg)]
                self._spawn(self._dial(transport, dest))
            else:
                log.info("no TLS connection to %s:%s: %s not sent", dest[0], dest[1], _what(msg))
                if isinstance(msg, Request) and self.on_unreachable is not None:
                    # A transport error (RFC 3261 8.1.3.1), reported after this send returns.
                    asyncio.get_running_loop().call_soon(self._unreachable, data, dest)
            return
        if self._udp is not None:
            try:
                self._udp.sendto(data, dest)
            except OSError as exc:
                log.warning("UDP send to %s:%s failed: %s", dest[0], dest[1], exc)

    def dial_as(self, dest: Address, server_name: str) -> None:
        """Let TLS toward `dest` be dialled when no connection is open, verifying the server's
        certificate for `server_name` (a trunk's host name, or its address when numeric)."""
        if dest not in self._dial_names and len(self._dial_names) >= MAX_DIAL_NAMES:
            self._dial_names.clear()  # bounded; the outbound code names its targets each call
        self._dial_names[dest] = server_name

    def dial_error(self, dest: Address, transport: str) -> str | None:
        """Why the last connection we tried to open to `dest` failed; None once one worked."""
        return self._dial_errors.get((transport, dest))

    def _unreachable(self, data: bytes, dest: Address) -> None:
        if self.on_unreachable is not None:
            try:
                self.on_unreachable(data, dest)
            except Exception:
                log.exception("unreachable handler failed")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _client_context(self) -> ssl.SSLContext:
        if self.client_tls is None:
            self.client_tls = client_context(None)
        return self.client_tls

    async def _connect(
        self, transport: str, dest: Address
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if transport == "tcp":
            return await asyncio.open_connection(*dest)
        name = self._dial_names.get(dest) or dest[0]
        return await asyncio.open_connection(
            *dest,
            ssl=self._client_context(),
            server_hostname=name.strip("[]"),
            ssl_handshake_timeout=CONNECT_TIMEOUT,
        )

    async def _dial(self, transport: str, dest: Address) -> None:
        """Open a TCP or TLS connection to `dest`, send what waits for it, then read it."""
        key = (transport, dest)
        try:
            reader, writer = await asyncio.wait_for(self._connect(transport, dest), CONNECT_TIMEOUT)
        except (OSError, TimeoutError, EOFError) as exc:  # ssl.SSLError is an OSError
            self._dial_failed(transport, dest, exc)
            return
        except BaseException:
            self._dialing.pop(key, None)
            raise
        if self._dial_errors.pop(key, None) is not None:
            log.info("%s connection to %s:%s works again", transport.upper(), *dest)
        gate = self.gate
        trusted = gate is not None and gate.trusted(dest)
        conns = self._tls_conns if transport == "tls" else self._conns
        conn = conns[dest] = _Conn(dest, writer, self._now(), inbound=False, trusted=trusted)
        self._open.add(conn)
        for data, msg in self._dialing.pop(key, []):
            writer.write(data)
            _track(conn, msg, self._now(), sent=True)
        try:
            await self._read_stream(reader, writer, dest, transport, conn)
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.info("%s peer %s:%s dropped: %s", transport.upper(), dest[0], dest[1], exc)
        finally:
            self._open.discard(conn)
            if conns.get(dest) is conn:
                del conns[dest]
            writer.close()

    def _dial_failed(self, transport: str, dest: Address, exc: BaseException) -> None:
        """A transport error for every request that waited for this connection; logged once
        per address and reason (and again when the reason changes)."""
        key = (transport, dest)
        why = _dial_reason(exc)
        if self._dial_errors.get(key) != why:
            log.warning(
                "%s connection to %s:%s failed: %s", transport.upper(), dest[0], dest[1], why
            )
        self._dial_errors[key] = why
        if len(self._dial_errors) > MAX_DIAL_NAMES:
            self._dial_errors.clear()
            self._dial_errors[key] = why
        loop = asyncio.get_running_loop()
        for data, msg in self._dialing.pop(key, []):
            if isinstance(msg, Request):
                loop.call_soon(self._unreachable, data, dest)


def _dial_reason(exc: BaseException) -> str:
    """A failed connect or handshake in a few words (the certificate check's own words)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return f"no connection within {CONNECT_TIMEOUT:.0f} s"
    if isinstance(exc, EOFError | asyncio.IncompleteReadError):
        return "closed during the TLS handshake"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _track(conn: _Conn, msg: Request | Response, now: float, *, sent: bool) -> None:
    """What a message over a connection says about keeping it open: an INVITE's dialog (until
    its failure or BYE) and the expiry of a registration we accepted."""
    if isinstance(msg, Request):
        if msg.method == "INVITE":
            if len(conn.calls) < MAX_CALLS_PER_CONNECTION:
                conn.calls.setdefault(msg.call_id, False)
        elif msg.method == "BYE":
            conn.calls.pop(msg.call_id, None)
        return
    if msg.status < 200:
        return
    method = msg.cseq[1]
    if method == "INVITE":
        call_id = msg.call_id
        if msg.status < 300:
            if call_id in conn.calls or len(conn.calls) < MAX_CALLS_PER_CONNECTION:
                conn.calls[call_id] = True
        elif conn.calls.get(call_id) is False:
            del conn.calls[call_id]
    elif method == "REGISTER" and msg.status < 300 and (sent or not conn.inbound):
        # A registration we granted over the peer's connection, or ours with a trunk over the
        # connection we opened: either keeps the connection open until it expires.
        conn.registered_until = now + _granted(msg)


def _connection_cap(configured: int) -> int:
    """The total connection limit: as configured, at most half the file-descriptor limit (the
    rest is for RTP sockets, the database, the web server)."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return configured
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return configured
    cap = max(16, soft // 2)
    if configured > cap:
        log.warning(
            "SIP connection limit %d capped at %d (half the fd limit %d)", configured, cap, soft
        )
    return min(configured, cap)


def _what(msg: Request | Response) -> str:
    return msg.method if isinstance(msg, Request) else f"{msg.status} response"
