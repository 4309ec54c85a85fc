"""TLS and TCP toward a trunk as the switch dials them (switch/transport.py `dial_as`, `_dial`):
the certificate is checked against a test CA and the trunk's host name (sent as SNI; a numeric
host against the certificate's IP addresses); messages sent while connecting wait for the
connection and everything to that address then shares it both ways; a failed connect or a
certificate for another name is a transport error at once, with its reason; a trunk call over
TLS is answered and hung up by the provider on the connection we opened, and one whose trunk's
certificate does not match moves to the next trunk at once."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringdesk import tls
from ringdesk.core.telephony import LegAnswered, LegHungUp, Originate
from ringdesk.sip.message import Request, Response, make_response, parse_message
from ringdesk.switch import Switch
from ringdesk.switch.lookup import TrunkSettings
from ringdesk.switch.srtp import SrtpOffer
from ringdesk.switch.transport import SipTransport
from tests.support.certs import TestCa

from .harness import WAIT, Events, FakeDirectory, FakeMedia, Peer, sdp

OPTIONS = (
    "OPTIONS sip:trunk.test SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK{n}\r\n"
    "From: <sip:ringdesk@127.0.0.1>;tag=f{n}\r\nTo: <sip:trunk.test>\r\n"
    "Call-ID: c{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


class TlsPeer:
    """A provider's TLS server on loopback: records SNI, connections and messages."""

    def __init__(self, context: ssl.SSLContext, tls_on: bool = True) -> None:
        self.context = context
        self.tls_on = tls_on
        self.sni: list[str | None] = []
        self.connections = 0
        self.messages: asyncio.Queue[Request | Response] = asyncio.Queue()
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0
        self._server: asyncio.Server | None = None

        def on_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            self.sni.append(name)

        context.sni_callback = on_sni  # type: ignore[assignment]

    async def start(self) -> TlsPeer:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.context if self.tls_on else None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self.writers:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                body = await reader.readexactly(int(found[1])) if found else b""
                self.messages.put_nowait(parse_message(head + body, stream=True))
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            return

    def send(self, msg: Request | Response, connection: int = -1) -> None:
        self.writers[connection].write(msg.to_bytes())

    async def request(self, method: str) -> Request:
        while True:
            msg = await asyncio.wait_for(self.messages.get(), WAIT)
            if isinstance(msg, Request) and msg.method == method:
                return msg


class Received:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[tuple[Request | Response, tuple[str, int], str]] = (
            asyncio.Queue()
        )
        self.unreachable: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def on_message(self, msg: Request | Response, src: tuple[str, int], tp: str) -> None:
        self.messages.put_nowait((msg, src, tp))

    def on_unreachable(self, data: bytes, dest: tuple[str, int]) -> None:
        self.unreachable.put_nowait((data, dest))


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path)


@pytest.fixture
async def transport(ca: TestCa) -> AsyncIterator[tuple[SipTransport, Received]]:
    received = Received()
    transport = SipTransport(
        "127.0.0.1",
        0,
        received.on_message,
        on_unreachable=received.on_unreachable,
        client_tls=tls.client_context(ca.cert_path),
    )
    await transport.start()
    try:
        yield transport, received
    finally:
        await transport.stop()


def _options(n: int) -> Request:
    msg = parse_message(OPTIONS.format(n=n).encode())
    assert isinstance(msg, Request)
    return msg


async def test_tls_is_dialled_for_the_trunk_name_and_the_connection_is_shared(
    ca: TestCa, transport: tuple[SipTransport, Received]
) -> None:
    sip, received = transport
    peer = await TlsPeer(ca.server_context(["trunk.test"])).start()
    try:
        dest = ("127.0.0.1", peer.port)
        sip.dial_as(dest, "trunk.test")
        sip.send(_options(1), dest, "tls")
        sip.send(_options(2), dest, "tls")  # while the first one's connection is being made
        first, second = await peer.request("OPTIONS"), await peer.request("OPTIONS")
        assert (first.call_id, second.call_id) == ("c1", "c2")
        assert peer.sni == ["trunk.test"]  # SNI is the trunk's host name
        peer.send(make_response(first, 200, to_tag="t"))
        msg, src, tp = await asyncio.wait_for(received.messages.get(), WAIT)
        assert isinstance(msg, Response) and msg.status == 200
        assert (src, tp) == (dest, "tls")  # the answer came back on our connection
        sip.send(_options(3), dest, "tls")
        assert (await peer.request("OPTIONS")).call_id == "c3"
        assert peer.connections == 1
        assert sip.dial_error(dest, "tls") is None
        assert received.unreachable.empty()
    finally:
        await peer.stop()


