"""A SIP provider on its own simulated network (tests/support/netns.py, the provider network):
the Ringdesk server is an office VM behind the office router "edge", which forwards SIP and the
RTP range to it; a SIPp trunk in the "provider" namespace requires registration with digest,
challenges our INVITE with 407, and sends its customers' calls to the Contact we registered.

Proven on the wire, with real peers in their namespaces:
- the switch registers to the provider (the digest is checked by SIPp), with the public
  address in Contact and Via;
- a provider call to the registered Contact (the number called in To) reaches the home agent
  behind the home NAT, audio both ways frame by frame (the provider echoes it back);
- the office agent dials out through the provider: the 407 is answered with a right digest,
  audio both ways frame by frame;
- what is advertised is chosen per network: the provider and the home phone are told the
  public address (Contact, SDP), the office desk phone the LAN one.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ringdesk.sip.auth import compute_response, parse_credentials
from tests.e2e.agents import AdminApi, AgentApi
from tests.e2e.conftest import AGENTS, INBOUND, SERVICE_ID
from tests.e2e.test_nat import NsBaresip, NsServer
from tests.support.netns import (
    HOME_PHONE,
    OFFICE_PHONE,
    PROVIDER,
    PROVIDER_SERVER_ADDR,
    PUBLIC,
    SERVER_OFFICE,
    Namespace,
    ProviderNetwork,
    provider_network,
)
from tests.support.rtp import match_audio, samples_to_frames
from tests.support.sipp import Sipp

pytestmark = pytest.mark.e2e

USER, PASSWORD, REALM = "acct-7", "pr0vider-pass", "provider.test"
SIP_PORT = 5060  # in the server namespace, forwarded by the edge (so is the RTP range)
CALLS_FROM = 5062  # the provider's port for the calls it sends (listed as a trunk source)
LOCAL_NETS = "10.201.1.0/24,10.201.5.0/24"  # the office LAN and the server's own LAN
KEEPALIVE = 10  # seconds: well inside the home router's 30 s UDP timeout
CALLER = "+49301234567"


class TracedPhone(NsBaresip):
    """A namespace phone with baresip's SIP trace on (-s): the messages it got are in its log,
    so the test can read what the switch advertised to it."""

    def _popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        return super()._popen([args[0], "-s", *args[1:]], **kwargs)

    def invites(self) -> list[str]:
        """The INVITEs this phone received (as traced)."""
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.log_file.read_text(errors="replace"))
        out = []
        for block in re.split(r"(?m)^#\r?$", text):  # each traced message: "#", "UDP a -> b"
            lines = block.strip().replace("\r\n", "\n").split("\n", 1)
            if len(lines) == 2 and lines[1].startswith("INVITE sip:"):
                out.append(lines[1])
        return out


def _in(ns: Namespace, sipp: Sipp) -> Sipp:
    sipp.args = ns.exec_args(*sipp.args)
    return sipp


@pytest.fixture(scope="module")
def net() -> Iterator[ProviderNetwork]:
    yield from provider_network(udp_timeout=30)


@pytest.fixture(scope="module")
def server(
    net: ProviderNetwork, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[NsServer]:
    """`ringdesk serve` as docs/deploy.md says for a server behind a NAT router with port
    forwards: bound to every address, the router's public address external, the office LAN and
    its own LAN local."""
    data = tmp_path_factory.mktemp("provider") / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGDESK_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["RINGDESK_SIP_KEEPALIVE"] = str(KEEPALIVE)
    first, last = net.rtp_ports
    srv = NsServer(
        data_dir=data,
        database_url=None,
        env=env,
        serve_args=(
            "--sip-port",
            str(SIP_PORT),
            "--sip-external",
            PUBLIC,
            "--local-net",
            LOCAL_NETS,
            "--rtp-ports",
            f"{first}-{last}",
        ),
    )
    srv.ns = net.server
    srv.sip_bind = "0.0.0.0"
    srv.http_address = PROVIDER_SERVER_ADDR
    srv._run_cli("migrate")
    srv._run_cli("demo")
    failed_before = request.session.testsfailed
    srv.launch()
    try:
        yield srv
    finally:
        srv.stop()
        if request.session.testsfailed > failed_before:
            print(f"\n--- server log ({srv.log_path}):\n{srv.log_tail(150)}")


@pytest.fixture(scope="module")
def trunk(
    net: ProviderNetwork, server: NsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sipp]:
    """The provider's registrar and proxy, and its trunk row; yielded once registered."""
    sipp = _in(
        net.provider,
        Sipp(
            "provider_trunk.xml",
            tmp_path_factory.mktemp("trunk"),
            local_host=PROVIDER,
            local_port=5060,
            media_host=PROVIDER,
            calls=2,  # the registration, the outbound call
            replace={"__USER__": USER, "__PASSWORD__": PASSWORD},
            extra=["-rtp_echo"],
            name="provider-trunk",
        ),
    ).start()
    admin = AdminApi(server, "admin", "admin-demo")
    try:
        for other in admin.call("GET", "/api/admin/trunks"):  # the demo's loopback trunk
            admin.call("DELETE", f"/api/admin/trunks/{other['id']}", expect=204)
        admin.call(
            "PATCH", f"/api/admin/services/{SERVICE_ID}", json={"dial_plan": {"country_code": "49"}}
        )
        admin.call(
            "POST",
            f"/api/admin/services/{SERVICE_ID}/calling-numbers",
            json={"number": "+49305550199", "label": "Berlin"},
            expect=201,
        )
        admin.call(
            "POST",
            "/api/admin/trunks",
            json={
                "name": "provider",
                "host": PROVIDER,
                "port": 5060,
                "username": USER,
                "password": PASSWORD,
                "register": True,
                "sources": [f"{PROVIDER}:{CALLS_FROM}"],
                "country_code": "49",
            },
            expect=201,
        )
        sipp.wait_log(r"^register-auth ok", timeout=20)
        _wait_registered(admin)
        yield sipp
    finally:
        admin.close()
        sipp.stop()


