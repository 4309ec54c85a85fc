"""Keep-alive OPTIONS to phones registered over UDP (switch/keepalive.py), on a real SIP stack
over loopback: a phone that answers keeps its binding; one whose source no longer answers
(here a closed port, so the ICMP error fails each OPTIONS at once instead of after 32 s) loses
it after three in a row, which reports it unregistered."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from ringdesk.sip.message import Request, make_response, parse_message
from ringdesk.sip.registrar import Binding, Registrar
from ringdesk.sip.transaction import ServerTransaction
from ringdesk.sip.uri import SipUri
from ringdesk.switch.keepalive import KeepAlive
from ringdesk.switch.stack import RequestHandler, SipStack
from ringdesk.switch.transport import Address


class _Nobody(RequestHandler):
    def on_request(
        self, req: Request, txn: ServerTransaction | None, src: Address, tp: str
    ) -> None:
        pass


def _binding(port: int, now: float) -> Binding:
    uri = SipUri(host="192.168.1.20", port=5060, user="1001")  # a private Contact: unused
    return Binding("1001", uri, now + 3600, "reg-call", 1, ("127.0.0.1", port), "udp")


async def _until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_a_phone_that_answers_keeps_its_binding_one_that_is_gone_loses_it() -> None:
    changes: list[tuple[str, bool]] = []
    registrar = Registrar(on_change=lambda cti, up: changes.append((cti, up)))
    stack = SipStack("127.0.0.1", 0, _Nobody())
    await stack.start()
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    phone.setblocking(False)
    loop = asyncio.get_running_loop()
    dropped: list[int] = []
    keepalive = KeepAlive(stack, registrar, lambda: "ringdesk.test", lambda: dropped.append(1))
    try:
        registrar.restore([_binding(phone.getsockname()[1], stack.now())], stack.now())
        seen: list[str] = []
        for _ in range(4):  # the phone answers every OPTIONS, at the source it registered from
            keepalive.tick()
            data, src = await asyncio.wait_for(loop.sock_recvfrom(phone, 4096), 5)
            options = parse_message(data)
            assert isinstance(options, Request) and options.method == "OPTIONS"
            seen.append(str(options.uri))
            phone.sendto(make_response(options, 200).to_bytes(), src)
            await _until(lambda: keepalive.answered == len(seen))
        assert seen == ["sip:1001@192.168.1.20:5060"] * 4  # the Contact stays the R-URI
        assert registrar.is_registered("1001", stack.now())
        # A phone whose Contact is where it registered from (not behind a NAT) gets none.
        direct = Binding(
            "1002",
            SipUri(host="127.0.0.1", port=5999, user="1002"),
            stack.now() + 3600,
            "reg-2",
            1,
            ("127.0.0.1", 5999),
            "udp",
        )
        registrar.restore([direct], stack.now())
        keepalive.tick()
        data, src = await asyncio.wait_for(loop.sock_recvfrom(phone, 4096), 5)
        phone.sendto(make_response(parse_message(data), 200).to_bytes(), src)  # type: ignore[arg-type]
        await _until(lambda: keepalive.answered == 5)
        assert keepalive.sent == 5  # only to 1001, behind its NAT
        registrar.expire(stack.now() + 7200)
        changes.clear()
        registrar.restore([_binding(phone.getsockname()[1], stack.now())], stack.now())
        # The phone's NAT mapping is gone: its source port is closed now.
        phone.close()
        for _ in range(3):
            keepalive.tick()
            await _until(lambda: not keepalive._pending)
        assert keepalive.sent == 8
        assert not registrar.is_registered("1001", stack.now())
        assert changes == [("1001", True), ("1001", False)]
        assert dropped == [1]
    finally:
        phone.close()
        await stack.stop()
