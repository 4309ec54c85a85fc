"""Inbound trust and call limits at the switch (issue #9; docs/security.md "Inbound calls"):
who may call in (the trunk by address and port, the listed sources), one answer for every
number to anyone else, the caller's identity asserted only by the trunk, and the live-call
limits per source and in total, counted by reason."""

from __future__ import annotations

import asyncio
import re

from ringdesk.core.telephony import QUEUE_FULL, CallArrived, HangUp, LegHungUp
from ringdesk.sip.message import Response, parse_message
from ringdesk.switch import Switch
from ringdesk.switch.limits import CallCounts, CallLimits
from ringdesk.switch.lookup import TrunkSettings

from .harness import WAIT, Events, FakeDirectory, Peer, sdp

Rig = tuple[Switch, FakeDirectory, Events]


async def final_bytes(peer: Peer) -> bytes:
    """The raw bytes of the next final response (provisional ones skipped)."""
    while True:
        data = await asyncio.wait_for(peer.queue.get(), WAIT)
        msg = parse_message(data)
        if isinstance(msg, Response) and msg.status >= 200:
            return data


def invite(peer: Peer, switch: Switch, number: str, call_id: str, extra: str = "") -> None:
    # The same To for every number: only the Request-URI says which number is called, so the
    # answers can be compared byte for byte.
    peer.request(
        "INVITE",
        f"sip:{number}@127.0.0.1:{switch.local_port}",
        call_id=call_id,
        to="<sip:ringdesk@127.0.0.1>",
        extra=extra,
        body=sdp(30000),
    )


def normalised(data: bytes) -> bytes:
    """A response without what differs per request: tags, branch, Call-ID."""
    text = re.sub(rb";tag=[^;\r\n>]+", b";tag=T", data)
    text = re.sub(rb";branch=[^;\r\n]+", b";branch=B", text)
    return re.sub(rb"(?im)^Call-ID: .*$", b"Call-ID: C", text)


async def test_an_untrusted_source_gets_the_same_answer_for_every_number(
    switch_rig: Rig,
) -> None:
    switch, directory, events = switch_rig
    caller = await Peer().open(("127.0.0.1", switch.local_port))
    # The trunk is this address on another port: the caller is not the trunk.
    directory.trunk_settings = TrunkSettings(host="127.0.0.1", port=caller.port + 1)
    answers = []
    # A service number, one whose service has inbound off, and one that does not exist.
    for n, number in enumerate(("5550100", "5550111", "5559999")):
        invite(caller, switch, number, f"untrusted-{n}")
        answers.append(await final_bytes(caller))
    first = parse_message(answers[0])
    assert isinstance(first, Response) and (first.status, first.reason) == (403, "Forbidden")
    assert normalised(answers[0]) == normalised(answers[1]) == normalised(answers[2])
    assert b"Call-ID: untrusted-0" in answers[0]  # the normalisation removed only that
    assert not [e for e in events.items if isinstance(e, CallArrived)]
    assert switch.inbound_counts.refused["untrusted"] == 3
    caller.close()


async def test_the_trunk_is_its_address_and_its_port_or_a_listed_source(switch_rig: Rig) -> None:
    switch, directory, events = switch_rig
    caller = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(host="127.0.0.1", port=caller.port + 1)
    invite(caller, switch, "5550100", "wrong-port")
    assert parse_message(await final_bytes(caller)).status == 403  # type: ignore[union-attr]
    # The right port: taken.
    directory.trunk_settings = TrunkSettings(host="127.0.0.1", port=caller.port)
    invite(caller, switch, "5550100", "right-port")
    assert isinstance(await events.wait_for(CallArrived), CallArrived)
    # Another port of the provider, listed by the admin (address:port, or the address alone).
    for listed in (f"127.0.0.1:{caller.port}", "127.0.0.1"):
        directory.trunk_settings = TrunkSettings(
            host="127.0.0.1", port=caller.port + 1, sources=(listed,)
        )
        invite(caller, switch, "5550100", f"listed-{listed}")
        arrived = await events.wait_for(CallArrived)
        assert isinstance(arrived, CallArrived)
    # A listed source on another port is not this caller.
    directory.trunk_settings = TrunkSettings(
        host="127.0.0.1", port=caller.port + 1, sources=(f"127.0.0.1:{caller.port + 2}",)
    )
    invite(caller, switch, "5550100", "listed-other-port")
    assert parse_message(await final_bytes(caller)).status == 403  # type: ignore[union-attr]
    caller.close()


PAI = "P-Asserted-Identity: <sip:5557777@carrier.example>\r\n"
RPID = 'Remote-Party-ID: "Carol" <sip:5558888@carrier.example>;party=calling\r\n'


async def test_an_asserted_identity_is_shown_only_from_the_trunk(switch_rig: Rig) -> None:
    switch, directory, events = switch_rig
    trunk = await Peer().open(("127.0.0.1", switch.local_port))
    anyone = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(
        host="127.0.0.1", port=trunk.port, allow_any_source=True
    )
    shown = {}
    for name, peer, extra in (
        ("trunk-pai", trunk, PAI),
        ("trunk-rpid", trunk, RPID),
        ("anyone-pai", anyone, PAI),
        ("anyone-rpid", anyone, RPID + PAI),
    ):
        invite(peer, switch, "5550100", name, extra)
        arrived = await events.wait_for(CallArrived)
        assert isinstance(arrived, CallArrived)
        shown[name] = arrived.caller
    # From is <sip:5551234@...> in every request (harness.Peer).
    assert shown == {
        "trunk-pai": "5557777",
        "trunk-rpid": "5558888",
        "anyone-pai": "5551234",
        "anyone-rpid": "5551234",
    }
    trunk.close()
    anyone.close()