def _wait_registered(admin: AdminApi) -> None:
    deadline = time.monotonic() + 15
    rows: dict[str, Any] = {}
    while time.monotonic() < deadline:
        rows = {t["name"]: t for t in admin.call("GET", "/api/admin/trunks")}
        if rows["provider"]["registration"] == "registered":
            return
        time.sleep(0.2)
    raise AssertionError(f"the trunk never showed registered: {rows}")


@pytest.fixture(scope="module")
def phones(
    net: ProviderNetwork,
    server: NsServer,
    tmp_path_factory: pytest.TempPathFactory,
    signals: dict[str, tuple[Path, list[int]]],
) -> Iterator[dict[str, TracedPhone]]:
    """Alice's desk phone on the office LAN (registrar: the server's office address) and Bob's
    at home behind the NAT (registrar: the public address, forwarded by the edge)."""
    tmp = tmp_path_factory.mktemp("phones")
    made: dict[str, TracedPhone] = {}
    try:
        for agent, ns, address, registrar in (
            ("alice", net.office, OFFICE_PHONE, SERVER_OFFICE),
            ("bob", net.home, HOME_PHONE, PUBLIC),
        ):
            demo = AGENTS[agent]
            phone = TracedPhone(
                ns,
                address,
                tmp,
                user=demo.cti_id,
                password=demo.phone_password,
                registrar=(registrar, SIP_PORT),
                source_wav=signals[agent][0],
                name=f"phone-{agent}",
            )
            made[agent] = phone
            phone.start()
            phone.wait_registered()
        yield made
    finally:
        for phone in made.values():
            phone.stop()


def _heard_matches(phone: TracedPhone, signal: list[int]) -> int:
    """Frames of what the phone heard that match its own signal, echoed back by the provider
    through the switch: both directions of the call's audio."""
    return match_audio(samples_to_frames(phone.heard()), signal).matched_loud


def _host_port(uri: str) -> tuple[str, int]:
    found = re.match(r"sips?:(?:[^@]*@)?([^:;>]+):(\d+)", uri)
    assert found, uri
    return found[1], int(found[2])


def _sdp_address(message: str) -> str:
    found = re.search(r"(?m)^c=IN IP4 (\S+)", message)
    assert found, message
    return found[1]


def _contact_host(message: str) -> str:
    found = re.search(r"(?mi)^(?:Contact|m):\s*<sip:[^@>]*@?([^:;>]+)", message)
    assert found, message
    return found[1]


def test_the_switch_registers_to_the_provider_with_digest_and_the_public_address(
    trunk: Sipp,
) -> None:
    contact, via = trunk.wait_log(r"^register contact=(\S*) via=(.*)$").groups()
    # SIPp checked the digest (register-auth ok, awaited by the fixture); the provider was
    # told the edge's public address, which forwards to the server, never its LAN address.
    assert _host_port(contact) == (PUBLIC, SIP_PORT), contact
    assert re.match(rf"SIP/2.0/UDP {re.escape(PUBLIC)}:{SIP_PORT};", via.strip()), via
    registers = trunk.received_requests("REGISTER")
    assert len(registers) == 2 and "Authorization: Digest" in registers[1]
    assert "10.201.5." not in "".join(registers)