async def test_a_numeric_trunk_is_checked_against_the_certificates_ip_address(
    ca: TestCa, transport: tuple[SipTransport, Received]
) -> None:
    sip, received = transport
    good = await TlsPeer(ca.server_context(["127.0.0.1"])).start()
    named = await TlsPeer(ca.server_context(["trunk.test"])).start()
    try:
        for peer in (good, named):
            sip.dial_as(("127.0.0.1", peer.port), "127.0.0.1")
            sip.send(_options(peer.port), ("127.0.0.1", peer.port), "tls")
        assert (await good.request("OPTIONS")).call_id == f"c{good.port}"
        assert not any(good.sni)  # no SNI for an IP address (RFC 6066 3)
        data, dest = await asyncio.wait_for(received.unreachable.get(), WAIT)
        assert dest == ("127.0.0.1", named.port) and b"OPTIONS" in data
        why = sip.dial_error(dest, "tls") or ""
        assert "certificate not accepted" in why and "127.0.0.1" in why, why
        assert named.messages.empty()
    finally:
        await good.stop()
        await named.stop()


async def test_a_certificate_for_another_name_or_from_an_unknown_ca_is_refused_at_once(
    ca: TestCa, transport: tuple[SipTransport, Received], tmp_path: Path
) -> None:
    sip, received = transport
    other = await TlsPeer(ca.server_context(["other.test"])).start()
    stranger = await TlsPeer(
        TestCa(tmp_path, "Someone else").server_context(["trunk.test"])
    ).start()
    try:
        started = time.monotonic()
        for peer in (other, stranger):
            sip.dial_as(("127.0.0.1", peer.port), "trunk.test")
            sip.send(_options(peer.port), ("127.0.0.1", peer.port), "tls")
        failed = {
            (await asyncio.wait_for(received.unreachable.get(), WAIT))[1][1] for _ in range(2)
        }
        assert failed == {other.port, stranger.port}
        assert time.monotonic() - started < WAIT
        mismatch = sip.dial_error(("127.0.0.1", other.port), "tls") or ""
        unknown = sip.dial_error(("127.0.0.1", stranger.port), "tls") or ""
        assert "Hostname mismatch" in mismatch, mismatch
        assert "unable to get local issuer certificate" in unknown, unknown
        assert other.messages.empty() and stranger.messages.empty()
    finally:
        await other.stop()
        await stranger.stop()


async def test_tcp_connect_refused_is_a_transport_error_at_once(
    transport: tuple[SipTransport, Received],
) -> None:
    sip, received = transport
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()  # nothing listens there now
    sip.send(_options(9), ("127.0.0.1", port), "tcp")
    data, dest = await asyncio.wait_for(received.unreachable.get(), 2)
    assert dest == ("127.0.0.1", port) and b"Call-ID: c9" in data
    assert sip.dial_error(dest, "tcp") == "connection refused"


# --- the switch: a call to a TLS trunk, and failover past one whose name does not match -----


@pytest.fixture
async def tls_switch(
    tmp_path: Path, ca: TestCa
) -> AsyncIterator[tuple[Switch, FakeDirectory, Events]]:
    directory = FakeDirectory(tmp_path)
    events = Events()
    # Plain RTP offers to the trunk: the test peer answers RTP/AVP (over TLS the default
    # would offer SRTP, and a plain answer to that hangs up).
    switch = Switch(
        "127.0.0.1",
        0,
        directory=directory,
        sink=events,
        data_dir=tmp_path,
        media=FakeMedia(),
        srtp=SrtpOffer(trunk="off"),
    )
    switch.stack.transport.client_tls = tls.client_context(ca.cert_path)
    await switch.start()
    try:
        yield switch, directory, events
    finally:
        await switch.stop()


