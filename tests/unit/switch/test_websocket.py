"""The switch's side of SIP over WebSocket (switch/websocket.py) without a web server: frames in
as transport "wss", answers out over the same peer, a request to a peer that is gone fails at
once as a transport error (never dialled), and closing drops the peer's bindings."""

from __future__ import annotations

import asyncio

from ringdesk.sip.message import Request, parse_message
from ringdesk.sip.registrar import Registrar
from ringdesk.switch.gate import Gate, GateSettings
from ringdesk.switch.transport import SipTransport
from ringdesk.switch.websocket import SipWebSockets, WsPeer

PEER = ("127.0.0.1", 40001)
REGISTER = (
    "REGISTER sip:ringdesk SIP/2.0\r\n"
    "Via: SIP/2.0/WSS abc.invalid;branch=z9hG4bKws1\r\n"
    "To: <sip:1001@ringdesk>\r\nFrom: <sip:1001@ringdesk>;tag=a\r\n"
    "Call-ID: ws-1\r\nCSeq: 1 REGISTER\r\n"
    "Contact: <sip:x@abc.invalid;transport=ws>;expires=600\r\nContent-Length: 0\r\n\r\n"
)


def test_frames_in_answers_back_and_a_gone_peer_fails_at_once() -> None:
    async def run() -> None:
        seen: list[tuple[str, tuple[str, int], str]] = []
        bounced: list[tuple[str, int]] = []
        transport = SipTransport(
            "127.0.0.1",
            0,
            lambda msg, src, tp: seen.append((getattr(msg, "method", ""), src, tp)),
            on_unreachable=lambda _data, dest: bounced.append(dest),
        )
        registrar = Registrar()
        changed: list[str] = []
        hub = SipWebSockets(transport, registrar, lambda: 100.0, lambda: changed.append("x"))
        written: list[bytes] = []
        closed: list[int] = []
        peer = WsPeer(
            PEER, "1001", "wss", lambda d: written.append(d) or True, lambda c, _r: closed.append(c)
        )
        hub.attach(peer)
        hub.frame(peer, REGISTER.encode())
        assert seen == [("REGISTER", PEER, "wss")]
        request = parse_message(REGISTER.encode())
        assert isinstance(request, Request)
        registrar.register("1001", request, PEER, "wss", 100.0)
        assert registrar.is_registered("1001", 100.0)
        transport.send(request, PEER, "wss")  # to the peer: over its socket
        assert written and written[0].startswith(b"REGISTER ")
        hub.detach(peer)  # the socket closed
        assert not registrar.is_registered("1001", 100.0) and changed == ["x"]
        transport.send(request, PEER, "wss")  # nobody to send to: a transport error
        await asyncio.sleep(0)
        assert bounced == [PEER] and len(written) == 1

    asyncio.run(run())


def test_an_office_behind_one_address_is_not_limited_per_source_but_the_total_holds() -> None:
    # 30 browser agents behind one NAT address: every socket needs a logged-in session's
    # ticket, so the TCP per-source limit (20) does not apply; the total limit does.
    gate = Gate(GateSettings(conn_per_source=20, conn_total=30))
    transport = SipTransport("127.0.0.1", 0, lambda *_: None, gate=gate)
    hub = SipWebSockets(transport, Registrar(), lambda: 100.0, lambda: None)
    for port in range(40000, 40030):
        addr = ("198.51.100.7", port)
        assert hub.admit(addr) is None, port
        hub.attach(WsPeer(addr, "1001", "wss", lambda _d: True, lambda _c, _r: None))
    assert hub.admit(("198.51.100.7", 40030)) == "too many connections"
    assert hub.admit(("203.0.113.9", 40000)) == "too many connections"