async def test_a_source_over_its_limit_gets_486_and_the_trunk_still_gets_through(
    switch_rig: Rig,
) -> None:
    switch, directory, events = switch_rig
    trunk = await Peer().open(("127.0.0.1", switch.local_port))
    anyone = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(
        host="127.0.0.1", port=trunk.port, allow_any_source=True
    )
    directory.call_limits = CallLimits(per_source=2, total=4)
    for n in range(2):
        invite(anyone, switch, "5550100", f"any-{n}")
        await events.wait_for(CallArrived)
    invite(anyone, switch, "5550100", "any-over")
    busy = parse_message(await final_bytes(anyone))
    assert isinstance(busy, Response) and (busy.status, busy.reason) == (486, "Busy Here")
    # The trunk shares the address but not the per-source count: its calls come in.
    for n in range(2):
        invite(trunk, switch, "5550100", f"trunk-{n}")
        await events.wait_for(CallArrived)
    assert switch.inbound_counts.total == 4
    # Now the total is reached: 503 with Retry-After, for the trunk too.
    invite(trunk, switch, "5550100", "trunk-over")
    full = parse_message(await final_bytes(trunk))
    assert isinstance(full, Response) and full.status == 503
    assert full.headers.get("retry-after") == "10"
    assert switch.inbound_counts.refused["source_limit"] == 1
    assert switch.inbound_counts.refused["total_limit"] == 1
    anyone.close()
    trunk.close()


async def test_an_ended_call_frees_its_place(switch_rig: Rig) -> None:
    switch, directory, events = switch_rig
    caller = await Peer().open(("127.0.0.1", switch.local_port))
    directory.call_limits = CallLimits(per_source=1, total=10)
    invite(caller, switch, "5550100", "first")
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    invite(caller, switch, "5550100", "second")
    assert parse_message(await final_bytes(caller)).status == 486  # type: ignore[union-attr]
    # The engine refuses the first call (its queue is full): 486, and the place is free again.
    switch.execute(HangUp(arrived.call_id, arrived.leg_id, reason=QUEUE_FULL))
    assert parse_message(await final_bytes(caller)).status == 486  # type: ignore[union-attr]
    assert await events.wait_for(LegHungUp) == LegHungUp(arrived.leg_id, QUEUE_FULL)
    assert switch.inbound_counts.total == 0
    assert switch.inbound_counts.refused["queue_full"] == 1
    invite(caller, switch, "5550100", "third")
    assert isinstance(await events.wait_for(CallArrived), CallArrived)
    caller.close()


def test_counts_per_source_and_in_total() -> None:
    counts = CallCounts()
    limits = CallLimits(per_source=2, total=3)
    assert counts.refusal("192.0.2.1", False, limits) is None
    counts.add("a", "192.0.2.1")
    counts.add("a", "192.0.2.1")  # the same leg twice counts once
    counts.add("b", "192.0.2.1")
    assert (counts.of("192.0.2.1"), counts.total) == (2, 2)
    assert counts.refusal("192.0.2.1", False, limits) == "source_limit"
    assert counts.refusal("192.0.2.1", True, limits) is None  # the trunk: only the total
    assert counts.refusal("192.0.2.2", False, limits) is None
    counts.add("c", "192.0.2.2")
    assert counts.refusal("192.0.2.3", True, limits) == "total_limit"
    counts.remove("a")
    counts.remove("a")
    assert (counts.of("192.0.2.1"), counts.total) == (1, 2)
    assert counts.refusal("192.0.2.1", False, limits) is None
    assert counts.refused == {
        "untrusted": 0,
        "source_limit": 1,
        "total_limit": 1,
        "queue_full": 0,
    }
    assert CallCounts().refusal("x", False, CallLimits()) is None  # no limits: none


async def test_every_enabled_trunk_is_trusted_and_its_caller_becomes_e164(switch_rig: Rig) -> None:
    switch, directory, events = switch_rig
    first = await Peer().open(("127.0.0.1", switch.local_port))
    second = await Peer().open(("127.0.0.1", switch.local_port))
    stranger = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings()  # any source: off
    directory.trunk_list = (
        TrunkSettings(host="127.0.0.1", port=first.port, name="a", country_code="49"),
        TrunkSettings(host="127.0.0.1", port=second.port, name="b", priority=2),
    )
    national = "P-Asserted-Identity: <sip:0301234567@127.0.0.1>\r\n"
    invite(first, switch, "5550100", "from-a", national)
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived) and arrived.caller == "+49301234567"
    invite(second, switch, "5550100", "from-b", national)  # no country on b: as sent
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived) and arrived.caller == "0301234567"
    invite(stranger, switch, "5550100", "from-stranger", national)
    refused = parse_message(await final_bytes(stranger))
    assert isinstance(refused, Response) and refused.status == 403
    first.close()
    second.close()
    stranger.close()
