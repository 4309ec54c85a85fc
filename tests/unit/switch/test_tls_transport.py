"""SIP over TLS in the switch: a TLS client's messages come in as "tls", answers and requests
go back over its connection, with our TLS Via and Contact; with the connection gone a request
fails at once; a plain-TCP client on the TLS port is closed and the TLS peers do not notice;
TLS registrations are not kept across a restart (persist.py)."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvloop

from ringdesk import tls
from ringdesk.core.telephony import RingAgent
from ringdesk.sip.message import Request, Response, make_response, parse_message
from ringdesk.sip.registrar import Binding
from ringdesk.sip.uri import parse_uri
from ringdesk.switch import Switch
from ringdesk.switch import transport as transport_module
from ringdesk.switch.persist import BindingsJournal, load_bindings
from ringdesk.switch.transport import SipTransport

from .harness import WAIT, Events, FakeDirectory, FakeMedia

OPTIONS = (
    "OPTIONS sip:ringdesk@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK{n}\r\n"
    "From: <sip:a@127.0.0.1>;tag=f{n}\r\nTo: <sip:ringdesk@127.0.0.1>\r\n"
    "Call-ID: c{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


@pytest.fixture
def certificate(tmp_path: Path) -> tls.Certificate:
    return tls.certificate(tmp_path, None, None, ["localhost", "127.0.0.1"])


def _client(cert: tls.Certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert.cert))


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
async def transport(certificate: tls.Certificate) -> AsyncIterator[tuple[SipTransport, Received]]:
    received = Received()
    transport = SipTransport(
        "127.0.0.1",
        0,
        received.on_message,
        on_unreachable=received.on_unreachable,
        tls=tls.context(certificate.cert, certificate.key),
        tls_port=0,
    )
    await transport.start()
    try:
        yield transport, received
    finally:
        await transport.stop()


async def _read_message(reader: asyncio.StreamReader) -> Request | Response:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(length[1])) if length else b""
    return parse_message(head + body, stream=True)


async def test_a_tls_peer_is_answered_and_reached_over_its_own_connection(
    transport: tuple[SipTransport, Received], certificate: tls.Certificate
) -> None:
    sip, received = transport
    assert sip.tls_port and sip.tls_port != sip.port
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", sip.tls_port, ssl=_client(certificate), server_hostname="127.0.0.1"
    )
    writer.write(OPTIONS.format(n=1).encode())
    msg, src, tp = await asyncio.wait_for(received.messages.get(), WAIT)
    assert tp == "tls" and isinstance(msg, Request) and msg.method == "OPTIONS"
    sip.send(make_response(msg, 200), src, "tls")
    answer = await _read_message(reader)
    assert isinstance(answer, Response) and answer.status == 200

    # A plain-TCP client on the TLS port speaks SIP: it is closed, with no SIP answer...
    plain_reader, plain_writer = await asyncio.open_connection("127.0.0.1", sip.tls_port)
    plain_writer.write(OPTIONS.format(n=2).encode())
    rest = await asyncio.wait_for(plain_reader.read(), WAIT)  # until the server closes
    assert b"SIP/2.0" not in rest
    plain_writer.close()
    # ... and the TLS peer still talks both ways.
    writer.write(OPTIONS.format(n=3).encode())
    again, _, tp = await asyncio.wait_for(received.messages.get(), WAIT)
    assert tp == "tls" and isinstance(again, Request) and again.call_id == "c3"
    sip.send(make_response(again, 200), src, "tls")
    assert (await _read_message(reader)).call_id == "c3"
    assert received.messages.empty()

    # The phone goes away: a request to it fails at once (we never dial out over TLS).
    writer.close()
    await asyncio.sleep(0.2)
    sip.send(parse_message(OPTIONS.format(n=4).encode()), src, "tls")
    data, dest = await asyncio.wait_for(received.unreachable.get(), WAIT)
    assert dest == src and b"Call-ID: c4" in data


def test_tls_clients_that_send_their_hello_at_once_are_served_under_uvloop(
    certificate: tls.Certificate,
) -> None:
    """The server runs on uvloop, which reads a new connection even when its protocol pauses
    reading in connection_made: the ClientHello must still reach the TLS layer."""

    async def run() -> list[int]:
        received = Received()
        sip = SipTransport(
            "127.0.0.1",
            0,
            received.on_message,
            tls=tls.context(certificate.cert, certificate.key),
        )
        await sip.start()
        statuses = []
        try:
            for n in range(5):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", sip.tls_port, ssl=_client(certificate), server_hostname="127.0.0.1"
                )
                writer.write(OPTIONS.format(n=n).encode())
                msg, src, _tp = await asyncio.wait_for(received.messages.get(), WAIT)
                assert isinstance(msg, Request)
                sip.send(make_response(msg, 200), src, "tls")
                answer = await _read_message(reader)
                assert isinstance(answer, Response)
                statuses.append(answer.status)
                writer.close()
        finally:
            await sip.stop()
        return statuses

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(run()) == [200] * 5


async def test_a_peer_that_never_completes_the_handshake_is_dropped(
    certificate: tls.Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_module, "TLS_HANDSHAKE_TIMEOUT", 0.5)
    received = Received()
    sip = SipTransport(
        "127.0.0.1",
        0,
        received.on_message,
        tls=tls.context(certificate.cert, certificate.key),
    )
    await sip.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", sip.tls_port)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # silent: closed on us
        assert loop.time() - started < 5
        writer.close()
    finally:
        await sip.stop()


async def test_the_switch_advertises_its_tls_port_on_tls(
    tmp_path: Path, certificate: tls.Certificate
) -> None:
    switch = Switch(
        "127.0.0.1",
        0,
        directory=FakeDirectory(tmp_path),
        sink=Events(),
        data_dir=tmp_path,
        media=FakeMedia(),
        tls=tls.context(certificate.cert, certificate.key),
        tls_port=0,
    )
    await switch.start()
    try:
        tls_port = switch.tls_port
        assert tls_port is not None and tls_port != switch.local_port
        assert switch.stack.via("tls").startswith(f"SIP/2.0/TLS 127.0.0.1:{tls_port};branch=")
        assert switch.stack.via("udp").startswith(f"SIP/2.0/UDP 127.0.0.1:{switch.local_port};")
        assert switch.state.contact("tls") == f"<sip:ringdesk@127.0.0.1:{tls_port};transport=tls>"
        assert switch.state.contact("tcp").endswith(f":{switch.local_port};transport=tcp>")
    finally:
        await switch.stop()


async def test_a_phone_with_a_sips_contact_is_rung_with_a_sips_contact_over_its_connection(
    tmp_path: Path, certificate: tls.Certificate
) -> None:
    events = Events()
    switch = Switch(
        "127.0.0.1",
        0,
        directory=FakeDirectory(tmp_path),
        sink=events,
        data_dir=tmp_path,
        media=FakeMedia(),
        tls=tls.context(certificate.cert, certificate.key),
    )
    await switch.start()
    try:
        tls_port = switch.tls_port
        assert tls_port is not None
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", tls_port, ssl=_client(certificate), server_hostname="127.0.0.1"
        )
        here = writer.get_extra_info("sockname")
        writer.write(OPTIONS.format(n=9).encode())  # the switch has the connection once it answers
        answered = await _read_message(reader)
        assert isinstance(answered, Response) and answered.status == 200
        register = parse_message(
            (
                f"REGISTER sips:127.0.0.1:{tls_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS 127.0.0.1:{here[1]};branch=z9hG4bKreg1\r\n"
                "From: <sips:1001@127.0.0.1>;tag=r1\r\nTo: <sips:1001@127.0.0.1>\r\n"
                "Call-ID: reg-sips\r\nCSeq: 1 REGISTER\r\n"
                f"Contact: <sips:1001@127.0.0.1:{here[1]}>\r\nExpires: 300\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
        )
        assert isinstance(register, Request)
        # Registered as the digest check would leave it (that path is the e2e tests').
        result = switch.registrar.register(
            "1001", register, (here[0], here[1]), "tls", switch.stack.now()
        )
        assert result.status == 200
        switch.execute(RingAgent("c1", "agent-leg", 1, "1001"))
        invite = await _read_message(reader)
        assert isinstance(invite, Request) and invite.method == "INVITE"
        assert invite.uri.scheme == "sips"
        assert invite.headers.get("contact") == f"<sips:ringdesk@127.0.0.1:{tls_port}>"
        assert (invite.headers.get("via") or "").startswith(f"SIP/2.0/TLS 127.0.0.1:{tls_port};")
        writer.close()
    finally:
        await switch.stop()


def test_tls_and_tcp_registrations_are_not_restored_after_a_restart(tmp_path: Path) -> None:
    def binding(cti_id: str, transport: str) -> Binding:
        return Binding(
            cti_id,
            parse_uri(f"sip:{cti_id}@127.0.0.1:5070"),
            100.0,
            "c",
            1,
            ("127.0.0.1", 5070),
            transport,
        )

    path = tmp_path / "sip-registrations.json"
    held = [binding("1001", "tls"), binding("1002", "tcp"), binding("1003", "udp")]
    BindingsJournal(path, lambda: held, lambda: 0.0).flush(wait=True)  # what the switch writes
    assert [b.cti_id for b in load_bindings(path, 0.0)] == ["1003"]
