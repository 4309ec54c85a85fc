"""Outbound calls over several trunks: the first answers 407 (we answer with
Proxy-Authorization, new CSeq and branch) then 503, the call moves to the second in its own
caller-ID form and number format; a 404 there is about the number and ends the call."""

from __future__ import annotations

import asyncio

from ringdesk.core.telephony import LegFailed, Originate
from ringdesk.sip.message import Request, make_response, parse_message
from ringdesk.switch import Switch
from ringdesk.switch.lookup import TrunkSettings

from .harness import Events, FakeDirectory, Peer


async def _invite(peer: Peer) -> Request:
    while True:
        msg = parse_message(await asyncio.wait_for(peer.queue.get(), 5))
        if isinstance(msg, Request) and msg.method == "INVITE":
            return msg


async def test_407_then_503_fails_over_to_the_next_trunk_by_priority(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    sw, directory, events = switch_rig
    first = await Peer().open(("127.0.0.1", sw.local_port))
    second = await Peer().open(("127.0.0.1", sw.local_port))
    directory.trunk_list = (
        TrunkSettings(
            host="127.0.0.1",
            port=first.port,
            name="a",
            priority=1,
            username="acct",
            password="pw",
            identity_header="pai",
        ),
        TrunkSettings(
            host="127.0.0.1",
            port=second.port,
            name="b",
            priority=2,
            identity_header="rpid",
            number_format="national",
            country_code="49",
            from_domain="cust.example",
        ),
    )
    sw.execute(Originate("c1", "out-leg", "+49301234567", "+49305550100"))
    invite = await _invite(first)
    assert invite.uri.user == "+49301234567"
    assert invite.headers.get("p-asserted-identity") == "<sip:+49305550100@127.0.0.1>"
    first.send(
        make_response(
            invite,
            407,
            to_tag="x",
            headers=[("Proxy-Authenticate", 'Digest realm="p", nonce="n1", qop="auth"')],
        )
    )
    authed = await _invite(first)
    assert (authed.headers.get("proxy-authorization") or "").startswith('Digest username="acct"')
    assert authed.cseq[0] == invite.cseq[0] + 1
    assert authed.headers.get("via") != invite.headers.get("via")  # a new branch
    assert authed.call_id == invite.call_id
    first.send(make_response(authed, 503, to_tag="x"))
    moved = await _invite(second)
    assert moved.uri.user == "0301234567"  # national format on trunk b
    assert str(moved.from_addr.uri) == "sip:0305550100@cust.example"
    assert (moved.headers.get("remote-party-id") or "").startswith("<sip:0305550100@cust.example>")
    assert moved.headers.get("p-asserted-identity") is None
    assert moved.headers.get("proxy-authorization") is None  # a's credentials stay with a
    second.send(make_response(moved, 404, to_tag="y"))
    for _ in range(50):
        failed = [e for e in events.items if isinstance(e, LegFailed)]
        if failed:
            break
        await asyncio.sleep(0.05)
    assert failed and "404" in failed[0].detail
    first.close()
    second.close()
