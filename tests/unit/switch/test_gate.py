"""The gate in front of the SIP stack, with explicit `now`: rates, bans, expiry, lifting,
trusted peers."""

from __future__ import annotations

import logging

import pytest

from ringdesk.switch.gate import Gate, GateSettings, request_method

ATTACKER = ("192.0.2.7", 5061)
PHONE = ("198.51.100.3", 5060)
TRUNK = ("203.0.113.10", 5060)


def test_request_method_from_the_first_line() -> None:
    assert request_method(b"REGISTER sip:x SIP/2.0\r\n") == b"REGISTER"
    assert request_method(b"\r\n\r\nINVITE sip:x SIP/2.0\r\n") == b"INVITE"
    assert request_method(b"SIP/2.0 200 OK\r\n") is None
    assert request_method(b"garbage") == b"GARBAGE"


def test_rate_per_method_per_source() -> None:
    gate = Gate(GateSettings(register_rate=10, burst_seconds=1, flood_excess=1000))
    admitted = sum(gate.admit(ATTACKER, b"REGISTER", 100.0) for _ in range(50))
    assert admitted == 10  # the burst
    # Another method has its own bucket; another source its own too.
    assert gate.admit(ATTACKER, b"OPTIONS", 100.0)
    assert gate.admit(PHONE, b"REGISTER", 100.0)
    # Half a second later, five more tokens.
    assert sum(gate.admit(ATTACKER, b"REGISTER", 100.5) for _ in range(20)) == 5
    assert gate.dropped == 40 + 15


def test_the_port_does_not_make_a_new_source() -> None:
    gate = Gate(GateSettings(invite_rate=2, burst_seconds=1, flood_excess=1000))
    results = [gate.admit(("192.0.2.7", 6000 + n), b"INVITE", 10.0) for n in range(5)]
    assert results == [True, True, False, False, False]


def test_responses_are_not_rate_limited() -> None:
    gate = Gate(GateSettings(other_rate=1, burst_seconds=1, flood_excess=1000))
    assert all(gate.admit(PHONE, None, 10.0) for _ in range(100))


def test_a_flood_bans_and_the_ban_drops_everything(caplog: pytest.LogCaptureFixture) -> None:
    gate = Gate(GateSettings(register_rate=10, burst_seconds=1, flood_excess=50, ban_seconds=600))
    with caplog.at_level(logging.WARNING, logger="ringdesk.switch.gate"):
        for _ in range(1000):
            gate.admit(ATTACKER, b"REGISTER", 100.0)
    assert gate.banned(ATTACKER[0], 100.0)
    [ban] = gate.bans(100.0)
    assert (ban.address, ban.reason, ban.since, ban.until) == (ATTACKER[0], "flood", 100.0, 700.0)
    # Responses and other methods from it are dropped too, and only one line was logged.
    assert not gate.admit(ATTACKER, None, 101.0)
    assert not gate.admit(ATTACKER, b"OPTIONS", 101.0)
    assert len([r for r in caplog.records if "banned" in r.getMessage()]) == 1
    assert gate.admit(PHONE, b"REGISTER", 101.0)


def test_auth_failures_ban_after_the_threshold_within_the_window() -> None:
    gate = Gate(GateSettings(auth_failures=10, auth_window=60, ban_seconds=600))
    for n in range(9):
        gate.auth_failed(ATTACKER, 100.0 + n)
    assert not gate.banned(ATTACKER[0], 110.0)
    # Failures older than the window do not count.
    gate.auth_failed(ATTACKER, 200.0)
    assert not gate.banned(ATTACKER[0], 200.0)
    for n in range(9):
        gate.auth_failed(ATTACKER, 201.0 + n)
    assert gate.banned(ATTACKER[0], 210.0)
    assert gate.bans(210.0)[0].reason == "auth_failures"
    assert not gate.admit(ATTACKER, b"REGISTER", 210.0)


def test_bans_expire() -> None:
    gate = Gate(GateSettings(auth_failures=1, ban_seconds=600))
    gate.auth_failed(ATTACKER, 100.0)
    assert not gate.admit(ATTACKER, b"REGISTER", 699.0)
    assert gate.admit(ATTACKER, b"REGISTER", 700.0)
    assert gate.bans(700.0) == []
    gate.auth_failed(ATTACKER, 800.0)
    gate.sweep(1400.0)
    assert gate.bans(1400.0) == []


