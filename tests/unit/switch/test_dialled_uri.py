"""A dialled number in the trunk INVITE: escaped as RFC 3261 wants in the Request-URI and To
(and the calling number in From and P-Asserted-Identity), read back by parsing what was sent."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import pytest

from ringdesk.core.telephony import Originate
from ringdesk.sip.message import Request, parse_message
from ringdesk.sip.uri import parse_name_addr
from ringdesk.switch import Switch
from ringdesk.switch.outbound import uri_user

from .harness import Events, FakeDirectory, Peer


@pytest.mark.parametrize(
    ("number", "wire"),
    [
        ("5551234", "5551234"),
        ("+49301234567", "+49301234567"),
        ("5551234#", "5551234%23"),
        ("*31#5551234", "*31%235551234"),
        ("55;user=phone?x=1", "55%3Buser=phone%3Fx=1"),
        ("a b@c<d>", "a%20b%40c%3Cd%3E"),
        ("é", "%C3%A9"),
    ],
)
def test_the_user_part_escapes_what_rfc_3261_does_not_allow(number: str, wire: str) -> None:
    assert uri_user(number) == wire
    assert unquote(wire) == number


async def test_a_number_with_hash_reaches_the_trunk_escaped_in_the_request_uri(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    sw, directory, _ = switch_rig
    trunk = await Peer().open(("127.0.0.1", sw.local_port))
    directory.trunk_settings = type(directory.trunk_settings)(host="127.0.0.1", port=trunk.port)
    sw.execute(Originate("c1", "out-leg", "+4930123#45", "5550199#2"))
    data = await asyncio.wait_for(trunk.queue.get(), 5)
    first_line = data.split(b"\r\n", 1)[0]
    assert first_line == f"INVITE sip:+4930123%2345@127.0.0.1:{trunk.port} SIP/2.0".encode()
    assert b"#" not in data.split(b"\r\n\r\n", 1)[0]  # nowhere in the headers
    invite = parse_message(data)
    assert isinstance(invite, Request)
    assert invite.uri.user is not None and unquote(invite.uri.user) == "+4930123#45"
    assert unquote(invite.to_addr.uri.user or "") == "+4930123#45"
    assert unquote(invite.from_addr.uri.user or "") == "5550199#2"
    pai = parse_name_addr(invite.headers.get("p-asserted-identity") or "")
    assert unquote(pai.uri.user or "") == "5550199#2"
    trunk.close()
