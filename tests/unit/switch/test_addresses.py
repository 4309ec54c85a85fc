"""The advertised address per peer (switch/addresses.py) and the address settings (config)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from ringdesk import config
from ringdesk.sip.registrar import Binding
from ringdesk.sip.uri import parse_uri
from ringdesk.switch import Switch
from ringdesk.switch.addresses import (
    Addresses,
    family_of,
    parse_networks,
    routed_source,
    unreachable,
    uri_host,
)

from .harness import Events, FakeDirectory, FakeMedia

LAN = parse_networks(["192.168.10.0/24", "fd00:10::/64"])


def fake_route(peer: str) -> str:
    return "fd00:10::1" if ":" in peer else "192.168.10.1"


def test_local_peers_get_the_bound_address_others_the_external_one() -> None:
    a = Addresses("192.168.10.1", "203.0.113.5", LAN)
    assert a.for_peer("192.168.10.77") == "192.168.10.1"
    assert a.for_peer("198.51.100.9") == "203.0.113.5"
    assert a.for_peer("127.0.0.1") == "192.168.10.1"  # loopback is always local
    assert a.for_peer(None) == "203.0.113.5"
    # an IPv4-mapped source counts as its IPv4 address
    assert a.for_peer("::ffff:192.168.10.77") == "192.168.10.1"


def test_without_an_external_address_everyone_gets_the_bound_one() -> None:
    a = Addresses("192.168.10.1", "", LAN)
    assert a.for_peer("198.51.100.9") == "192.168.10.1"


def test_unspecified_bind_advertises_the_interface_routing_toward_the_peer() -> None:
    asked: list[str] = []

    def route(peer: str) -> str:
        asked.append(peer)
        return fake_route(peer)

    a = Addresses("::", "", LAN, route=route)
    assert a.for_peer("192.168.10.77") == "192.168.10.1"
    assert a.for_peer("fd00:10::77") == "fd00:10::1"
    assert a.for_peer("192.168.10.77") == "192.168.10.1"
    assert asked == ["192.168.10.77", "fd00:10::77"]  # cached per peer
    # With an external address, peers outside the LAN get it, LAN peers the routed one.
    b = Addresses("0.0.0.0", "203.0.113.5", LAN, route=fake_route)
    assert b.for_peer("198.51.100.9") == "203.0.113.5"
    assert b.for_peer("192.168.10.77") == "192.168.10.1"


def test_external_address_of_the_other_family_is_not_used() -> None:
    a = Addresses("::", "203.0.113.5", (), route=fake_route)
    assert a.for_peer("2001:db8::9") == "fd00:10::1"
    assert a.for_peer("198.51.100.9") == "203.0.113.5"
    b = Addresses("::", "2001:db8::5", (), route=fake_route)
    assert b.for_peer("2001:db8:1::9") == "2001:db8::5"
    assert b.for_peer("198.51.100.9") == "192.168.10.1"


def test_route_lookup_on_loopback_sends_nothing_and_finds_loopback() -> None:
    assert routed_source("127.0.0.1") == "127.0.0.1"
    assert routed_source("::1") == "::1"
    assert routed_source("not-an-address") is None
    a = Addresses("0.0.0.0")
    assert a.for_peer("127.0.0.1") == "127.0.0.1"


def test_families_served() -> None:
    assert Addresses("::").serves("127.0.0.1") and Addresses("::").serves("::1")
    assert Addresses("0.0.0.0").serves("10.0.0.1") and not Addresses("0.0.0.0").serves("::1")
    assert not Addresses("::1").serves("127.0.0.1")
    assert Addresses("::1").serves("2001:db8::1")
    assert Addresses("127.0.0.1").serves("::ffff:10.0.0.1")  # mapped: IPv4
    assert family_of("[2001:db8::1]") == socket.AF_INET6


def test_uri_host_brackets_ipv6() -> None:
    assert uri_host("2001:db8::10") == "[2001:db8::10]"
    assert uri_host("[2001:db8::10]") == "[2001:db8::10]"
    assert uri_host("192.0.2.1") == "192.0.2.1"


def test_loopback_warning() -> None:
    assert Addresses("192.168.10.1", "127.0.0.1").loopback_warning() is not None
    assert Addresses("192.168.10.1", "203.0.113.5").loopback_warning() is None
    assert Addresses("127.0.0.1", "127.0.0.1").loopback_warning() is None


def test_settings_from_flags_and_environment() -> None:
    env = {
        "RINGDESK_SIP_EXTERNAL": "203.0.113.5",
        "RINGDESK_LOCAL_NET": "192.168.10.0/24, fd00:10::/64",
        "RINGDESK_RTP_PORTS": "10000-20000",
        "RINGDESK_RTP_HOST": "[::]",
    }
    s = config.load(None, env)
    assert s.sip_external == "203.0.113.5" and s.media_external == ""
    assert s.local_nets == ("192.168.10.0/24", "fd00:10::/64")
    assert s.rtp_ports == (10000, 20000) and s.rtp_host == "::"
    defaults = config.load(None, {})
    assert defaults.rtp_ports == (20000, 40000) and defaults.local_nets == ()


@pytest.mark.parametrize(
    ("var", "value", "words"),
    [
        ("RINGDESK_RTP_PORTS", "20000", "LOW-HIGH"),
        ("RINGDESK_RTP_PORTS", "30000-20000", "1024-65535"),
        ("RINGDESK_LOCAL_NET", "192.168.0.0/33", "not a network"),
        ("RINGDESK_SIP_EXTERNAL", "pbx.example.com", "IP address"),
    ],
)
def test_bad_address_settings_stop_with_a_sentence(var: str, value: str, words: str) -> None:
    with pytest.raises(SystemExit, match=words):
        config.load(None, {var: value})


async def test_a_phone_on_a_public_address_told_a_private_one_is_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    switch = Switch(
        "0.0.0.0",
        0,
        directory=FakeDirectory(tmp_path),
        sink=Events(),
        data_dir=tmp_path,
        media=FakeMedia(),
        addresses=Addresses("0.0.0.0", "", LAN, route=fake_route),
    )
    registrar = switch.state.registrar

    def binding(cti_id: str, source: str, port: int) -> Binding:
        uri = parse_uri(f"sip:{cti_id}@{source}:{port}")
        return Binding(cti_id, uri, 1e9, f"c-{cti_id}-{port}", 1, (source, port))

    def warned() -> list[str]:
        return [r.getMessage() for r in caplog.records if "cannot reach" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="ringdesk.switch"):
        registrar.restore([binding("1001", "198.51.100.9", 5060)], 0.0)
        registrar.drop_source("1001", ("198.51.100.9", 5060))  # unregistered, then again
        registrar.restore([binding("1001", "198.51.100.9", 5062)], 0.0)
        registrar.restore([binding("1002", "192.168.10.20", 5060)], 0.0)  # on the LAN
        registrar.restore([binding("1004", "198.51.100.11", 5060)], 0.0)  # same warning
    lines = warned()
    assert len(lines) == 1, lines
    assert "phone 1001" in lines[0] and "198.51.100.9" in lines[0]
    assert "192.168.10.1, a private address" in lines[0] and "sip_external" in lines[0]
    # Counted per peer for /healthz, without the peers' addresses.
    [(sentence, count)] = switch.state.addresses.warnings.items()
    assert count == 2 and "198.51" not in sentence
    # With an external address set, nobody is warned about.
    caplog.clear()
    switch.state.addresses.external = "203.0.113.5"
    with caplog.at_level(logging.WARNING, logger="ringdesk.switch"):
        registrar.restore([binding("1003", "198.51.100.10", 5060)], 0.0)
    assert not warned()


@pytest.mark.parametrize(
    ("peer", "advertised", "expected"),
    [
        ("198.51.100.9", "10.0.0.5", "10.0.0.5, a private address"),
        ("198.51.100.9", "127.0.0.1", "a loopback address"),
        ("198.51.100.9", "100.64.1.2", "a carrier-grade NAT address"),
        ("2001:db8::9", "fd00::5", "a private (unique local) address"),
        ("2001:db8::9", "fe80::1", "a link-local address"),
        ("198.51.100.9", "203.0.113.5", None),  # public to public
        ("192.168.1.9", "10.0.0.5", None),  # a LAN or a VPN: cannot tell
        ("198.51.100.9", "pbx.example.com", None),  # names are not judged
    ],
)
def test_what_a_peer_cannot_reach(peer: str, advertised: str, expected: str | None) -> None:
    found = unreachable(peer, advertised)
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found


def test_advertise_checks_each_peer_once_and_counts_the_kinds() -> None:
    a = Addresses("10.0.0.5", label="RTP")
    assert a.advertise("198.51.100.1") == "10.0.0.5"
    assert a.advertise("198.51.100.1") == "10.0.0.5"
    assert a.advertise("198.51.100.2") == "10.0.0.5"
    assert a.advertise("10.0.0.9") == "10.0.0.5"
    assert a.warnings == {
        "RTP: peers on public addresses are told 10.0.0.5, a private address they cannot reach": 2
    }
    # A public address of our own: nothing to say.
    b = Addresses("0.0.0.0", route=lambda _peer: "203.0.113.7")
    assert b.advertise("198.51.100.1") == "203.0.113.7" and not b.warnings


def test_address_settings_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "ringdesk.toml"
    path.write_text(
        'local_nets = ["192.168.1.0/24", "fd00::/64"]\n'
        'rtp_ports = "10000-20000"\n'
        'sip_external = "203.0.113.5"\n'
    )
    s = config.load(None, {"RINGDESK_CONFIG": str(path)})
    assert s.local_nets == ("192.168.1.0/24", "fd00::/64")
    assert s.rtp_ports == (10000, 20000) and s.sip_external == "203.0.113.5"
