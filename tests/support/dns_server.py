"""A small authoritative DNS server on 127.0.0.1 for tests, over asyncio UDP and TCP.

Zones are records given by the test as text, `server.add("_sip._udp.example.test", "SRV",
"10 0 5060 a.example.test", ttl=60)`; names are absolute (a final dot is optional). An
unknown name answers NXDOMAIN, a known name without the type answers NOERROR with no answer
(NODATA). `server.fail = "servfail"` answers SERVFAIL to everything, `"drop"` answers nothing
(a dead server); `server.queries` lists (name, type) asked, for asserting on caching.

Runs in its own thread with its own loop (`DnsServer.start()` / `stop()`, or as a context
manager), so it serves both asyncio tests and a server process under test.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import cast

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.support.rtp import free_udp_tcp_port


class DnsServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.records: dict[tuple[dns.name.Name, int], dns.rrset.RRset] = {}
        self.fail = ""  # "", "servfail" or "drop"
        self.queries: list[tuple[str, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._stop: asyncio.Event | None = None

    @property
    def address(self) -> str:
        """`host:port`, as RINGDESK_DNS_SERVERS takes it."""
        return f"{self.host}:{self.port}"

    def add(self, name: str, rdtype: str, text: str, ttl: int = 300) -> None:
        owner = dns.name.from_text(name)
        kind = dns.rdatatype.from_text(rdtype)
        rdata = dns.rdata.from_text(dns.rdataclass.IN, kind, text)
        with self._lock:
            rrset = self.records.get((owner, kind))
            if rrset is None:
                rrset = self.records[(owner, kind)] = dns.rrset.RRset(
                    owner, dns.rdataclass.IN, kind
                )
            rrset.add(rdata, ttl)
            rrset.update_ttl(ttl)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def count(self, name: str, rdtype: str) -> int:
        key = (name.lower().rstrip("."), rdtype)
        return sum(1 for q in self.queries if q == key)

    def answer(self, wire: bytes) -> bytes | None:
        """The response to one query in wire format (None: stay silent)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None  # not DNS: a real server would answer FORMERR; silence is enough
        if not query.question:
            return None
        question = query.question[0]
        self.queries.append(
            (
                question.name.to_text(omit_final_dot=True).lower(),
                dns.rdatatype.to_text(question.rdtype),
            )
        )
        if self.fail == "drop":
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if self.fail == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        with self._lock:
            rrset = self.records.get((question.name, question.rdtype))
            known = any(owner == question.name for owner, _ in self.records)
        if rrset is not None:
            response.answer.append(rrset)
        elif not known:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    # --- running --------------------------------------------------------------------------

    def start(self) -> DnsServer:
        self._thread = threading.Thread(target=self._run, name="dns-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test DNS server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop = asyncio.Event()
        server = self
        # UDP and TCP on one port (TCP for truncated answers), from this worker's block of test
        # ports: an ephemeral UDP port may be some connection's TCP port already, so a port is
        # tried again when either bind fails.
        for attempt in range(20):
            port = free_udp_tcp_port()
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Udp(server), local_addr=(self.host, port)
                )
            except OSError:
                continue
            try:
                tcp = await asyncio.start_server(self._tcp_client, self.host, port)
            except OSError:
                transport.close()
                if attempt == 19:
                    raise
                continue
            break
        else:
            raise RuntimeError("the test DNS server found no free port")
        self.port = port
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            transport.close()
            tcp.close()
            await tcp.wait_closed()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(2), "big")
                reply = self.answer(await reader.readexactly(size))
                if reply is None:
                    continue
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.server.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