async def test_a_call_to_a_tls_trunk_runs_on_the_connection_we_opened(
    ca: TestCa, tls_switch: tuple[Switch, FakeDirectory, Events]
) -> None:
    sw, directory, events = tls_switch
    peer = await TlsPeer(ca.server_context(["127.0.0.1"])).start()
    try:
        directory.trunk_list = (
            TrunkSettings(host="127.0.0.1", port=peer.port, transport="tls", name="secure", id=1),
        )
        sw.execute(Originate("c1", "out-leg", "+49301234567", "+49305550100"))
        invite = await peer.request("INVITE")
        assert (invite.headers.get("via") or "").startswith("SIP/2.0/TLS ")
        assert str(invite.uri) == f"sip:+49301234567@127.0.0.1:{peer.port};transport=tls"
        assert "transport=tls" in (invite.headers.get("contact") or "")
        contact = f"<sip:trunk@127.0.0.1:{peer.port};transport=tls>"
        ok = make_response(
            invite, 200, to_tag="tt", headers=[("Contact", contact), ("Content-Type", "x")]
        )
        ok.headers.set("content-type", "application/sdp")
        ok.body = sdp(40000).encode()
        peer.send(ok)
        await events.wait_for(LegAnswered)
        assert (await peer.request("ACK")).call_id == invite.call_id
        # The provider hangs up: its BYE comes over the same connection and is answered there.
        bye = parse_message(
            (
                f"BYE sip:ringdesk@127.0.0.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS 127.0.0.1:{peer.port};branch=z9hG4bKbye1\r\n"
                f"From: {ok.headers.get('to')}\r\nTo: {invite.headers.get('from')}\r\n"
                f"Call-ID: {invite.call_id}\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
        )
        assert isinstance(bye, Request)
        peer.send(bye)
        await events.wait_for(LegHungUp)
        answer = await asyncio.wait_for(peer.messages.get(), WAIT)
        assert isinstance(answer, Response) and answer.status == 200
        assert peer.connections == 1
    finally:
        await peer.stop()


async def test_a_trunk_whose_certificate_names_another_host_fails_over_at_once(
    ca: TestCa, tls_switch: tuple[Switch, FakeDirectory, Events]
) -> None:
    sw, directory, _events = tls_switch
    wrong = await TlsPeer(ca.server_context(["not-the-trunk.test"])).start()
    backup = await Peer().open(("127.0.0.1", sw.local_port))
    try:
        directory.trunk_list = (
            TrunkSettings(host="127.0.0.1", port=wrong.port, transport="tls", name="a", id=1),
            TrunkSettings(host="127.0.0.1", port=backup.port, name="b", id=2, priority=2),
        )
        started = time.monotonic()
        sw.execute(Originate("c1", "out-leg", "+49301234567", "+49305550100"))
        invite = await backup.expect_request("INVITE")
        assert time.monotonic() - started < WAIT  # not after a transaction timeout (32 s)
        assert (invite.headers.get("via") or "").startswith("SIP/2.0/UDP ")
        assert wrong.messages.empty()  # nothing was sent over the refused connection
        error, located = sw.trunk_status(1)
        assert error is not None and "certificate not accepted" in error, error
        assert located == []
        assert sw.trunk_status(2) == (None, [])
    finally:
        await wrong.stop()
        backup.close()


async def test_the_registration_and_its_refresh_share_the_tls_connection_we_opened(
    ca: TestCa, tls_switch: tuple[Switch, FakeDirectory, Events]
) -> None:
    sw, directory, _events = tls_switch
    peer = await TlsPeer(ca.server_context(["127.0.0.1"])).start()
    try:
        directory.trunk_list = (
            TrunkSettings(
                host="127.0.0.1",
                port=peer.port,
                transport="tls",
                name="registered",
                id=3,
                register=True,
                username="acct",
                password="pw",
            ),
        )
        for n in (1, 2):  # the first REGISTER, then its refresh (the registrar grants 2 s)
            register = await asyncio.wait_for(peer.request("REGISTER"), 5)
            assert (register.headers.get("via") or "").startswith("SIP/2.0/TLS ")
            assert "transport=tls" in (register.headers.get("contact") or "")
            assert register.cseq[0] == n
            contact = f"{register.headers.get('contact')};expires=2"
            peer.send(make_response(register, 200, to_tag="r", headers=[("Contact", contact)]))
        assert peer.connections == 1
        status = sw.trunk_registrations.status(3)
        assert status is not None and status.last_error is None
    finally:
        await peer.stop()