def test_a_provider_call_to_the_registered_contact_reaches_the_home_agent_with_audio(
    net: ProviderNetwork,
    server: NsServer,
    trunk: Sipp,
    phones: dict[str, TracedPhone],
    tmp_path_factory: pytest.TempPathFactory,
    signals: dict[str, tuple[Path, list[int]]],
) -> None:
    contact = trunk.wait_log(r"^register contact=(\S*)")[1]
    home = phones["bob"]
    bob = AgentApi(server, "bob", "bob-demo")
    caller = _in(
        net.provider,
        Sipp(
            "provider_call_in.xml",
            tmp_path_factory.mktemp("caller"),
            remote=_host_port(contact),
            service=INBOUND,
            local_host=PROVIDER,
            local_port=CALLS_FROM,
            media_host=PROVIDER,
            keys={"contact_uri": contact, "caller": CALLER},
            extra=["-rtp_echo"],
            name=f"provider-call-{uuid.uuid4().hex[:6]}",
        ),
    )
    try:
        bob.ready()
        caller.start()
        mark = home.mark()
        offer = bob.wait_offer()
        bob.answer(offer["call_id"])
        answered = caller.wait_log(r"^answered \S+ contact=(\S*) sdp=(\S*) port=(\d+)")
        call = bob.wait_talking()
        assert call["customer_number"] == CALLER
        home.wait_event("CALL_RTPESTAB", since=mark)
        home.wait_heard(4.0)
        matched = _heard_matches(home, signals["bob"][1])
        assert matched >= 100, f"the home agent heard {matched} frames of its own echo"
        # The provider was told the public address in the answer (Contact and SDP); the home
        # phone, outside the local networks too, was rung with it as well.
        assert _host_port(answered[1]) == (PUBLIC, SIP_PORT)
        assert answered[2] == PUBLIC
        invite = home.invites()[-1]
        assert _contact_host(invite) == PUBLIC and _sdp_address(invite) == PUBLIC, invite
        bob.call_action(call["id"], "end")
        caller.wait_log(r"^ended \S+ by_switch")
        caller.expect_success(timeout=20)
    finally:
        caller.stop()
        bob.close()


def test_the_office_agent_dials_out_through_the_provider_answering_its_407(
    server: NsServer,
    trunk: Sipp,
    phones: dict[str, TracedPhone],
    signals: dict[str, tuple[Path, list[int]]],
) -> None:
    office = phones["alice"]
    alice = AgentApi(server, "alice", "alice-demo")
    try:
        alice.cti_login()
        alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
        mark = office.mark()
        body = {"service_id": SERVICE_ID, "number": "030 1234567", "calling_number": "+49305550199"}
        alice.call("POST", "/api/calls/dial", json=body)
        first = trunk.wait_log(r"^invite1 ruri=(\S*) contact=(\S*) sdp=(\S*)")
        assert first[1].startswith("sip:+49301234567@")
        creds = parse_credentials(trunk.wait_log(r"^invite2 proxy-authorization (.*)")[1].strip())
        assert creds is not None and creds.username == USER and creds.realm == REALM
        assert creds.response == compute_response(
            algorithm="MD5",
            username=USER,
            realm=REALM,
            password=PASSWORD,
            method="INVITE",
            uri=creds.uri,
            nonce=creds.nonce,
            qop=None,
            nc="",
            cnonce="",
        )
        second = trunk.wait_log(r"^invite2 contact=(\S*) sdp=(\S*) port=(\d+)")
        call = alice.wait_talking()
        office.wait_event("CALL_RTPESTAB", since=mark)
        office.wait_heard(4.0)
        matched = _heard_matches(office, signals["alice"][1])
        assert matched >= 100, f"the office agent heard {matched} frames of its own echo"
        # Per network: the provider got the public address in Contact and SDP (both INVITEs),
        # the office desk phone the server's LAN address toward it.
        for contact, sdp in (first.group(2, 3), second.group(1, 2)):
            assert _host_port(contact) == (PUBLIC, SIP_PORT) and sdp == PUBLIC
        invite = office.invites()[-1]
        assert _contact_host(invite) == SERVER_OFFICE, invite
        assert _sdp_address(invite) == SERVER_OFFICE, invite
        alice.call_action(call["id"], "end")
        trunk.wait_log(r"^ended \S+ by_switch")
        trunk.expect_success(timeout=20)
    finally:
        alice.close()
