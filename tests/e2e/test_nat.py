"""NAT traversal on a simulated network (tests/support/netns.py): an office LAN, and a home
behind a router that masquerades with nftables and forgets a UDP mapping after 3 s.

First the network itself is proven to behave like a home NAT (so the tests above it mean
something): a home packet reaches the server from the router's address and another port, the
server cannot reach the home directly, a mapping left idle past the timeout is gone, and
flushing the router's conntrack gives the home a new public port.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agents import AgentApi
from tests.e2e.conftest import AGENTS, FAILED, INBOUND
from tests.support.baresip import Baresip
from tests.support.netns import (
    HOME_PHONE,
    OFFICE_PHONE,
    ROUTER_WAN,
    SERVER_ADDR,
    SERVER_WAN,
    Namespace,
    NatNetwork,
    nat_network,
)
from tests.support.rtp import match_audio, samples_to_frames
from tests.support.server import STARTUP_TIMEOUT, RunningServer, ServerError
from tests.support.sipp import CARRIER, Customer

pytestmark = pytest.mark.e2e

UDP_TIMEOUT = 3

# A UDP echo that reports where each datagram came from: runs in the server namespace.
_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(2048)
    print(f"{addr[0]}:{addr[1]}", flush=True)
    s.sendto(b"echo " + data, addr)
"""

