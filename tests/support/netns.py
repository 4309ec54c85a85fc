"""Simulated networks for the tests: Linux network namespaces joined by veth pairs.

Everything here lives inside namespaces this module creates and removes; the only addresses
used are the test-only ranges below, which exist nowhere but on these veths (no route to them
leaves the machine, and the namespaces have no default route out of the test network):

    10.201.0.0/24   root namespace <-> "server"   (the test process reaches the server's HTTP)
    10.201.1.0/24   "server" <-> "office" LAN     (desk phones, no NAT)
    10.201.2.0/24   "server" <-> "router" WAN side (the home router's public address)
    10.201.3.0/24   "router" LAN side <-> "home"   (home agents, masqueraded by the router)

    root (10.201.0.1) ── (10.201.0.2) server (10.201.1.1) ── (10.201.1.2) office
                                          (10.201.2.1) ── (10.201.2.2) router (10.201.3.1)
                                                                          ── (10.201.3.2) home

The server namespace has no route to 10.201.3.0/24: the home phone is reachable only through
the router's masquerade (nftables), like an agent behind a home NAT. The router's UDP conntrack
timeout is short (`udp_timeout` seconds) so a NAT mapping expires in seconds, not minutes.

The provider network (`ProviderNetwork`, `provider_network()`) is the same office and home with
the server moved behind the office's own router "edge", which forwards the SIP port and the RTP
range to it (a VM behind a NAT router with port forwards, docs/deploy.md) and owns the public
address the home router and a SIP provider "on the internet" reach:

    10.201.7.0/24   root namespace <-> "server"   (HTTP for the test: a range of its own, so
                                                   this network and the one above coexist)
    10.201.1.0/24   "server" <-> "office" LAN     (as above)
    10.201.5.0/24   "server" <-> "edge" LAN side  (the server's LAN address 10.201.5.2)
    10.201.2.0/24   "edge" WAN <-> "router"       (10.201.2.1 is now the edge's public address)
    10.201.3.0/24   "router" LAN <-> "home"       (as above)
    10.201.4.0/24   "edge" <-> "provider"         (the provider's SIP trunk, 10.201.4.2)

    root (.7.1) ── (.7.2) server (.1.1) ── (.1.2) office
                          (.5.2) ── (.5.1) edge (.2.1) ── (.2.2) router (.3.1) ── (.3.2) home
                                                (.4.1) ── (.4.2) provider

The edge DNATs UDP to 10.201.2.1 on the SIP port and the RTP range to 10.201.5.2 and SNATs the
server's own packets to 10.201.2.1 (port kept), so the provider and the home see only the public
address, while the office reaches the server on its LAN address: what is advertised must
differ per network (sip_external / media_external outside local_nets).

Creating a namespace needs CAP_SYS_ADMIN (root here): when it fails the fixture raises, it
never skips. Cleanup runs in a finalizer even when the test failed. Names carry a random tag,
but the addresses are fixed: one network of each kind at a time on a machine (the tests that
build one live in one file, which `--dist loadfile` keeps on one worker). Only the root link's
range is shared between namespaces, and it differs between the two kinds.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

ROOT_ADDR = "10.201.0.1"
SERVER_ADDR = "10.201.0.2"  # the server seen from the root namespace
SERVER_OFFICE = "10.201.1.1"
OFFICE_PHONE = "10.201.1.2"
SERVER_WAN = "10.201.2.1"  # the server seen from the router (and, masqueraded, the home)
ROUTER_WAN = "10.201.2.2"  # every home packet reaches the server from here
ROUTER_LAN = "10.201.3.1"
HOME_PHONE = "10.201.3.2"
# The provider network (ProviderNetwork); the office, router and home addresses are the above.
PROVIDER_ROOT = "10.201.7.1"
PROVIDER_SERVER_ADDR = "10.201.7.2"  # the server seen from the root namespace
SERVER_LAN = "10.201.5.2"  # the server's own address behind the edge
EDGE_LAN = "10.201.5.1"
PUBLIC = SERVER_WAN  # the edge's public address: what the home and the provider reach
EDGE_PROVIDER = "10.201.4.1"
PROVIDER = "10.201.4.2"  # the provider's SIP trunk


class NetnsError(RuntimeError):
    """A namespace, link or rule could not be made: the test fails with the command's words."""


