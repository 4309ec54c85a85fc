"""A trunk with transport "auto" (RFC 3263 4.1): the switch asks NAPTR for the provider's name,
which prefers SIP over TCP to SIP over UDP, follows the TCP record's SRV to its host and port,
and places the agent's call over TCP to the SIPp listening there; the SIPp on the UDP record's
port hears nothing. Proven on the wire (SIPp's message trace: the TCP Via, the Request-URI that
keeps the name) and in the admin's trunk list (where DNS located it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import SERVICE_ID, Rig, running_rig
from tests.support.dns_server import DnsServer
from tests.support.rtp import RtpEndpoint, free_udp_tcp_port
from tests.support.sipp import Sipp

pytestmark = pytest.mark.e2e

DOMAIN = "naptr.provider.test"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def test_auto_transport_follows_naptr_to_tcp(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    signals: dict[str, tuple[Path, list[int]]],
    dns_server: DnsServer,
) -> None:
    serve_args = ["--dns-servers", dns_server.address]
    with running_rig(request, tmp_path, signals, serve_args=serve_args) as rig:
        _run(rig, dns_server)


def _sipp_trunk(rig: Rig, rtp: RtpEndpoint, *, tcp: bool) -> Sipp:
    sipp = Sipp(
        "trunk_answer.xml",
        rig.tmp,
        local_port=free_udp_tcp_port(),
        keys={"rtp_port": str(rtp.port)},
        extra=["-t", "t1"] if tcp else [],
        name=f"trunk-{'tcp' if tcp else 'udp'}-{uuid.uuid4().hex[:6]}",
    )
    rig._closers.append(sipp.stop)
    return sipp.start()


def _run(rig: Rig, dns_server: DnsServer) -> None:
    admin = rig.admin()
    for row in admin.call("GET", "/api/admin/trunks"):  # the demo's, if any: ours only
        admin.call("DELETE", f"/api/admin/trunks/{row['id']}", expect=204)
    rtp = RtpEndpoint()
    rig._closers.append(rtp.close)
    tcp = _sipp_trunk(rig, rtp, tcp=True)
    udp = _sipp_trunk(rig, rtp, tcp=False)
    # TCP first by order; UDP would be next. Both SRV records point at the same host.
    dns_server.add(DOMAIN, "NAPTR", f'20 10 "s" "SIP+D2U" "" _sip._udp.{DOMAIN}.')
    dns_server.add(DOMAIN, "NAPTR", f'10 10 "s" "SIP+D2T" "" _sip._tcp.{DOMAIN}.')
    dns_server.add(f"_sip._tcp.{DOMAIN}", "SRV", f"10 0 {tcp.port} sip.{DOMAIN}.")
    dns_server.add(f"_sip._udp.{DOMAIN}", "SRV", f"10 0 {udp.port} sip.{DOMAIN}.")
    dns_server.add(f"sip.{DOMAIN}", "A", "127.0.0.1")

    created = admin.call(
        "POST",
        "/api/admin/trunks",
        json={"name": "provider", "host": DOMAIN, "transport": "auto"},
        expect=201,
    )
    assert (created["transport"], created["port"]) == ("auto", 0)

    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    body = {"service_id": SERVICE_ID, "number": "5555678", "calling_number": "5550199"}
    alice.call("POST", "/api/calls/dial", json=body)

    tcp.wait_log(r"^invite ", timeout=20)
    invite = tcp.received_requests("INVITE")[0]
    lines = invite.splitlines()
    assert lines[0] == f"INVITE sip:5555678@{DOMAIN} SIP/2.0", lines[0]
    via = next(line for line in lines if line.lower().startswith("via:"))
    assert via.split()[1] == "SIP/2.0/TCP", via
    contact = next(line for line in lines if line.lower().startswith("contact:"))
    assert "transport=tcp" in contact, contact
    call = alice.wait_talking()
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25
    assert udp.received_requests("INVITE") == []
    assert dns_server.count(DOMAIN, "NAPTR") >= 1
    row = admin.call("GET", "/api/admin/trunks")[0]
    assert row["located"] == [f"127.0.0.1:{tcp.port}/tcp", f"127.0.0.1:{udp.port}/udp"], row
    alice.call_action(call["id"], "end")
    tcp.wait_log(r"^ended \S+ by_switch")
    tcp.expect_success(timeout=20)
