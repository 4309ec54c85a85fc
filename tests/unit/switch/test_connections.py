"""SIP over TCP and TLS is no easy denial of service (transport.py, issue #9): a message that
never finishes (RFC 4475 "clerr", a slowloris) and a connection that stays silent are closed,
a TLS handshake has a deadline, and connections are limited per source address and in all,
with a source that keeps trying banned through the gate; meanwhile a registered phone's
connection and the call on it stay up. Real sockets on loopback; the attackers come from other
loopback addresses (127.0.0.2...) so they are other sources than the phone (127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringdesk import config, tls
from ringdesk.core.telephony import CallArrived, HangUp, LegAnswered, RingAgent
from ringdesk.runtime.runtime import gate_settings
from ringdesk.sip.message import Request, Response, make_response, parse_message
from ringdesk.switch import Switch
from ringdesk.switch.gate import Gate, GateSettings

from .harness import WAIT, Events, FakeDirectory, FakeMedia, answer_auth, sdp

SHORT = {"message_timeout": 0.5, "conn_idle": 1.0}


class StreamPeer:
    """A SIP peer over one TCP (or TLS) connection from a chosen loopback address."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.host, self.port = writer.get_extra_info("sockname")[:2]

    @classmethod
    async def connect(
        cls, port: int, source: str = "127.0.0.1", context: ssl.SSLContext | None = None
    ) -> StreamPeer:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                "127.0.0.1",
                port,
                local_addr=(source, 0),
                ssl=context,
                server_hostname="127.0.0.1" if context else None,
            ),
            WAIT,
        )
        return cls(reader, writer)

    def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)

    async def message(self) -> Request | Response:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), WAIT)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await asyncio.wait_for(self.reader.readexactly(length), WAIT) if length else b""
        return parse_message(head + body, stream=True)

    async def closed(self, timeout: float = WAIT) -> None:
        """Returns once the switch has closed the connection (reset or end of stream)."""

        async def drain() -> None:
            try:
                while await self.reader.read(65536):
                    pass
            except (ConnectionResetError, ssl.SSLError):
                pass

        await asyncio.wait_for(drain(), timeout)

    async def still_open(self, seconds: float) -> None:
        """Nothing arrives and the connection is not closed for `seconds`."""
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(self.reader.read(1), seconds)

    def options(self, n: int, transport: str = "TCP") -> str:
        return (
            f"OPTIONS sip:ringdesk@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} {self.host}:{self.port};branch=z9hG4bKopt{n}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:probe@{self.host}>;tag=o{n}\r\n"
            f"To: <sip:ringdesk@127.0.0.1>\r\nCall-ID: opt-{self.port}-{n}\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )

    async def answered(self, n: int = 1, transport: str = "TCP") -> None:
        """An OPTIONS over the connection is answered: it was accepted and is alive."""
        self.send(self.options(n, transport))
        reply = await self.message()
        assert isinstance(reply, Response) and reply.status == 200

    def close(self) -> None:
        self.writer.close()


def _switch(tmp_path: Path, events: Events, **gate: object) -> Switch:
    return Switch(
        "127.0.0.1",
        0,
        directory=FakeDirectory(tmp_path),
        sink=events,
        data_dir=tmp_path,
        media=FakeMedia(),
        gate=GateSettings(**gate),  # type: ignore[arg-type]
    )


@pytest.fixture
async def events() -> Events:
    return Events()


async def _started(switch: Switch) -> AsyncIterator[Switch]:
    await switch.start()
    try:
        yield switch
    finally:
        await switch.stop()


@pytest.fixture
async def short(tmp_path: Path, events: Events) -> AsyncIterator[Switch]:
    """A switch with a 0.5 s message timeout and a 1 s idle limit."""
    async for switch in _started(_switch(tmp_path, events, **SHORT)):
        yield switch


async def _registered_phone(switch: Switch) -> StreamPeer:
    phone = await StreamPeer.connect(switch.local_port)
    ruri = f"sip:127.0.0.1:{switch.local_port}"

    def register(cseq: int, extra: str = "") -> str:
        return (
            f"REGISTER {ruri};transport=tcp SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:{phone.port};branch=z9hG4bKreg{cseq}\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:1001@ringdesk.local>;tag=rt\r\n"
            f"To: <sip:1001@ringdesk.local>\r\nCall-ID: reg-{phone.port}\r\n"
            f"CSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:1001@127.0.0.1:{phone.port};transport=tcp>\r\nExpires: 600\r\n"
            f"{extra}Content-Length: 0\r\n\r\n"
        )

    phone.send(register(1))
    challenge = await phone.message()
    assert isinstance(challenge, Response) and challenge.status == 401
    phone.send(
        register(2, answer_auth(challenge, "1001", "phone1001-demo", f"{ruri};transport=tcp"))
    )
    ok = await phone.message()
    assert isinstance(ok, Response) and ok.status == 200
    assert switch.is_registered("1001")
    return phone


async def _call_on(switch: Switch, events: Events, phone: StreamPeer) -> str:
    """The switch rings the phone over its connection and the phone answers: a call on it."""
    switch.execute(RingAgent("c1", "l1", 2, "1001"))
    invite = await phone.message()
    assert isinstance(invite, Request) and invite.method == "INVITE"
    ok = make_response(
        invite,
        200,
        to_tag="agenttag",
        headers=[
            ("Contact", f"<sip:1001@127.0.0.1:{phone.port};transport=tcp>"),
            ("Content-Type", "application/sdp"),
        ],
        body=sdp(31000).encode(),
    )
    phone.send(ok.to_bytes())
    ack = await phone.message()
    assert isinstance(ack, Request) and ack.method == "ACK"
    while not isinstance(await events.wait_for(LegAnswered), LegAnswered):
        pass
    return invite.call_id


async def _call_still_up(switch: Switch, phone: StreamPeer, call_id: str) -> None:
    """Hanging up reaches the phone as a BYE over its connection, which it answers."""
    assert "l1" in switch.legs
    switch.execute(HangUp("c1", "l1"))
    bye = await phone.message()
    assert isinstance(bye, Request) and bye.method == "BYE" and bye.call_id == call_id
    phone.send(make_response(bye, 200).to_bytes())


async def test_an_unfinished_message_is_closed_while_a_registered_phone_and_its_call_stay_up(
    short: Switch, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ringdesk.switch.transport")
    phone = await _registered_phone(short)
    call_id = await _call_on(short, events, phone)

    # RFC 4475 3.1.2.17 (clerr) over TCP: the Content-Length promises more than ever comes.
    loop = asyncio.get_running_loop()
    clerr = [await StreamPeer.connect(short.local_port, "127.0.0.2") for _ in range(2)]
    started = loop.time()
    for n, attacker in enumerate(clerr):
        attacker.send(attacker.options(n).replace("Content-Length: 0", "Content-Length: 300"))
        attacker.send("only part of the body")
    for attacker in clerr:
        await attacker.closed()
    assert loop.time() - started >= 0.45  # the message timeout, not at once
    counts = short.stack.transport.counts
    assert counts["message_timeout"] == 2
    unfinished = [r for r in caplog.records if "a message unfinished" in r.getMessage()]
    assert len(unfinished) == 1 and "127.0.0.2" in unfinished[0].getMessage()  # once per source

    # Silent for well over the idle limit: the registration and the call keep the phone's.
    await phone.still_open(2.5)
    assert counts["idle_timeout"] == 0
    await _call_still_up(short, phone, call_id)
    await phone.answered()
    phone.close()


async def test_silent_and_ping_only_connections_are_closed_but_a_waiting_call_is_not(
    short: Switch, events: Events
) -> None:
    loop = asyncio.get_running_loop()
    silent = await StreamPeer.connect(short.local_port, "127.0.0.2")
    pinger = await StreamPeer.connect(short.local_port, "127.0.0.3")
    customer = await StreamPeer.connect(short.local_port, "127.0.0.4")
    started = loop.time()
    customer.send(
        f"INVITE sip:5550100@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.4:{customer.port};branch=z9hG4bKinv1\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:5551234@127.0.0.4>;tag=cust\r\n"
        "To: <sip:5550100@127.0.0.1>\r\nCall-ID: queued-1\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:5551234@127.0.0.4:{customer.port};transport=tcp>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(sdp(30000))}\r\n\r\n" + sdp(30000)
    )
    trying = await customer.message()
    assert isinstance(trying, Response) and trying.status == 100
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)

    # RFC 5626 keep-alives are answered with a single CRLF, but do not keep a connection
    # that carries nothing else open.
    async def ping() -> None:
        while True:
            pinger.send(b"\r\n\r\n")
            assert await asyncio.wait_for(pinger.reader.readexactly(2), WAIT) == b"\r\n"
            await asyncio.sleep(0.2)

    pings = asyncio.ensure_future(ping())
    await silent.closed()
    with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
        await pings
    assert loop.time() - started >= 0.9
    assert short.stack.transport.counts["idle_timeout"] == 2

    # The caller waiting in the queue sent nothing for as long: its call keeps it open.
    await customer.still_open(1.5)
    short.execute(HangUp(arrived.call_id, arrived.leg_id))
    final = await customer.message()
    assert isinstance(final, Response) and final.status >= 400
    assert short.stack.transport.counts["idle_timeout"] == 2
    # Its call over, the connection is an idle one like any other.
    await customer.closed()
    assert short.stack.transport.counts["idle_timeout"] == 3


async def test_the_21st_connection_from_a_source_is_closed_at_once_and_a_call_goes_on(
    tmp_path: Path, events: Events
) -> None:
    async for switch in _started(_switch(tmp_path, events)):  # the defaults: 20 a source
        phone = await _registered_phone(switch)
        call_id = await _call_on(switch, events, phone)
        others = [await StreamPeer.connect(switch.local_port) for _ in range(19)]
        await others[-1].answered()
        counts = switch.stack.transport.counts
        assert switch.stack.transport.open_connections == 20 and counts["refused_per_source"] == 0

        loop = asyncio.get_running_loop()
        started = loop.time()
        extra = await StreamPeer.connect(switch.local_port)
        await extra.closed()
        assert loop.time() - started < 5  # refused, not timed out (30 s)
        assert counts["refused_per_source"] == 1
        assert switch.gate.bans(time.time()) == []  # one refusal is no ban

        # Another source is not affected, and a connection closed frees a place.
        other_source = await StreamPeer.connect(switch.local_port, "127.0.0.2")
        await other_source.answered()
        others.pop().close()
        for _ in range(50):
            if switch.stack.transport.open_connections == 20:
                break
            await asyncio.sleep(0.05)
        again = await StreamPeer.connect(switch.local_port)
        await again.answered()
        await _call_still_up(switch, phone, call_id)
        for peer in [*others, other_source, again, phone]:
            peer.close()


async def test_a_source_that_keeps_trying_is_banned_and_trusted_ones_are_not_limited(
    tmp_path: Path, events: Events
) -> None:
    settings = {"conn_per_source": 2, "conn_strikes": 3, "trusted": ("127.0.0.3",)}
    async for switch in _started(_switch(tmp_path, events, **settings)):
        kept = [await StreamPeer.connect(switch.local_port, "127.0.0.2") for _ in range(2)]
        for _ in range(3):
            refused = await StreamPeer.connect(switch.local_port, "127.0.0.2")
            await refused.closed()
        bans = switch.gate.bans(time.time())
        assert [(b.address, b.reason) for b in bans] == [("127.0.0.2", "connections")]
        for peer in kept:
            peer.close()
        await asyncio.sleep(0.2)
        banned = await StreamPeer.connect(switch.local_port, "127.0.0.2")
        await banned.closed()
        counts = switch.stack.transport.counts
        assert counts["refused_per_source"] == 3 and counts["refused_banned"] == 1

        trusted = [await StreamPeer.connect(switch.local_port, "127.0.0.3") for _ in range(4)]
        for n, peer in enumerate(trusted):
            await peer.answered(n)
        assert counts["refused_per_source"] == 3
        for peer in trusted:
            peer.close()


async def test_connections_beyond_the_total_are_refused(tmp_path: Path, events: Events) -> None:
    async for switch in _started(_switch(tmp_path, events, conn_total=3)):
        peers = [await StreamPeer.connect(switch.local_port, f"127.0.0.{n}") for n in (2, 3, 4)]
        late = await StreamPeer.connect(switch.local_port, "127.0.0.5")
        await late.closed()
        assert switch.stack.transport.counts["refused_total"] == 1
        for n, peer in enumerate(peers):
            await peer.answered(n)
            peer.close()


async def test_a_stalled_tls_handshake_is_closed_and_counts_against_the_source(
    tmp_path: Path, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ringdesk.switch.transport")
    cert = tls.certificate(tmp_path, None, None, ["localhost", "127.0.0.1"])
    switch = Switch(
        "127.0.0.1",
        0,
        directory=FakeDirectory(tmp_path),
        sink=events,
        data_dir=tmp_path,
        media=FakeMedia(),
        gate=GateSettings(tls_handshake_timeout=1.0, conn_per_source=2),
        tls=tls.context(cert.cert, cert.key),
    )
    async for _ in _started(switch):
        port = switch.tls_port
        assert port is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Two peers that open a TCP connection to the TLS port and say nothing, or only the
        # first bytes of a TLS record: each holds a place of its source until the deadline.
        stalled = [await StreamPeer.connect(port, "127.0.0.2") for _ in range(2)]
        stalled[1].send(b"\x16\x03\x01\x02")
        third = await StreamPeer.connect(port, "127.0.0.2")
        await third.closed()
        transport = switch.stack.transport
        assert transport.counts["refused_per_source"] == 1  # before any handshake
        for peer in stalled:
            await peer.closed()
        assert loop.time() - started >= 0.9
        assert transport.counts["handshake_timeout"] == 2
        assert (
            sum("TLS handshake from 127.0.0.2 timed out" in r.getMessage() for r in caplog.records)
            == 1
        )

        # The places are free again; a real TLS client is served, its CRLF pings answered.
        client = await StreamPeer.connect(
            port, "127.0.0.2", ssl.create_default_context(cafile=str(cert.cert))
        )
        client.send(b"\r\n\r\n")
        assert await asyncio.wait_for(client.reader.readexactly(2), WAIT) == b"\r\n"
        await client.answered(transport="TLS")
        assert transport.open_connections == 1
        client.close()


def test_strikes_within_the_window_ban_and_trusted_sources_never_get_any() -> None:
    gate = Gate(GateSettings(conn_strikes=3, conn_strike_window=60.0, trusted=("10.0.0.9",)))
    assert not gate.connection_strike(("10.0.0.1", 5000), 0.0)
    assert not gate.connection_strike(("10.0.0.1", 5001), 30.0)
    assert not gate.connection_strike(("10.0.0.1", 5002), 65.0)  # the first one is too old
    assert gate.connection_strike(("10.0.0.1", 5003), 66.0)
    assert [b.reason for b in gate.bans(67.0)] == ["connections"]
    for n in range(10):
        assert not gate.connection_strike(("10.0.0.9", 5000 + n), 1.0)
    assert not gate.banned("10.0.0.9", 2.0)


def test_the_connection_settings_come_from_flags_and_environment() -> None:
    env = {
        "RINGDESK_SIP_CONN_PER_SOURCE": "50",
        "RINGDESK_SIP_CONN_TOTAL": "500",
        "RINGDESK_SIP_MESSAGE_TIMEOUT": "5",
        "RINGDESK_SIP_CONN_IDLE": "90",
        "RINGDESK_SIP_TLS_HANDSHAKE_TIMEOUT": "4",
        "RINGDESK_SIP_CONN_STRIKES": "7",
    }
    gate = gate_settings(config.load(None, env))
    assert (gate.conn_per_source, gate.conn_total, gate.conn_strikes) == (50, 500, 7)
    assert (gate.message_timeout, gate.conn_idle, gate.tls_handshake_timeout) == (5.0, 90.0, 4.0)
    defaults = gate_settings(config.load(None, {}))
    assert defaults == GateSettings()
    with pytest.raises(SystemExit, match="RINGDESK_SIP_CONN_IDLE"):
        config.load(None, {"RINGDESK_SIP_CONN_IDLE": "0"})
