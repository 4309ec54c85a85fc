"""IPv4 and IPv6 peers of one dual-stack server, each in its own network namespace
(tests/support/dual_stack.py: 10.201.10.0/24 and fd00:201:10::/48 on veths
that exist only for this test; nothing leaves the machine).

The real `ringdesk serve` runs in the server namespace bound to '::' (SIP and RTP, both
families on one socket each). Two calls cross families through the RTP relay:

1. a carrier calling over IPv4 (SIPp, SDP in IN IP4) reaches an IPv6-only desk phone (baresip
   registered over IPv6, SDP in IN IP6);
2. a carrier calling over IPv6 (SIPp -i with an IPv6 address, IN IP6) reaches an IPv4-only
   desk phone.

Each side is told our address on its own link in its own family (Contact and SDP), and the
audio is checked frame by frame both ways: the customer's signal in what the phone heard, the
phone's signal in what the customer's RTP port got.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agents import AgentApi
from tests.e2e.conftest import AGENTS, FAILED, INBOUND
from tests.e2e.test_nat import NsBaresip, NsServer
from tests.support.dual_stack import (
    DS_CARRIER4,
    DS_CARRIER6,
    DS_PHONE4,
    DS_PHONE6,
    DS_SERVER,
    DS_SERVER_CARRIER4,
    DS_SERVER_CARRIER6,
    DS_SERVER_PHONE4,
    DS_SERVER_PHONE6,
    DualStackNetwork,
    dual_stack_network,
    inside,
)
from tests.support.netns import Namespace
from tests.support.rtp import RtpEndpoint, match_audio, samples_to_frames
from tests.support.sipp import Customer

pytestmark = pytest.mark.e2e

Signals = dict[str, tuple[Path, list[int]]]


class DualServer(NsServer):
    """`ringdesk serve` in the server namespace, SIP and RTP bound to '::' (dual stack)."""

    sip_bind = "::"
    http_address = DS_SERVER


@pytest.fixture
def net() -> Iterator[DualStackNetwork]:
    yield from dual_stack_network()


@pytest.fixture
def server(
    net: DualStackNetwork, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[DualServer]:
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGDESK_")}
    env["PYTHONUNBUFFERED"] = "1"
    server = DualServer(data_dir=data, database_url=None, env=env)
    server.ns = net.server
    server._run_cli("migrate")
    server._run_cli("demo")
    server.launch()
    try:
        for carrier in (DS_CARRIER4, DS_CARRIER6):  # the carrier's two addresses: trunk sources
            server.trust_source(carrier)
        yield server
    finally:
        server.stop()
        if request.node.stash.get(FAILED, False):
            print(f"\n--- server log ({server.log_path}):\n{server.log_tail(120)}")


def _phone(
    ns: Namespace,
    address: str,
    registrar: str,
    server: DualServer,
    tmp: Path,
    agent: str,
    wav: Path,
) -> NsBaresip:
    """`agent`'s desk phone in `ns` at `address`, registering at our `registrar` address."""
    demo = AGENTS[agent]
    return NsBaresip(
        ns,
        address,
        tmp,
        user=demo.cti_id,
        password=demo.phone_password,
        registrar=(registrar, server.sip_port),
        source_wav=wav,
        name=f"phone-{agent}",
        sip_trace=True,
    )


