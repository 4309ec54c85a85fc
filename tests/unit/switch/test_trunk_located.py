"""Trunks located by DNS (switch/trunk_targets.py): which trunks are, what "auto" means without
DNS, the located targets as trunk sources; and at the switch, an INVITE from the address an SRV
record located the trunk at is the trunk's (taken), while another port of that address is not
(refused as untrusted), and the gate trusts the located address; a registration moves to the
next target after a failure; a dual-stack switch locates IPv4 then IPv6 addresses."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from ringdesk.core.telephony import CallArrived
from ringdesk.sip.message import Response
from ringdesk.switch import Switch
from ringdesk.switch.dns import SipResolver, Target, parse_nameservers
from ringdesk.switch.lookup import TrunkSettings
from ringdesk.switch.trunk_targets import by_dns, default_port, sources, transport_of
from tests.support.dns_server import DnsServer

from .harness import WAIT, Events, FakeDirectory, Peer, sdp

Rig = tuple[Switch, FakeDirectory, Events]


def test_which_trunks_are_located_by_dns_and_what_auto_means_without() -> None:
    assert by_dns(TrunkSettings(host="sip.example.test", port=0, transport="auto"))
    assert by_dns(TrunkSettings(host="sip.example.test", port=0, transport="tls"))
    assert not by_dns(TrunkSettings(host="sip.example.test", port=5060, transport="auto"))
    assert not by_dns(TrunkSettings(host="192.0.2.7", port=0, transport="auto"))
    assert not by_dns(TrunkSettings(host=None, port=0))
    # "auto" with a port or a numeric host: UDP (RFC 3263 4.1), on 5060 when the port is 0.
    numeric = TrunkSettings(host="192.0.2.7", port=0, transport="auto")
    assert (transport_of(numeric), default_port(numeric)) == ("udp", 5060)
    tls = TrunkSettings(host="192.0.2.7", port=0, transport="tls")
    assert (transport_of(tls), default_port(tls)) == ("tls", 5061)


def test_located_targets_as_sources() -> None:
    found = [
        Target("192.0.2.7", 5070, "udp"),
        Target("2001:db8::7", 5070, "udp"),
        Target("192.0.2.8", 5061, "tls"),
        Target("192.0.2.8", 5060, "tcp"),
    ]
    # UDP: address and port; a connection (TCP, TLS) comes from any port: the address alone.
    assert sources(found) == ("192.0.2.7:5070", "[2001:db8::7]:5070", "192.0.2.8")


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


async def test_an_invite_from_the_srv_located_address_is_the_trunks(
    switch_rig: Rig, dns_server: DnsServer
) -> None:
    sw, directory, events = switch_rig
    servers = parse_nameservers(dns_server.address)
    sw.outbound.dns.use_servers(servers)
    sw.state.resolver.use_servers(servers)
    provider = await Peer().open(("127.0.0.1", sw.local_port))
    stranger = await Peer().open(("127.0.0.1", sw.local_port))
    # The provider's domain has no address of its own: only its SRV target is the provider.
    dns_server.add("_sip._udp.prov.test", "SRV", f"10 0 {provider.port} edge.prov.test.")
    dns_server.add("edge.prov.test", "A", "127.0.0.1")
    trunk = TrunkSettings(host="prov.test", port=0, transport="udp", name="prov", id=1)
    directory.trunk_settings = trunk  # not allow_any_source: only the trunk may call in
    directory.trunk_list = (trunk,)

    async def located() -> None:  # the switch's housekeeping locates it within a second
        while not sw.gate.trusted(("127.0.0.1", provider.port)):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(located(), WAIT)
    assert sw.outbound.targets.known(trunk) == (Target("127.0.0.1", provider.port, "udp"),)
    assert not sw.gate.trusted(("127.0.0.1", stranger.port))
    assert sw.trunk_status(1) == (None, [f"127.0.0.1:{provider.port}/udp"])

    ruri = f"sip:5550100@127.0.0.1:{sw.local_port}"
    stranger.request("INVITE", ruri, call_id="from-stranger", body=sdp(30000))
    refused = await stranger.expect_response(403)
    assert isinstance(refused, Response)
    provider.request("INVITE", ruri, call_id="from-provider", body=sdp(30002))
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    assert sw.inbound_counts.refused["untrusted"] == 1
    provider.close()
    stranger.close()


async def test_a_registration_moves_to_the_next_srv_target_after_a_failure(
    switch_rig: Rig, dns_server: DnsServer
) -> None:
    sw, directory, _events = switch_rig
    sw.outbound.dns.use_servers(parse_nameservers(dns_server.address))
    alive = await Peer().open(("127.0.0.1", sw.local_port))
    gone = await Peer().open(("127.0.0.1", sw.local_port))
    dead_port = gone.port
    gone.close()  # nothing listens there: the REGISTER bounces (ICMP port unreachable)
    dns_server.add("_sip._udp.reg.test", "SRV", f"10 0 {dead_port} a.reg.test.")
    dns_server.add("_sip._udp.reg.test", "SRV", f"20 0 {alive.port} a.reg.test.")
    dns_server.add("a.reg.test", "A", "127.0.0.1")
    trunk = TrunkSettings(
        host="reg.test", port=0, name="reg", id=4, register=True, username="u", password="p"
    )
    directory.trunk_list = (trunk,)

    async def failed() -> None:
        while (reg := sw.trunk_registrations.status(4)) is None or reg.failures == 0:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(failed(), WAIT)
    reg = sw.trunk_registrations.status(4)
    assert reg is not None and reg.last_error is not None
    reg.next_at = 0.0  # the back-off is over
    register = await alive.expect_request("REGISTER")
    assert str(register.uri) == "sip:reg.test"  # the name, no port 0
    alive.close()


def test_a_dual_stack_switch_locates_ipv4_then_ipv6_addresses(dns_server: DnsServer) -> None:
    dns_server.add("_sip._udp.both.test", "SRV", "10 0 5070 edge.both.test.")
    dns_server.add("edge.both.test", "A", "127.0.0.1")
    dns_server.add("edge.both.test", "AAAA", "::1")
    dns_server.add("_sip._udp.v6.test", "SRV", "10 0 5070 edge.v6.test.")
    dns_server.add("edge.v6.test", "AAAA", "::1")
    servers = parse_nameservers(dns_server.address)

    async def locate() -> tuple[list[Target], list[Target], list[Target]]:
        unspec = SipResolver(socket.AF_UNSPEC, servers, timeout=0.5)
        only_v4 = SipResolver(socket.AF_INET, servers, timeout=0.5)
        return (
            await unspec.targets("both.test", None, "udp"),
            await unspec.targets("v6.test", None, "udp"),
            await only_v4.targets("both.test", None, "udp"),
        )

    both, v6, v4 = asyncio.run(locate())
    assert both == [Target("127.0.0.1", 5070, "udp"), Target("::1", 5070, "udp")]
    assert v6 == [Target("::1", 5070, "udp")]  # an IPv6-only provider from a '::' bind
    assert v4 == [Target("127.0.0.1", 5070, "udp")]
