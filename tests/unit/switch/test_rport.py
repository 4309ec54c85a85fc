"""RFC 3581 on a real SIP stack over loopback: a request whose Via names another address
(a phone's private one, behind a NAT) and asks for rport is answered at the address and port it
really came from, with `received` and `rport` filled in; our own requests carry `;rport`."""

from __future__ import annotations

import asyncio
import socket

from ringdesk.sip.message import Request, Response, make_response, parse_message
from ringdesk.sip.transaction import ServerTransaction
from ringdesk.sip.uri import parse_via
from ringdesk.switch.stack import RequestHandler, SipStack
from ringdesk.switch.transport import Address


class _Answer(RequestHandler):
    stack: SipStack

    def on_request(
        self, req: Request, txn: ServerTransaction | None, src: Address, tp: str
    ) -> None:
        assert txn is not None
        self.stack.respond(txn, make_response(req, 200))


def _options(via: str, port: int) -> bytes:
    return (
        f"OPTIONS sip:ringdesk@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {via};branch=z9hG4bK-nat-1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:1001@ringdesk.test>;tag=a1\r\n"
        "To: <sip:ringdesk@ringdesk.test>\r\n"
        "Call-ID: nat-test-1\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def test_the_answer_goes_to_the_real_source_with_received_and_rport() -> None:
    handler = _Answer()
    stack = SipStack("127.0.0.1", 0, handler)
    handler.stack = stack
    await stack.start()
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    phone.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        phone.sendto(_options("192.168.1.20:5060;rport", stack.port), ("127.0.0.1", stack.port))
        data, _ = await asyncio.wait_for(loop.sock_recvfrom(phone, 4096), 5)
        response = parse_message(data)
        assert isinstance(response, Response) and response.status == 200
        via = parse_via(response.headers.get("via") or "")
        params = dict(via.params)
        assert params["received"] == "127.0.0.1"
        assert params["rport"] == str(phone.getsockname()[1])
        assert (via.host, via.port) == ("192.168.1.20", 5060)  # the phone's own words kept
        assert stack.via("udp").endswith(";rport")
    finally:
        phone.close()
        await stack.stop()
