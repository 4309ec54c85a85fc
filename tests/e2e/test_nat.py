"""NAT traversal on a simulated network (tests/support/netns.py): an office LAN, and a home
behind a router that masquerades with nftables and forgets a UDP mapping after 3 s.

First the network itself is proven to behave like a home NAT (so the tests above it mean
something): a home packet reaches the server from the router's address and another port, the
server cannot reach the home directly, a mapping left idle past the timeout is gone, and
flushing the router's conntrack gives the home a new public port.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.support.netns import (
    HOME_PHONE,
    OFFICE_PHONE,
    ROUTER_WAN,
    SERVER_WAN,
    NatNetwork,
    nat_network,
)

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