# A client that sends from one fixed port and says what came back (or "timeout").
_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[3])))
s.settimeout(float(sys.argv[5]))
s.sendto(sys.argv[4].encode(), (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recvfrom(2048)[0].decode())
except TimeoutError:
    print("timeout")
"""


@pytest.fixture
def net() -> Iterator[NatNetwork]:
    yield from nat_network(udp_timeout=UDP_TIMEOUT)


def _client(ns_net: NatNetwork, where: str, message: str, port: int = 40000) -> str:
    ns = ns_net.home if where == "home" else ns_net.office
    done = ns.run(sys.executable, "-c", _CLIENT, SERVER_WAN, "47000", str(port), message, "2")
    return done.stdout.strip()


def test_the_home_is_behind_a_nat_that_forgets(net: NatNetwork) -> None:
    echo = net.server.popen(
        [sys.executable, "-u", "-c", _ECHO, SERVER_WAN, "47000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert echo.stdout is not None
        assert echo.stdout.readline().strip() == b"ready"
        # The office phone is seen at its own address; the home phone only as the router.
        assert _client(net, "office", "hi") == "echo hi"
        assert echo.stdout.readline().decode().strip() == f"{OFFICE_PHONE}:40000"
        assert _client(net, "home", "hello") == "echo hello"
        seen_host, seen_port = echo.stdout.readline().decode().strip().split(":")
        assert seen_host == ROUTER_WAN  # masqueraded
        assert "dport=47000" in net.nat_mappings()
        # The server has no route to the home LAN: only the mapping lets it answer.
        direct = net.server.run("ping", "-c", "1", "-W", "1", HOME_PHONE, check=False)
        assert direct.returncode != 0
        # Past the timeout the router forgot the mapping.
        time.sleep(UDP_TIMEOUT + 1.5)
        assert "dport=47000" not in net.nat_mappings()
        # A new mapping after a flush: the same home socket appears from another public port
        # (masquerade random), which is what re-latching must follow.
        ports = {seen_port}
        for _ in range(3):
            assert _client(net, "home", "again") == "echo again"
            ports.add(echo.stdout.readline().decode().strip().split(":")[1])
            net.flush_nat()
        assert len(ports) > 1
    finally:
        echo.kill()
        echo.wait(5)


# ---- the Ringdesk server, its phones and a customer, each in its namespace -----------------

_CLONE_NEWNET = 0x40000000
KEEPALIVE = 1  # seconds between keep-alive OPTIONS: well below the router's 3 s UDP timeout


def connect_in(ns: Namespace, address: tuple[str, int], timeout: float = 2.0) -> socket.socket:
    """A TCP connection made from inside `ns` (a socket keeps the namespace it was made in):
    made in a short-lived thread that joins the namespace, so the test process stays put."""
    result: list[socket.socket | BaseException] = []

    def inside() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{ns.name}", os.O_RDONLY)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns.name}")
            finally:
                os.close(fd)
            result.append(socket.create_connection(address, timeout=timeout))
        except BaseException as exc:  # handed to the caller
            result.append(exc)

    thread = threading.Thread(target=inside)
    thread.start()
    thread.join()
    got = result[0]
    if isinstance(got, BaseException):
        raise got
    return got


class NsServer(RunningServer):
    """`ringdesk serve` inside the server namespace: SIP and RTP on its WAN address, HTTP on
    every address there (the test reaches it at SERVER_ADDR, over the root veth). Another
    network sets `sip_bind` (e.g. '::') and `http_address`."""

    ns: Namespace
    sip_bind = SERVER_WAN
    http_address = SERVER_ADDR

    @property
    def base_url(self) -> str:
        return f"{self.http_scheme}://{self.http_address}:{self.http_port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """Off loopback the server serves HTTPS with its self-signed certificate, named for
        the machine rather than the test address: trusted as that certificate, by its bytes."""
        if self.http_scheme != "https":
            return True
        context = ssl.create_default_context(cafile=str(self.tls_cert))
        context.check_hostname = False
        return context

    def launch(self) -> None:
        ports_file = self.data_dir / "server.json"
        ports_file.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.process = self.ns.popen(
                [
                    sys.executable,
                    "-m",
                    "ringdesk.cli",
                    "serve",
                    "--http-host",
                    "0.0.0.0",
                    "--http-port",
                    "0",
                    "--sip-host",
                    self.sip_bind,
                    "--sip-port",
                    "0",
                    *self._db_args(),
                    *self.serve_args,  # last: a flag here wins over the ones above
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ports_file.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"server did not start:\n{self.log_tail()}")
            time.sleep(0.1)
        info = json.loads(ports_file.read_text())
        self.http_port = int(info["http_port"])
        self.sip_host = str(info["sip_host"])
        self.sip_port = int(info["sip_port"])
        self.http_scheme = str(info.get("http_scheme", "http"))
        self._wait_healthy(deadline)


class NsBaresip(Baresip):
    """baresip inside a namespace, listening on that namespace's address (IPv4 or IPv6);
    driven over ctrl_tcp on the namespace's own loopback."""

    def __init__(self, ns: Namespace, address: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, listen=address, **kwargs)
        self.ns = ns
        self.address = address

    def _popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        return self.ns.popen(args, **kwargs)

    def _connect_ctrl(self) -> socket.socket:
        return connect_in(self.ns, ("127.0.0.1", self.ctrl_port))


@pytest.fixture
def nat_server(
    net: NatNetwork, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[NsServer]:
    data = tmp_path / "data"
    data.mkdir()
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("RINGDESK_"):
            del env[name]
    env["PYTHONUNBUFFERED"] = "1"
    env["RINGDESK_SIP_KEEPALIVE"] = str(KEEPALIVE)
    server = NsServer(data_dir=data, database_url=None, env=env)
    server.ns = net.server
    server._run_cli("migrate")
    server._run_cli("demo")
    server.launch()
    try:
        server.trust_source(CARRIER)
        yield server
    finally:
        server.stop()
        if request.node.stash.get(FAILED, False):
            print(f"\n--- server log ({server.log_path}):\n{server.log_tail(120)}")


def _phone(
    ns: Namespace, address: str, server: NsServer, tmp: Path, agent: str, wav: Path
) -> NsBaresip:
    demo = AGENTS[agent]
    phone = NsBaresip(
        ns,
        address,
        tmp,
        user=demo.cti_id,
        password=demo.phone_password,
        registrar=(server.sip_host, server.sip_port),
        source_wav=wav,
        regint=3600,  # only the keep-alives cross the NAT while it idles
        name=f"phone-{agent}",
    )
    phone.start()
    phone.wait_registered()
    return phone


def _customer(net: NatNetwork, server: NsServer, tmp: Path) -> Customer:
    """A customer from the test carrier's address, in the server namespace, echoing back
    whatever audio the switch sends it (SIPp -rtp_echo)."""
    customer = Customer(tmp, (server.sip_host, server.sip_port), INBOUND, echo=True)
    customer.sipp.args = net.server.exec_args(*customer.sipp.args)
    return customer.start()


def _talk(agent: AgentApi, customer: Customer, phone: Baresip) -> dict[str, Any]:
    mark = phone.mark()
    agent.answer(agent.wait_offer()["call_id"])
    customer.wait_answered()
    call = agent.wait_talking()
    phone.wait_event("CALL_RTPESTAB", since=mark)
    return call


def _heard_matches(phone: Baresip, signal: list[int], after: int = 0) -> int:
    """Frames of what the phone heard (from sample `after` on) that match its own signal,
    echoed back by the customer through the switch."""
    heard = phone.heard()[after:]
    return match_audio(samples_to_frames(heard), signal).matched_loud


def test_office_and_home_phones_take_calls_the_nat_stays_open_and_media_follows_a_rebinding(
    net: NatNetwork,
    nat_server: NsServer,
    tmp_path: Path,
    signals: dict[str, tuple[Path, list[int]]],
) -> None:
    server = nat_server
    office = _phone(net.office, OFFICE_PHONE, server, tmp_path, "alice", signals["alice"][0])
    home = _phone(net.home, HOME_PHONE, server, tmp_path, "bob", signals["bob"][0])
    alice = AgentApi(server, "alice", "alice-demo")
    bob = AgentApi(server, "bob", "bob-demo")
    try:
        # Idle three NAT timeouts: only the switch's keep-alives cross the router, and the
        # home phone's mapping is still there afterwards.
        sip_mapping = f"dport={server.sip_port}"
        assert sip_mapping in net.nat_mappings()
        time.sleep(3 * UDP_TIMEOUT)
        assert sip_mapping in net.nat_mappings(), "the keep-alives kept the NAT mapping open"

        # The office desk phone takes a call: its audio goes to the customer and back.
        alice.ready()
        first = _customer(net, server, tmp_path)
        call = _talk(alice, first, office)
        office.wait_heard(4.0)
        assert _heard_matches(office, signals["alice"][1]) >= 100
        alice.call_action(call["id"], "end")
        assert first.wait_ended() == "by_switch"

        # The home agent, reached only through the NAT, takes the next one.
        bob.ready()
        second = _customer(net, server, tmp_path)
        call = _talk(bob, second, home)
        home.wait_heard(4.0)
        assert _heard_matches(home, signals["bob"][1]) >= 100
        # Mid-call the router forgets its mappings: the phone's RTP now arrives from another
        # public port, the switch follows it and the audio comes back.
        before = len(home.heard())
        net.flush_nat()
        home.wait_heard(before / 8000 + 4.0)
        resumed = _heard_matches(home, signals["bob"][1], after=before + 8000)
        assert resumed >= 100, f"audio after the NAT rebinding: {resumed} frames matched"
        assert "RTP moved from" in server.log_path.read_text()
        bob.call_action(call["id"], "end")
        assert second.wait_ended() == "by_switch"
    finally:
        for closer in (alice.close, bob.close, office.stop, home.stop):
            try:
                closer()
            except Exception as exc:
                print(f"teardown: {closer!r} failed: {exc!r}")
