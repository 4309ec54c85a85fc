"""SIP over UDP and TCP on one (host, port), and over TLS on a port of its own: bytes in ->
parsed messages out, and back.

TLS (RFC 3261 26.2, hop by hop): asyncio runs the handshake before we see the connection; a
peer that does not complete it within TLS_HANDSHAKE_TIMEOUT, or speaks something else (a
plain-TCP client on the TLS port, say), is dropped and nothing else notices. A banned source
is closed right after its handshake. Requests to a phone registered over TLS go back over the
connection it opened; we never open a TLS connection to a phone (it has no certificate we could
check), so when that connection is gone the request fails at once as a transport error.

Malformed input is answered here (400, 505, 416, 420, 483 as the parser says) and logged once;
nothing raised by a handler escapes into asyncio's protocol callbacks, so one bad message or
one failing call cannot take the socket down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import Request, Response, make_response, new_tag, parse_message

from .gate import Gate, request_method

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
TLS_HANDSHAKE_TIMEOUT = 10.0
STREAM_TRANSPORTS = frozenset({"tcp", "tls"})


def error_response(exc: SipParseError) -> Response | None:
    """The response a parse error calls for, None when there is no one to send it to."""
    req = exc.request
    if req is None or req.method == "ACK" or not req.headers.get_all("via") or exc.status < 300:
        return None
    return make_response(
        req, exc.status, exc.reason, to_tag=new_tag(), headers=exc.extra_headers
    )  # a final response gets a To tag (RFC 3261 8.2.6.2)


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
        self._conns: dict[Address, asyncio.StreamWriter] = {}
        self.tls = tls
        self.tls_port = tls_port  # the bound port once started (with 0: the one picked)
        self._tls_server: asyncio.Server | None = None
        self._tls_conns: dict[Address, asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def local_port(self) -> int:
        return self.port

    async def _start_tls(self) -> None:
        if self.tls is None:
            return
        self._tls_server = await asyncio.start_server(
            self._serve_tls,
            self.host,
            self.tls_port,
            ssl=self.tls,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
        )
        self.tls_port = self._tls_server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # With port 0 the UDP bind picks the port and TCP must get the same one; if TCP is
        # taken there, try again with another UDP port.
        for _attempt in range(20):
            sock = _udp_socket(self.host, self.port)
            udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=sock)
            port = sock.getsockname()[1]
            if not self.tcp_enabled:
                self._udp, self._sock, self.port = udp, sock, port
                await self._start_tls()
                return
            try:
                self._server = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError:
                udp.close()
                if self.port != 0:
                    raise
                continue
            self._udp, self._sock, self.port = udp, sock, port
            await self._start_tls()
            return
        raise OSError("no port free for both UDP and TCP")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        for server in (self._server, self._tls_server):
            if server is not None:
                server.close()
        for writer in [*self._conns.values(), *self._tls_conns.values()]:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
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

    def received(self, data: bytes, addr: Address, transport: str) -> None:
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
        try:
            self.on_message(msg, addr, transport)
        except Exception:  # one failing call must not stop the socket
            log.exception("error handling SIP message from %s:%s", addr[0], addr[1])

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        addr: Address = (peer[0], peer[1])
        gate = self.gate
        if gate is not None and gate.banned(addr[0], self.clock()) and not gate.trusted(addr):
            writer.close()
            return
        self._conns[addr] = writer
        try:
            await self._read_stream(reader, writer, addr)
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.info("TCP peer %s:%s dropped: %s", addr[0], addr[1], exc)
        finally:
            if self._conns.get(addr) is writer:
                del self._conns[addr]
            writer.close()

    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        addr: Address = (peer[0], peer[1])
        gate = self.gate
        if gate is not None and gate.banned(addr[0], self.clock()) and not gate.trusted(addr):
            writer.transport.abort()
            return
        self._tls_conns[addr] = writer
        try:
            await self._read_stream(reader, writer, addr, "tls")
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.info("TLS peer %s:%s dropped: %s", addr[0], addr[1], exc)
        finally:
            if self._tls_conns.get(addr) is writer:
                del self._tls_conns[addr]
            writer.close()

    async def _read_stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        addr: Address,
        transport: str = "tcp",
    ) -> None:
        buf = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf += chunk
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
                self.received(frame, addr, transport)

    # ---- sending ------------------------------------------------------------------------

    def send(self, msg: Request | Response, dest: Address, transport: str = "udp") -> None:
        data = msg.to_bytes()
        if transport == "tls":
            conn = self._tls_conns.get(dest)
            if conn is not None and not conn.is_closing():
                conn.write(data)
            else:
                log.info("no TLS connection to %s:%s: %s not sent", dest[0], dest[1], _what(msg))
                if isinstance(msg, Request) and self.on_unreachable is not None:
                    # A transport error (RFC 3261 8.1.3.1), reported after this send returns.
                    asyncio.get_running_loop().call_soon(self._unreachable, data, dest)
            return
        if transport == "tcp":
            writer = self._conns.get(dest)
            if writer is not None and not writer.is_closing():
                writer.write(data)
            else:
                self._spawn(self._connect_and_send(dest, data))
            return
        if self._udp is not None:
            try:
                self._udp.sendto(data, dest)
            except OSError as exc:
                log.warning("UDP send to %s:%s failed: %s", dest[0], dest[1], exc)

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

    async def _connect_and_send(self, dest: Address, data: bytes) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*dest), 5)
        except (OSError, TimeoutError) as exc:
            log.warning("TCP connect to %s:%s failed: %s", dest[0], dest[1], exc)
            return
        self._conns[dest] = writer
        writer.write(data)
        try:
            await self._read_stream(reader, writer, dest)
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.info("TCP peer %s:%s dropped: %s", dest[0], dest[1], exc)
        finally:
            if self._conns.get(dest) is writer:
                del self._conns[dest]
            writer.close()


def _what(msg: Request | Response) -> str:
    return msg.method if isinstance(msg, Request) else f"{msg.status} response"
