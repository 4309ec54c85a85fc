"""The trunk host by name: the address cache (pure), the resolver on the loop, the validation of
the CTI settings field, and the switch using the resolved addresses both ways."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from pydantic import ValidationError

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import CallArrived, LegAnswered, LegFailed, Originate
from ringdesk.sip.message import make_response
from ringdesk.switch import Switch
from ringdesk.switch.lookup import TrunkSettings
from ringdesk.switch.resolver import (
    NEGATIVE_TTL,
    POSITIVE_TTL,
    REFRESH_AHEAD,
    STALE_TTL,
    AddressCache,
    TrunkResolver,
    ip_literal,
)
from ringdesk.web.schemas import TrunkBody

from .harness import Events, FakeDirectory, Peer, sdp

UNRESOLVABLE = "no-such-trunk.invalid"  # RFC 6761: .invalid never resolves


# ---- the cache (pure) --------------------------------------------------------------------------


def test_cache_answers_until_the_lifetime_runs_out() -> None:
    cache = AddressCache()
    assert cache.addresses("sip.example", 0.0) is None
    cache.store("sip.example", ("192.0.2.1", "192.0.2.2"), 100.0)
    assert cache.addresses("sip.example", 100.0 + POSITIVE_TTL - 1) == ("192.0.2.1", "192.0.2.2")
    assert cache.addresses("sip.example", 100.0 + POSITIVE_TTL) is None


def test_cache_asks_again_ahead_of_expiry() -> None:
    cache = AddressCache()
    cache.store("sip.example", ("192.0.2.1",), 0.0)
    assert not cache.needs_lookup("sip.example", POSITIVE_TTL - REFRESH_AHEAD - 1)
    assert cache.needs_lookup("sip.example", POSITIVE_TTL - REFRESH_AHEAD)


def test_a_failed_lookup_is_remembered_briefly() -> None:
    cache = AddressCache()
    cache.store_failure("dead.example", "Name or service not known", 10.0)
    assert cache.addresses("dead.example", 10.0 + NEGATIVE_TTL - 1) == ()
    assert not cache.needs_lookup("dead.example", 10.0 + NEGATIVE_TTL - 1)
    assert cache.needs_lookup("dead.example", 10.0 + NEGATIVE_TTL)
    assert cache.addresses("dead.example", 10.0 + NEGATIVE_TTL) is None
    assert cache.error("dead.example") == "Name or service not known"


def test_a_good_answer_outlives_failing_refreshes_for_a_while() -> None:
    cache = AddressCache()
    cache.store("sip.example", ("192.0.2.1",), 0.0)
    cache.store_failure("sip.example", "timeout", POSITIVE_TTL)
    assert cache.addresses("sip.example", POSITIVE_TTL + 1) == ("192.0.2.1",)
    # Every later failure keeps the same limit: stale answers do not live for ever.
    cache.store_failure("sip.example", "timeout", POSITIVE_TTL + STALE_TTL - 10)
    assert cache.addresses("sip.example", POSITIVE_TTL + STALE_TTL - 5) == ("192.0.2.1",)
    assert cache.addresses("sip.example", POSITIVE_TTL + STALE_TTL + 1) is None
    cache.store("sip.example", ("192.0.2.9",), POSITIVE_TTL + STALE_TTL + 2)
    assert cache.addresses("sip.example", POSITIVE_TTL + STALE_TTL + 3) == ("192.0.2.9",)


def test_ip_literals_need_no_lookup() -> None:
    assert ip_literal("127.0.0.1") == "127.0.0.1"
    assert ip_literal("[::1]") == "::1"
    assert ip_literal("sip.provider.example") is None
    assert ip_literal("300.1.2.3") is None


# ---- the resolver on the loop --------------------------------------------------------------------


class CountingResolver(TrunkResolver):
    """The real lookup, counted."""

    def __init__(self) -> None:
        super().__init__(socket.AF_INET)
        self.lookups: list[str] = []

    async def _getaddrinfo(self, loop: asyncio.AbstractEventLoop, host: str) -> tuple[str, ...]:
        self.lookups.append(host)
        return await super()._getaddrinfo(loop, host)


async def test_resolver_looks_up_once_and_caches() -> None:
    resolver = CountingResolver()
    first, second = await asyncio.gather(
        resolver.resolve("localhost"), resolver.resolve("localhost")
    )
    assert first == second == ("127.0.0.1",)
    assert await resolver.resolve("localhost") == ("127.0.0.1",)
    assert resolver.lookups == ["localhost"]  # concurrent callers shared one lookup
    assert await resolver.resolve("127.0.0.1") == ("127.0.0.1",)
    assert resolver.lookups == ["localhost"]


async def test_resolver_failure_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    resolver = CountingResolver()
    with caplog.at_level(logging.WARNING, logger="ringdesk.switch.resolver"):
        assert await resolver.resolve(UNRESOLVABLE) == ()
        assert await resolver.resolve(UNRESOLVABLE) == ()  # cached failure: not asked again
    assert resolver.lookups == [UNRESOLVABLE]
    assert resolver.error(UNRESOLVABLE)
    warnings = [r for r in caplog.records if UNRESOLVABLE in r.getMessage()]
    assert len(warnings) == 1


# ---- the CTI settings field --------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["sip.provider.example", "localhost", "trunk-1.carrier.example.", "10.0.0.5", "::1", "[::1]"],
)
def test_trunk_host_accepts_names_and_addresses(host: str) -> None:
    body = TrunkBody(name="provider", host=host)
    assert body.host == host


@pytest.mark.parametrize(
    "host",
    [
        "-bad.example",
        "bad-.example",
        "two..dots",
        "under_score.example",
        "300.1.2.3",
        "space here",
        "a" * 64 + ".example",
        "sip:trunk.example",
        "",
    ],
)
def test_trunk_host_refuses_garbage(host: str) -> None:
    with pytest.raises(ValidationError):
        TrunkBody(name="provider", host=host)


# ---- the switch with a trunk by name ----------------------------------------------------------


async def test_originate_to_a_trunk_by_name(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    switch, directory, events = switch_rig
    trunk = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(host="localhost", port=trunk.port)
    switch.execute(Originate("c1", "out-1", "5551234", "5550199"))
    invite = await trunk.expect_request("INVITE")  # it reached 127.0.0.1, where localhost is
    assert invite.uri.host == "localhost" and invite.uri.port == trunk.port
    trunk.send(
        make_response(
            invite,
            200,
            to_tag="t1",
            headers=[
                ("Contact", f"<sip:trunk@127.0.0.1:{trunk.port}>"),
                ("Content-Type", "application/sdp"),
            ],
            body=sdp(32000).encode(),
        )
    )
    assert await events.wait_for(LegAnswered) == LegAnswered("out-1")
    await trunk.expect_request("ACK")
    trunk.close()


async def test_unresolvable_trunk_fails_as_unreachable(
    switch_rig: tuple[Switch, FakeDirectory, Events], caplog: pytest.LogCaptureFixture
) -> None:
    switch, directory, events = switch_rig
    directory.trunk_settings = TrunkSettings(host=UNRESOLVABLE, port=5080)
    with caplog.at_level(logging.WARNING, logger="ringdesk.switch.resolver"):
        for leg in ("out-1", "out-2"):
            switch.execute(Originate("c1", leg, "5551234", "5550199"))
            failed = await events.wait_for(LegFailed)
            assert isinstance(failed, LegFailed) and failed.leg_id == leg
            assert failed.reason is FailureReason.UNREACHABLE
            assert UNRESOLVABLE in failed.detail and "cannot be resolved" in failed.detail
    assert len([r for r in caplog.records if UNRESOLVABLE in r.getMessage()]) == 1


async def test_inbound_source_check_uses_the_resolved_trunk(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    switch, directory, events = switch_rig
    caller = await Peer().open(("127.0.0.1", switch.local_port))
    ruri = f"sip:5550100@127.0.0.1:{switch.local_port}"
    # A trunk name that does not resolve: nobody is the trunk, the INVITE is refused.
    directory.trunk_settings = TrunkSettings(host=UNRESOLVABLE, allow_any_source=False)
    caller.request("INVITE", ruri, call_id="in-refused", body=sdp(30000))
    refused = await caller.expect_response(403)
    assert refused.reason == "Forbidden"
    # `localhost` resolves to the caller's address, and the trunk's port is the caller's.
    directory.trunk_settings = TrunkSettings(
        host="localhost", port=caller.port, allow_any_source=False
    )
    caller.request("INVITE", ruri, call_id="in-taken", body=sdp(30000))
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived) and arrived.called == "5550100"
    caller.close()


async def test_an_unanswering_trunk_address_fails_over_to_the_next(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    switch, directory, events = switch_rig
    trunk = await Peer().open(("127.0.0.1", switch.local_port))
    # The name resolves to two addresses; nothing listens on the first (ICMP unreachable).
    now = asyncio.get_running_loop().time()
    switch.resolver.cache.store("trunk.test", ("127.0.0.2", "127.0.0.1"), now)
    directory.trunk_settings = TrunkSettings(host="trunk.test", port=trunk.port)
    switch.execute(Originate("c1", "out-1", "5551234", "5550199"))
    invite = await trunk.expect_request("INVITE", timeout=20)
    assert invite.uri.host == "trunk.test"
    assert invite.cseq[0] == 2  # a new transaction after the first address failed
    trunk.send(make_response(invite, 486, to_tag="t1"))
    failed = await events.wait_for(LegFailed)
    assert isinstance(failed, LegFailed) and failed.reason is FailureReason.BUSY
    trunk.close()


class HeldResolver(TrunkResolver):
    """Answers `localhost` only when the test lets it (a slow DNS server)."""

    def __init__(self) -> None:
        super().__init__(socket.AF_INET)
        self.release = asyncio.Event()

    async def _getaddrinfo(self, loop: asyncio.AbstractEventLoop, host: str) -> tuple[str, ...]:
        await self.release.wait()
        return ("127.0.0.1",)


async def test_a_call_cancelled_while_the_trunk_name_resolves_is_not_taken(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    switch, directory, events = switch_rig
    resolver = HeldResolver()
    switch.resolver = resolver
    caller = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(
        host="trunk.test", port=caller.port, allow_any_source=False
    )
    ruri = f"sip:5550100@127.0.0.1:{switch.local_port}"
    invite = caller.request("INVITE", ruri, call_id="in-slow", body=sdp(30000))
    await caller.expect_response(100)  # no retransmissions while we wait for DNS
    branch = invite.split(b"branch=")[1].split(b";")[0].decode()
    caller.request("CANCEL", ruri, call_id="in-slow", branch=branch)
    await caller.expect_response(200)
    await caller.expect_response(487)
    resolver.release.set()
    await asyncio.sleep(0.3)
    assert not [e for e in events.items if isinstance(e, CallArrived)]
    caller.close()


async def test_a_call_from_the_trunk_waits_for_its_name_to_resolve(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    switch, directory, events = switch_rig
    resolver = HeldResolver()
    switch.resolver = resolver
    caller = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(
        host="trunk.test", port=caller.port, allow_any_source=False
    )
    caller.request(
        "INVITE", f"sip:5550100@127.0.0.1:{switch.local_port}", call_id="in-wait", body=sdp(30000)
    )
    await caller.expect_response(100)
    assert not [e for e in events.items if isinstance(e, CallArrived)]
    resolver.release.set()
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived) and arrived.caller == "5551234"
    caller.close()
