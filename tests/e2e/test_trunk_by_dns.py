"""A trunk located by DNS (RFC 3263): configured as a domain name without a port, its SRV
record (served by a real DNS server on loopback, tests/support/dns_server.py) points at two
SIPp trunks; the first by priority answers 503, so the call goes to the second and gets
through. The switch asks only the loopback DNS server (--dns-servers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import SERVICE_ID, Rig, running_rig
from tests.support.dns_server import DnsServer
from tests.support.sipp import Trunk

pytestmark = pytest.mark.e2e

DOMAIN = "sip.provider.test"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def test_srv_priority_then_failover_past_a_503(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    signals: dict[str, tuple[Path, list[int]]],
    dns_server: DnsServer,
) -> None:
    serve_args = ["--dns-servers", dns_server.address]
    with running_rig(request, tmp_path, signals, serve_args=serve_args) as rig:
        _run(rig, dns_server)


def _run(rig: Rig, dns_server: DnsServer) -> None:
    unavailable = Trunk(rig.tmp, "unavailable").start()
    rig._closers.append(unavailable.stop)
    good, _rtp = rig.trunk("answer")  # also points the demo trunk at it: removed below
    dns_server.add(f"_sip._udp.{DOMAIN}", "SRV", f"10 0 {unavailable.port} a.{DOMAIN}.", ttl=60)
    dns_server.add(f"_sip._udp.{DOMAIN}", "SRV", f"20 0 {good.port} b.{DOMAIN}.", ttl=60)
    dns_server.add(f"a.{DOMAIN}", "A", "127.0.0.1")
    dns_server.add(f"b.{DOMAIN}", "A", "127.0.0.1")
    # The provider trunk by name and without a port (0: locate it by DNS); the trunks table
    # is the admin's (store/trunks.py), written here directly, then an admin save reloads it.
    with sqlite3.connect(rig.server.data_dir / "ringdesk.db") as db:
        db.execute("DELETE FROM trunks")  # the demo's: this provider is the only trunk
        db.execute(
            "INSERT INTO trunks (name, host, port, transport) VALUES (?, ?, 0, 'udp')",
            ("provider", DOMAIN),
        )
    admin = rig.admin()
    admin.update_settings()  # any save reloads the configuration

    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    body = {"service_id": SERVICE_ID, "number": "5555678", "calling_number": "5550199"}
    alice.call("POST", "/api/calls/dial", json=body)

    first = unavailable.wait_invite()
    unavailable.sipp.wait_log(r"^refused \S+ 503")
    second = good.wait_invite()
    # Same call, to the domain (RFC 3263: the Request-URI keeps the name, no port).
    for invite in (first, second):
        line = invite.splitlines()[0]
        assert line.startswith("INVITE sip:") and line.endswith(f"@{DOMAIN} SIP/2.0"), line
    call_id = [h for h in first.splitlines() if h.lower().startswith("call-id:")]
    assert call_id and call_id[0] in second.splitlines(), (first, second)
    call = alice.wait_talking()
    assert dns_server.count(f"_sip._udp.{DOMAIN}", "SRV") == 1
    alice.call_action(call["id"], "end")
    good.sipp.wait_log(r"^ended \S+ by_switch")
    good.sipp.expect_success(timeout=20)