def test_a_lifted_ban_starts_over() -> None:
    gate = Gate(GateSettings(auth_failures=2, ban_seconds=600))
    gate.auth_failed(ATTACKER, 100.0)
    gate.auth_failed(ATTACKER, 101.0)
    assert gate.banned(ATTACKER[0], 102.0)
    assert gate.lift(ATTACKER[0])
    assert not gate.lift(ATTACKER[0])
    assert gate.admit(ATTACKER, b"REGISTER", 102.0)
    gate.auth_failed(ATTACKER, 103.0)  # one failure: the count began again
    assert not gate.banned(ATTACKER[0], 103.0)


def test_the_trunk_is_never_banned_by_others_failures() -> None:
    gate = Gate(GateSettings(auth_failures=3, register_rate=1, burst_seconds=1, flood_excess=5))
    gate.set_trunk([TRUNK[0]], TRUNK[1])
    scanner_on_the_trunks_host = (TRUNK[0], 40000)
    for n in range(5):
        gate.auth_failed(scanner_on_the_trunks_host, 100.0 + n)
    assert gate.banned(TRUNK[0], 105.0)
    assert not gate.admit(scanner_on_the_trunks_host, b"INVITE", 105.0)
    # The trunk itself (its address and port) still gets through, at any rate.
    assert all(gate.admit(TRUNK, b"INVITE", 105.0) for _ in range(1000))
    assert gate.admit(TRUNK, None, 105.0)
    # Its own failures do not count against it.
    for n in range(10):
        gate.auth_failed(TRUNK, 106.0 + n)
    assert gate.admit(TRUNK, b"REGISTER", 120.0)


def test_every_enabled_trunk_is_trusted_by_its_address_and_port_or_its_sources() -> None:
    gate = Gate(GateSettings())
    gate.set_trunks(
        [(["192.0.2.10"], 5060, ()), (["198.51.100.20"], 5070, ("203.0.113.5", "192.0.2.99:5080"))]
    )
    assert gate.trusted(("192.0.2.10", 5060)) and gate.trusted(("198.51.100.20", 5070))
    assert gate.trusted(("203.0.113.5", 1)) and gate.trusted(("192.0.2.99", 5080))
    assert not gate.trusted(("192.0.2.10", 5070))  # trunk a's address, trunk b's port
    assert not gate.trusted(("192.0.2.99", 5081))
    gate.set_trunks([])
    assert not gate.trusted(("192.0.2.10", 5060))


def test_trusted_addresses_from_the_settings() -> None:
    gate = Gate(
        GateSettings(
            trusted=("198.51.100.3", "192.0.2.50:5070", "[2001:db8::1]:5060", "2001:db8::2"),
            auth_failures=1,
        )
    )
    assert gate.trusted(("198.51.100.3", 1234))
    assert gate.trusted(("192.0.2.50", 5070))
    assert not gate.trusted(("192.0.2.50", 5071))
    assert gate.trusted(("2001:db8::1", 5060))
    assert gate.trusted(("2001:db8::2", 7))
    gate.auth_failed(("198.51.100.3", 1234), 10.0)
    assert gate.bans(10.0) == []


def test_loopback_is_not_exempt() -> None:
    gate = Gate(GateSettings(auth_failures=2))
    gate.auth_failed(("127.0.0.1", 5555), 10.0)
    gate.auth_failed(("127.0.0.1", 5556), 11.0)
    assert gate.banned("127.0.0.1", 11.0)


def test_disabled_gate_admits_everything() -> None:
    gate = Gate(GateSettings(enabled=False, register_rate=1, auth_failures=1))
    gate.auth_failed(ATTACKER, 10.0)
    assert all(gate.admit(ATTACKER, b"REGISTER", 10.0) for _ in range(100))


def test_manual_ban_and_idle_sources_are_forgotten() -> None:
    gate = Gate()
    gate.ban("192.0.2.9", "manual", 10.0, seconds=5)
    assert not gate.admit(("192.0.2.9", 1), b"OPTIONS", 12.0)
    gate.admit(PHONE, b"OPTIONS", 12.0)
    gate.sweep(500.0)
    assert gate.bans(500.0) == []
    assert gate._sources == {}