def run(*args: str, check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise NetnsError(
            f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip() or done.stdout}"
        )
    return done


def require_tools() -> None:
    missing = [t for t in ("ip", "nft") if shutil.which(t) is None]
    if missing:
        raise NetnsError(
            f"missing {', '.join(missing)}: run scripts/install-test-deps.sh (iproute2, nftables)"
        )
    if os.geteuid() != 0:
        raise NetnsError("network namespaces need root (CAP_SYS_ADMIN): run the tests as root")


@dataclass
class Namespace:
    name: str

    def exec_args(self, *argv: str) -> list[str]:
        """The command line that runs `argv` inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(*self.exec_args(*argv), check=check)

    def popen(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.exec_args(*argv), **kwargs)  # type: ignore[call-overload, no-any-return]


@dataclass
class NatNetwork:
    """The four namespaces and their links; `close()` removes all of them."""

    tag: str
    udp_timeout: int
    server: Namespace = field(init=False)
    office: Namespace = field(init=False)
    router: Namespace = field(init=False)
    home: Namespace = field(init=False)
    _made: list[str] = field(default_factory=list)
    _links: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = Namespace(f"rd{self.tag}-srv")
        self.office = Namespace(f"rd{self.tag}-office")
        self.router = Namespace(f"rd{self.tag}-router")
        self.home = Namespace(f"rd{self.tag}-home")

    # ---- building ------------------------------------------------------------------------

    def _add_ns(self, ns: Namespace) -> None:
        run("ip", "netns", "add", ns.name)
        self._made.append(ns.name)
        ns.run("ip", "link", "set", "lo", "up")

    def _veth(
        self, a: Namespace | None, a_addr: str, b: Namespace, b_addr: str, short: str
    ) -> None:
        """A veth pair between `a` (None: the root namespace) and `b`, each end addressed /24."""
        end_a, end_b = f"rd{self.tag}{short}a", f"rd{self.tag}{short}b"
        run("ip", "link", "add", end_a, "type", "veth", "peer", "name", end_b)
        self._links.append(end_a)
        run("ip", "link", "set", end_b, "netns", b.name)
        if a is not None:
            run("ip", "link", "set", end_a, "netns", a.name)
            a.run("ip", "addr", "add", f"{a_addr}/24", "dev", end_a)
            a.run("ip", "link", "set", end_a, "up")
        else:
            run("ip", "addr", "add", f"{a_addr}/24", "dev", end_a)
            run("ip", "link", "set", end_a, "up")
        b.run("ip", "addr", "add", f"{b_addr}/24", "dev", end_b)
        b.run("ip", "link", "set", end_b, "up")

    def build(self) -> None:
        require_tools()
        for ns in (self.server, self.office, self.router, self.home):
            self._add_ns(ns)
        self._veth(None, ROOT_ADDR, self.server, SERVER_ADDR, "r")
        self._veth(self.server, SERVER_OFFICE, self.office, OFFICE_PHONE, "o")
        self._veth(self.server, SERVER_WAN, self.router, ROUTER_WAN, "w")
        self._home_router()

    def _nft(self, ns: Namespace, ruleset: str) -> None:
        done = subprocess.run(
            ns.exec_args("nft", "-f", "-"),
            input=ruleset,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        if done.returncode != 0:
            raise NetnsError(f"nft in {ns.name} failed: {done.stderr}")

    def _home_router(self) -> None:
        """The home LAN behind the router, masqueraded out of its WAN end ("w", b side)."""
        self._veth(self.router, ROUTER_LAN, self.home, HOME_PHONE, "h")
        # The office and the home reach the server through their gateway; the server knows
        # no route to the home LAN (only the router's public address).
        self.office.run("ip", "route", "add", "default", "via", SERVER_OFFICE)
        self.home.run("ip", "route", "add", "default", "via", ROUTER_LAN)
        self.router.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.router.run(
            "sysctl", "-qw", f"net.netfilter.nf_conntrack_udp_timeout={self.udp_timeout}"
        )
        self.router.run(
            "sysctl", "-qw", f"net.netfilter.nf_conntrack_udp_timeout_stream={self.udp_timeout}"
        )
        wan = f"rd{self.tag}wb"
        self._nft(
            self.router,
            "table ip rdnat {\n"
            "  chain post { type nat hook postrouting priority 100; policy accept;\n"
            f'    oifname "{wan}" masquerade random\n'
            "  }\n"
            "}\n",
        )

    # ---- using ---------------------------------------------------------------------------

    def flush_nat(self) -> None:
        """Forget every NAT mapping of the router (as a router reboot or a new public port
        would): the next home packet gets a new masqueraded source port."""
        if shutil.which("conntrack") is None:
            raise NetnsError("conntrack missing: run scripts/install-test-deps.sh")
        self.router.run("conntrack", "-F")

    def nat_mappings(self) -> str:
        return self.router.run("conntrack", "-L", "-p", "udp", check=False).stdout

    def close(self) -> None:
        for name in reversed(self._made):
            pids = run("ip", "netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            run("ip", "netns", "del", name, check=False)
        for link in self._links:  # the root end of a pair goes with its peer; this is for luck
            run("ip", "link", "del", link, check=False)
        self._made.clear()
        self._links.clear()


@dataclass
class ProviderNetwork(NatNetwork):
    """The NAT network with the server behind the "edge" port-forwarding router and a
    "provider" namespace on the internet side (the second picture of the module docstring).
    `sip_port` and `rtp_ports` (first, last) are the forwards: the server must use them."""

    sip_port: int = 5060
    rtp_ports: tuple[int, int] = (20000, 20999)
    edge: Namespace = field(init=False)
    provider: Namespace = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.edge = Namespace(f"rd{self.tag}-edge")
        self.provider = Namespace(f"rd{self.tag}-prov")

    def build(self) -> None:
        require_tools()
        for ns in (self.server, self.office, self.edge, self.router, self.home, self.provider):
            self._add_ns(ns)
        self._veth(None, PROVIDER_ROOT, self.server, PROVIDER_SERVER_ADDR, "r")
        self._veth(self.server, SERVER_OFFICE, self.office, OFFICE_PHONE, "o")
        self._veth(self.server, SERVER_LAN, self.edge, EDGE_LAN, "l")
        self._veth(self.edge, PUBLIC, self.router, ROUTER_WAN, "w")
        self._veth(self.edge, EDGE_PROVIDER, self.provider, PROVIDER, "p")
        self._home_router()
        # The server's way out is the edge; the provider's is the edge too (its "internet").
        self.server.run("ip", "route", "add", "default", "via", EDGE_LAN)
        self.provider.run("ip", "route", "add", "default", "via", EDGE_PROVIDER)
        self.edge.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        first, last = self.rtp_ports
        lan = f"rd{self.tag}lb"
        self._nft(
            self.edge,
            "table ip rdedge {\n"
            "  chain pre { type nat hook prerouting priority -100; policy accept;\n"
            f"    ip daddr {PUBLIC} udp dport {{ {self.sip_port}, {first}-{last} }}"
            f" dnat to {SERVER_LAN}\n"
            "  }\n"
            "  chain post { type nat hook postrouting priority 100; policy accept;\n"
            f'    ip saddr {SERVER_LAN} oifname != "{lan}" snat to {PUBLIC}\n'
            "  }\n"
            "}\n",
        )

    def edge_mappings(self) -> str:
        return self.edge.run("conntrack", "-L", "-p", "udp", check=False).stdout


def provider_network(udp_timeout: int = 30) -> Iterator[ProviderNetwork]:
    """Build the provider network (a fixture body: `yield from provider_network()`)."""
    net = ProviderNetwork(tag=secrets.token_hex(2), udp_timeout=udp_timeout)
    try:
        net.build()
        yield net
    finally:
        net.close()


def nat_network(udp_timeout: int = 3) -> Iterator[NatNetwork]:
    """Build the network (use as a fixture body: `yield from nat_network()`); always cleaned."""
    net = NatNetwork(tag=secrets.token_hex(2), udp_timeout=udp_timeout)
    try:
        net.build()
        yield net
    finally:
        net.close()
