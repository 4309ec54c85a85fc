"""RFC 3263 / RFC 2782 trunk location (switch/dns.py): the pure ordering, the cache's
lifetimes with a fake clock, and resolution through a real DNS server on loopback
(tests/support/dns_server.py)."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections import Counter
from collections.abc import Iterator

import pytest

from ringdesk.switch.dns import (
    NEGATIVE_TTL,
    STALE_TTL,
    TTL_CEILING,
    TTL_FLOOR,
    Naptr,
    RecordCache,
    SipResolver,
    Srv,
    Target,
    order_naptr,
    order_srv,
    parse_nameservers,
)
from ringdesk.switch.resolver import TrunkResolver
from tests.support.dns_server import DnsServer

# --- pure ordering ------------------------------------------------------------------------


def test_naptr_by_order_then_preference_and_only_our_services() -> None:
    records = [
        Naptr(20, 10, "s", "SIP+D2U", "_sip._udp.x"),
        Naptr(10, 50, "s", "SIP+D2T", "_sip._tcp.x"),
        Naptr(10, 20, "S", "SIPS+D2T", "_sips._tcp.x"),
        Naptr(5, 1, "s", "SIP+D2S", "_sip._sctp.x"),  # SCTP: not ours
        Naptr(5, 1, "u", "SIP+D2U", "!^.*$!sip:a@x!"),  # not an SRV pointer
    ]
    assert order_naptr(records, ("udp", "tcp", "tls")) == [
        ("tls", "_sips._tcp.x"),
        ("tcp", "_sip._tcp.x"),
        ("udp", "_sip._udp.x"),
    ]
    assert order_naptr(records, ("udp",)) == [("udp", "_sip._udp.x")]


def test_srv_priority_first_then_weighted() -> None:
    records = [Srv(20, 0, 5060, "c"), Srv(10, 60, 5060, "a"), Srv(10, 40, 5060, "b")]
    for seed in range(20):
        ordered = order_srv(records, random.Random(seed))
        assert ordered[-1].target == "c"
        assert {r.target for r in ordered[:2]} == {"a", "b"}


def test_srv_weight_distribution_follows_the_weights() -> None:
    records = [Srv(10, 75, 1, "heavy"), Srv(10, 25, 1, "light"), Srv(10, 0, 1, "zero")]
    rng = random.Random(3263)
    firsts = Counter(order_srv(records, rng)[0].target for _ in range(4000))
    assert 0.70 < firsts["heavy"] / 4000 < 0.80, firsts
    assert 0.20 < firsts["light"] / 4000 < 0.30, firsts
    assert 10 < firsts["zero"] < 80, firsts  # weight 0: first only on the 1-in-101 draw of 0


def test_srv_all_zero_weights_are_all_kept_and_dot_is_dropped() -> None:
    records = [Srv(1, 0, 1, "a"), Srv(1, 0, 1, "b"), Srv(1, 0, 1, ".")]
    seen = {tuple(r.target for r in order_srv(records, random.Random(s))) for s in range(40)}
    assert seen == {("a", "b"), ("b", "a")}


def test_nameserver_setting_parses_and_refuses_garbage() -> None:
    assert parse_nameservers("127.0.0.1:5353, ::1,[::1]:54") == (
        ("127.0.0.1", 5353),
        ("::1", 53),
        ("::1", 54),
    )
    assert parse_nameservers("") == ()
    for bad in ("dns.example", "127.0.0.1:0", "127.0.0.1:x", "[::1]x"):
        with pytest.raises(ValueError):
            parse_nameservers(bad)


# --- cache lifetimes (fake clock) ---------------------------------------------------------


def test_ttl_is_clamped_and_negative_answers_are_brief() -> None:
    cache = RecordCache()
    cache.store(("a", "A"), ("1.2.3.4",), ttl=1, now=0)
    assert cache.fresh(("a", "A"), TTL_FLOOR - 1) == ("1.2.3.4",)
    assert cache.fresh(("a", "A"), TTL_FLOOR) is None
    cache.store(("b", "A"), ("1.2.3.4",), ttl=10**6, now=0)
    assert cache.fresh(("b", "A"), TTL_CEILING - 1) == ("1.2.3.4",)
    assert cache.fresh(("b", "A"), TTL_CEILING) is None
    cache.store(("c", "A"), (), ttl=10**6, now=0)
    assert cache.fresh(("c", "A"), NEGATIVE_TTL - 1) == ()
    assert cache.fresh(("c", "A"), NEGATIVE_TTL) is None


def test_failure_serves_stale_until_stale_ttl() -> None:
    cache = RecordCache()
    cache.store(("a", "A"), ("1.2.3.4",), ttl=60, now=0)
    assert cache.failed(("a", "A"), "timeout", now=100) == ("1.2.3.4",)
    assert cache.fresh(("a", "A"), 100 + NEGATIVE_TTL - 1) == ("1.2.3.4",)
    assert cache.failed(("a", "A"), "timeout", now=60 + STALE_TTL - 1) == ("1.2.3.4",)
    assert cache.failed(("a", "A"), "timeout", now=60 + STALE_TTL) is None
    assert cache.error(("a", "A")) == "timeout"


# --- through a real DNS server on loopback ------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[DnsServer]:
    with DnsServer() as dns_server:
        yield dns_server


def _resolver(server: DnsServer, clock: Clock | None = None, seed: int = 1) -> SipResolver:
    return SipResolver(
        socket.AF_INET,
        parse_nameservers(server.address),
        timeout=0.5,
        clock=clock or Clock(),
        rng=random.Random(seed),
    )


def _zone(server: DnsServer) -> None:
    server.add("example.test", "NAPTR", '10 50 "s" "SIP+D2T" "" _sip._tcp.example.test.')
    server.add("example.test", "NAPTR", '10 10 "s" "SIP+D2U" "" _sip._udp.example.test.')
    server.add("_sip._udp.example.test", "SRV", "20 0 5080 b.example.test.")
    server.add("_sip._udp.example.test", "SRV", "10 0 5070 a.example.test.")
    server.add("_sip._tcp.example.test", "SRV", "10 0 5090 a.example.test.")
    server.add("a.example.test", "A", "127.0.0.2")
    server.add("b.example.test", "A", "127.0.0.3")
    server.add("b.example.test", "A", "127.0.0.4")


def test_naptr_then_srv_then_a(server: DnsServer) -> None:
    _zone(server)
    found = asyncio.run(_resolver(server).targets("example.test"))
    assert found[0] == Target("127.0.0.2", 5070, "udp")
    assert {t.address for t in found[1:3]} == {"127.0.0.3", "127.0.0.4"}
    assert all(t.port == 5080 for t in found[1:3])
    assert found[3:] == [Target("127.0.0.2", 5090, "tcp")]


def test_srv_without_naptr_for_each_transport(server: DnsServer) -> None:
    server.add("plain.test", "A", "127.0.0.9")
    server.add("_sip._tcp.plain.test", "SRV", "10 0 5062 a.plain.test.")
    server.add("_sips._tcp.plain.test", "SRV", "10 0 5063 a.plain.test.")
    server.add("a.plain.test", "A", "127.0.0.5")
    resolver = _resolver(server)
    assert asyncio.run(resolver.targets("plain.test")) == [
        Target("127.0.0.5", 5062, "tcp"),
        Target("127.0.0.5", 5063, "tls"),
    ]
    assert asyncio.run(resolver.targets("plain.test", transport="tls")) == [
        Target("127.0.0.5", 5063, "tls")
    ]


def test_neither_naptr_nor_srv_gives_a_on_the_default_port(server: DnsServer) -> None:
    server.add("bare.test", "A", "127.0.0.7")
    resolver = _resolver(server)
    assert asyncio.run(resolver.targets("bare.test")) == [Target("127.0.0.7", 5060, "udp")]
    assert asyncio.run(resolver.targets("bare.test", transport="tls")) == [
        Target("127.0.0.7", 5061, "tls")
    ]


def test_explicit_port_or_ip_skips_naptr_and_srv(server: DnsServer) -> None:
    _zone(server)
    server.add("example.test", "A", "127.0.0.8")
    resolver = _resolver(server)
    assert asyncio.run(resolver.targets("example.test", port=5099)) == [
        Target("127.0.0.8", 5099, "udp")
    ]
    assert server.queries == [("example.test", "A")]
    assert asyncio.run(resolver.targets("127.0.0.1")) == [Target("127.0.0.1", 5060, "udp")]
    assert asyncio.run(resolver.targets("[::1]", 5070, "tcp")) == [Target("::1", 5070, "tcp")]
    assert server.queries == [("example.test", "A")]  # no DNS for a literal


def test_unknown_name_is_cached_briefly_and_says_why(server: DnsServer) -> None:
    clock = Clock()
    resolver = _resolver(server, clock)
    assert asyncio.run(resolver.targets("nowhere.test")) == []
    assert "no SIP service" in resolver.error("nowhere.test")
    asked = len(server.queries)
    assert asyncio.run(resolver.targets("nowhere.test")) == []
    assert len(server.queries) == asked  # negative answers cached
    server.add("nowhere.test", "A", "127.0.0.6")
    clock.now += NEGATIVE_TTL
    assert asyncio.run(resolver.targets("nowhere.test")) == [Target("127.0.0.6", 5060, "udp")]
    assert resolver.error("nowhere.test") == ""


def test_ttl_honoured_then_asked_again(server: DnsServer) -> None:
    server.add("ttl.test", "A", "127.0.0.2", ttl=120)
    clock = Clock()
    resolver = _resolver(server, clock)
    assert asyncio.run(resolver.targets("ttl.test", 5060))[0].address == "127.0.0.2"
    server.clear()
    server.add("ttl.test", "A", "127.0.0.3", ttl=120)
    clock.now += 119
    assert asyncio.run(resolver.targets("ttl.test", 5060))[0].address == "127.0.0.2"
    assert server.count("ttl.test", "A") == 1
    clock.now += 1
    assert asyncio.run(resolver.targets("ttl.test", 5060))[0].address == "127.0.0.3"
    assert server.count("ttl.test", "A") == 2


@pytest.mark.parametrize("failure", ["servfail", "drop"])
def test_dns_failure_serves_the_last_answer_logged_once(
    server: DnsServer, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    _zone(server)
    clock = Clock()
    resolver = _resolver(server, clock)
    good = asyncio.run(resolver.targets("example.test"))
    assert good
    server.fail = failure
    caplog.set_level(logging.WARNING, logger="ringdesk.switch.dns")
    for _ in range(3):
        clock.now += STALE_TTL / 4  # past every TTL, within the stale window
        assert asyncio.run(resolver.targets("example.test")) == good
    stale_logs = [r for r in caplog.records if "example.test" in r.getMessage()]
    assert len(stale_logs) == 1, [r.getMessage() for r in caplog.records]
    # a name never seen before has nothing to fall back on: [] with the reason
    assert asyncio.run(resolver.targets("other.test")) == []
    assert "DNS failed" in resolver.error("other.test")


def test_lookup_times_out_without_blocking_the_loop(server: DnsServer) -> None:
    server.fail = "drop"
    resolver = _resolver(server)

    async def scenario() -> tuple[list[Target], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()
        started = loop.time()
        found = await resolver.targets("slow.test")
        elapsed = loop.time() - started
        task.cancel()
        assert elapsed < 2.0, elapsed  # bounded by the timeout (0.5 s), not hanging
        return found, ticks

    found, ticks = asyncio.run(scenario())
    assert found == []
    assert ticks >= 10  # the loop kept running while DNS was silent


def test_concurrent_callers_share_one_query(server: DnsServer) -> None:
    server.add("shared.test", "A", "127.0.0.2")
    resolver = _resolver(server)

    async def scenario() -> list[list[Target]]:
        return list(
            await asyncio.gather(*(resolver.targets("shared.test", 5060) for _ in range(5)))
        )

    answers = asyncio.run(scenario())
    assert all(a == [Target("127.0.0.2", 5060, "udp")] for a in answers)
    assert server.count("shared.test", "A") == 1


def test_trunk_resolver_asks_the_configured_servers(server: DnsServer) -> None:
    """--dns-servers: the plain host lookups (inbound trust, a trunk with a port) go to those
    servers over dnspython, not getaddrinfo: a name only the test server knows resolves, and
    `localhost` (in /etc/hosts, unknown to the server) does not."""
    server.add("trunk.test", "A", "127.0.0.9")
    resolver = TrunkResolver(socket.AF_INET)
    resolver.use_servers(parse_nameservers(server.address))

    async def scenario() -> tuple[tuple[str, ...], tuple[str, ...]]:
        return await resolver.resolve("trunk.test"), await resolver.resolve("localhost")

    known, hosts_only = asyncio.run(scenario())
    assert known == ("127.0.0.9",)
    assert hosts_only == ()
    assert resolver.error("localhost")  # the reason is kept for the agent's message
    assert server.count("trunk.test", "A") == 1
    assert server.count("localhost", "A") == 1
