"""Provider trunks over TLS as the switch dials them, with real parts: SIPp (no TLS of its own)
on TCP behind stunnel as the TLS server, with a certificate from a test CA that the switch is
told to trust (--trunk-ca-file), names served by a DNS server on loopback (--dns-servers).

The trunk "trunk.test" requires registration with digest over TLS (SIPp checks the digest);
the higher-priority trunk "wrong.test" presents the same certificate, which does not name it:
its TLS connection is refused by the switch and the agent's call fails over to "trunk.test" at
once (a transport error, not a 32 s transaction timeout), is answered there over the TLS
connection the registration opened (stunnel accepted exactly one), and the agent's audio comes
out of the relay at the provider's RTP address. The refused trunk's reason is in the admin's
trunk list."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SERVICE_ID, Rig, running_rig
from tests.support.certs import TestCa
from tests.support.dns_server import DnsServer
from tests.support.rtp import RtpEndpoint, free_udp_tcp_port
from tests.support.sipp import Sipp
from tests.support.stunnel import TlsServer

pytestmark = pytest.mark.e2e

USER, PASSWORD = "acct-tls", "tls-pr0vider-pass"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        server.add("trunk.test", "A", "127.0.0.1")
        server.add("wrong.test", "A", "127.0.0.1")
        yield server


def test_tls_trunk_registers_with_digest_and_takes_the_call_after_a_wrong_name_fails_over(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    signals: dict[str, tuple[Path, list[int]]],
    dns_server: DnsServer,
) -> None:
    ca = TestCa(tmp_path)
    serve_args = [
        "--trunk-ca-file",
        str(ca.cert_path),
        "--dns-servers",
        dns_server.address,
        "--srtp-trunk",
        "off",  # SIPp cannot do SRTP; over TLS the switch would offer it (srtp.py "tls")
    ]
    with running_rig(request, tmp_path, signals, serve_args=serve_args) as rig:
        _run(rig, ca)


def _trunk(rig: Rig, **body: Any) -> dict[str, Any]:
    created: dict[str, Any] = rig.admin().call("POST", "/api/admin/trunks", json=body, expect=201)
    return created


def _rows(rig: Rig) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in rig.admin().call("GET", "/api/admin/trunks")}


def _run(rig: Rig, ca: TestCa) -> None:
    admin = rig.admin()
    for row in admin.call("GET", "/api/admin/trunks"):  # the demo's, if any: ours only
        admin.call("DELETE", f"/api/admin/trunks/{row['id']}", expect=204)
    cert, key = ca.issue(["trunk.test"])  # a DNS name only: a check by IP would fail
    rtp = RtpEndpoint()
    rig._closers.append(rtp.close)
    sipp = Sipp(
        "trunk_tls_register_answer.xml",
        rig.tmp,
        local_port=free_udp_tcp_port(),
        calls=2,
        keys={"rtp_port": str(rtp.port)},
        replace={"__USER__": USER, "__PASSWORD__": PASSWORD},
        extra=["-t", "t1"],
        name=f"trunk-tls-{uuid.uuid4().hex[:6]}",
    )
    rig._closers.append(sipp.stop)
    sipp.start()
    good = TlsServer(rig.tmp, ("127.0.0.1", sipp.port), cert, key).start()
    rig._closers.append(good.stop)
    wrong = TlsServer(rig.tmp, ("127.0.0.1", sipp.port), cert, key).start()
    rig._closers.append(wrong.stop)

    _trunk(
        rig,
        name="wrong-name",
        host="wrong.test",
        port=wrong.port,
        transport="tls",
        priority=1,
    )
    _trunk(
        rig,
        name="provider",
        host="trunk.test",
        port=good.port,
        transport="tls",
        username=USER,
        password=PASSWORD,
        register=True,
        priority=2,
    )
    sipp.wait_log(r"^register-auth ok", timeout=20)
    deadline = time.monotonic() + 10
    while _rows(rig)["provider"]["registration"] != "registered":
        assert time.monotonic() < deadline, _rows(rig)
        time.sleep(0.2)
    register = sipp.received_requests("REGISTER")
    assert len(register) == 2 and "Authorization: Digest" in register[1]
    assert register[0].splitlines()[1].startswith("Via: SIP/2.0/TLS "), register[0]

    alice = rig.agent("alice")
    rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    body = {"service_id": SERVICE_ID, "number": "5555678", "calling_number": "5550199"}
    started = time.monotonic()
    alice.call("POST", "/api/calls/dial", json=body)
    sipp.wait_log(r"^invite ", timeout=20)
    failover = time.monotonic() - started
    invite = sipp.received_requests("INVITE")[0]
    first_line = invite.splitlines()[0]
    assert first_line.startswith("INVITE sip:") and ";transport=tls" in first_line, first_line
    assert "Via: SIP/2.0/TLS " in invite
    call = alice.wait_talking()
    match, _ = rtp.wait_matching(rig.signal("alice"))
    assert match.matched_loud >= 25

    # The wrong-name trunk was refused by the switch, not by the provider: nothing reached
    # SIPp from it (its one INVITE came over the registration's connection), and the switch
    # says why in the trunk list and in one log line; the failover came well before the
    # 32 s a lost INVITE takes to time out.
    assert failover < 15, failover
    assert good.connections() == 1, good.full_log()[-2000:]
    assert wrong.connections() >= 1 and wrong.handshake_failures() >= 1  # never completed
    assert good.handshake_failures() == 0
    log = rig.server.log_tail(400)
    assert "trunk wrong-name failed (not reachable): trying trunk provider" in log, log
    refused = [line for line in log.splitlines() if "certificate not accepted" in line]
    assert len(refused) == 1 and "Hostname mismatch" in refused[0], refused
    rows = _rows(rig)
    assert "Hostname mismatch" in (rows["wrong-name"]["last_error"] or ""), rows["wrong-name"]
    assert rows["provider"]["last_error"] is None

    alice.call_action(call["id"], "end")
    sipp.wait_log(r"^ended \S+ by_switch")
    sipp.expect_success(timeout=20)
    assert good.connections() == 1