def _call(
    net: DualStackNetwork,
    server: DualServer,
    tmp: Path,
    signals: Signals,
    *,
    source: str,
    ours_toward_carrier: str,
    ours_toward_phone: str,
    agent: AgentApi,
    phone: NsBaresip,
    name: str,
) -> None:
    """A customer calls from the carrier's `source`; `agent` answers on `phone`; audio is
    checked both ways; the agent ends the call."""
    rtp = inside(net.carrier, lambda: RtpEndpoint(source))  # the customer's RTP, in its netns
    customer = Customer(
        tmp,
        (ours_toward_carrier, server.sip_port),
        INBOUND,
        rtp_port=rtp.port,
        source=source,
        media_host=source,
    )
    customer.sipp.args = net.carrier.exec_args(*customer.sipp.args)
    try:
        customer.start()
        rtp.send_samples(signals["customer"][1])
        mark = phone.mark()
        agent.answer(agent.wait_offer()["call_id"])
        phone.wait_event("CALL_ESTABLISHED", since=mark)
        customer.wait_answered()
        media = customer.media()
        # Toward the carrier: our address on its link, in the family it called in.
        assert media.host == ours_toward_carrier, media
        host = f"[{ours_toward_carrier}]" if ":" in ours_toward_carrier else ours_toward_carrier
        assert f"<sip:ringdesk@{host}:{server.sip_port}>" in customer.sipp.messages()
        rtp.remote = (media.host, media.port)
        # Toward the phone: our address on its link, in its family (RFC 5118 brackets).
        invite = phone.received("INVITE")[-1]
        phone_host = f"[{ours_toward_phone}]" if ":" in ours_toward_phone else ours_toward_phone
        assert f"Contact: <sip:ringdesk@{phone_host}:{server.sip_port}>" in invite, invite
        family = "IP6" if ":" in ours_toward_phone else "IP4"
        assert f"c=IN {family} {ours_toward_phone}\n" in invite, invite
        call = agent.wait_talking()
        # The phone's audio, relayed across families, reaches the customer frame by frame.
        match, _ = rtp.wait_matching(signals[name][1])
        assert match.matched_loud >= 25, f"customer heard {name}'s phone: {match}"
        phone.wait_heard(3.0)
        agent.call_action(call["id"], "end")
        assert customer.wait_ended() == "by_switch"
        phone.wait_event("CALL_CLOSED", since=mark)
    finally:
        customer.stop()
        rtp.close()
    # And the customer's audio reached the phone, frame by frame.
    heard = match_audio(samples_to_frames(phone.heard()), signals["customer"][1])
    assert heard.matched_loud >= 50, f"{name}'s phone heard the customer: {heard}"
    print(f"{source} -> {name}: customer got {match}; the phone heard {heard}")


def test_ipv4_carrier_to_an_ipv6_phone_and_ipv6_carrier_to_an_ipv4_phone_with_audio(
    net: DualStackNetwork, server: DualServer, tmp_path: Path, signals: Signals
) -> None:
    # The networks are what they claim: the IPv6 phone has no IPv4 address but loopback's,
    # the IPv4 phone no global IPv6 address; each reaches the server in its family only.
    v4_in_phone6 = net.phone6.run("ip", "-4", "-o", "addr", "show").stdout
    assert "inet " in v4_in_phone6 and all(
        "127.0.0.1" in line for line in v4_in_phone6.splitlines()
    ), v4_in_phone6
    assert "scope global" not in net.phone4.run("ip", "-6", "-o", "addr", "show").stdout
    assert net.phone6.run("ping", "-c1", "-W1", DS_SERVER_PHONE4, check=False).returncode != 0
    assert net.phone4.run("ping", "-c1", "-W1", DS_SERVER_PHONE6, check=False).returncode != 0

    with server.client() as http:
        addresses = http.get("/healthz").json()["addresses"]
    assert addresses["sip_bound"].startswith("::") and addresses["rtp_bound"] == "::"

    alice_phone = _phone(
        net.phone6, DS_PHONE6, DS_SERVER_PHONE6, server, tmp_path, "alice", signals["alice"][0]
    )
    bob_phone = _phone(
        net.phone4, DS_PHONE4, DS_SERVER_PHONE4, server, tmp_path, "bob", signals["bob"][0]
    )
    alice = AgentApi(server, "alice", "alice-demo")
    bob = AgentApi(server, "bob", "bob-demo")
    try:
        for phone in (alice_phone, bob_phone):
            phone.start()
            phone.wait_registered()

        # 1. IPv4 carrier -> IPv6-only phone (alice); bob is not logged in yet.
        alice.ready()
        _call(
            net,
            server,
            tmp_path,
            signals,
            source=DS_CARRIER4,
            ours_toward_carrier=DS_SERVER_CARRIER4,
            ours_toward_phone=DS_SERVER_PHONE6,
            agent=alice,
            phone=alice_phone,
            name="alice",
        )
        alice.set_status("rest")  # the next call is bob's

        # 2. IPv6 carrier -> IPv4-only phone (bob).
        bob.ready()
        _call(
            net,
            server,
            tmp_path,
            signals,
            source=DS_CARRIER6,
            ours_toward_carrier=DS_SERVER_CARRIER6,
            ours_toward_phone=DS_SERVER_PHONE4,
            agent=bob,
            phone=bob_phone,
            name="bob",
        )
    finally:
        for closer in (alice.close, bob.close, alice_phone.stop, bob_phone.stop):
            try:
                closer()
            except Exception as exc:
                print(f"teardown: {closer!r} failed: {exc!r}")
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log
    assert "family mismatch" not in log
