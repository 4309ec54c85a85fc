"""A dual-stack network for the tests: Linux network namespaces joined by veth pairs, built
beside tests/support/netns.py's networks (its Namespace, run and require_tools) on ranges of
its own, so both can exist at once. Used by tests/e2e/test_ipv6_netns.py.

Everything lives inside namespaces this module creates and removes (a finalizer runs even when
the test failed); no route to these ranges leaves the machine. Creating a namespace needs
CAP_SYS_ADMIN (root here): when it fails the fixture raises, it never skips.

Its own test-only ranges, on its own veths (10.201.10.0/24 cut in /26s, fd00:201:10::/48):

    10.201.10.0/26        root (10.201.10.1) <-> "server" (10.201.10.2)   the test's HTTP
    10.201.10.64/26       "server" (.65) <-> "phone4" (.66)                IPv4-only desk phone
    fd00:201:10:6::/64    "server" (::1) <-> "phone6" (::2)                IPv6-only desk phone
    10.201.10.128/26      "server" (.129) <-> "carrier" (.130)             the carrier, both
    fd00:201:10:c::/64    "server" (::1) <-> "carrier" (::2)               families on one link

Every peer is on a link of the server's (no routers, no default routes): the phone6 namespace
has no IPv4 address but loopback's, the phone4 namespace no IPv6 one but link-local.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from tests.support.netns import Namespace, require_tools, run

T = TypeVar("T")

DS_ROOT = "10.201.10.1"
DS_SERVER = "10.201.10.2"  # the server seen from the root namespace (HTTP)
DS_SERVER_PHONE4 = "10.201.10.65"
DS_PHONE4 = "10.201.10.66"
DS_SERVER_PHONE6 = "fd00:201:10:6::1"
DS_PHONE6 = "fd00:201:10:6::2"
DS_SERVER_CARRIER4 = "10.201.10.129"
DS_CARRIER4 = "10.201.10.130"
DS_SERVER_CARRIER6 = "fd00:201:10:c::1"
DS_CARRIER6 = "fd00:201:10:c::2"

_CLONE_NEWNET = 0x40000000


def inside(ns: Namespace, make: Callable[[], T]) -> T:
    """`make()` run in a short-lived thread that joined `ns`: a socket made there stays in
    that namespace (so an RtpEndpoint made this way sends and receives there) while the test
    process itself stays put."""
    result: list[T | BaseException] = []

    def run_inside() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{ns.name}", os.O_RDONLY)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns.name}")
            finally:
                os.close(fd)
            result.append(make())
        except BaseException as exc:  # handed to the caller
            result.append(exc)

    thread = threading.Thread(target=run_inside)
    thread.start()
    thread.join()
    got = result[0]
    if isinstance(got, BaseException):
        raise got
    return got


@dataclass
class DualStackNetwork:
    """The four namespaces of the dual-stack network; `close()` removes all of them."""

    tag: str
    server: Namespace = field(init=False)
    phone4: Namespace = field(init=False)
    phone6: Namespace = field(init=False)
    carrier: Namespace = field(init=False)
    _made: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = Namespace(f"rd{self.tag}-ds")
        self.phone4 = Namespace(f"rd{self.tag}-ph4")
        self.phone6 = Namespace(f"rd{self.tag}-ph6")
        self.carrier = Namespace(f"rd{self.tag}-carrier")

    def _link(
        self, a: Namespace | None, b: Namespace, short: str, pairs: Sequence[tuple[str, str]]
    ) -> None:
        """A veth between `a` (None: the root namespace) and `b`; `pairs` of addresses with
        their prefix ('10.201.10.1/26', ...), a's first. IPv6 ones skip duplicate address
        detection, so they are usable at once."""
        end_a, end_b = f"rd{self.tag}{short}a", f"rd{self.tag}{short}b"
        run("ip", "link", "add", end_a, "type", "veth", "peer", "name", end_b)
        run("ip", "link", "set", end_b, "netns", b.name)
        if a is not None:
            run("ip", "link", "set", end_a, "netns", a.name)

        def in_a(*argv: str) -> None:
            if a is None:
                run(*argv)
            else:
                a.run(*argv)

        for ours, theirs in pairs:
            nodad = ("nodad",) if ":" in ours else ()
            in_a("ip", "addr", "add", ours, "dev", end_a, *nodad)
            b.run("ip", "addr", "add", theirs, "dev", end_b, *nodad)
        in_a("ip", "link", "set", end_a, "up")
        b.run("ip", "link", "set", end_b, "up")

    def build(self) -> None:
        require_tools()
        for ns in (self.server, self.phone4, self.phone6, self.carrier):
            run("ip", "netns", "add", ns.name)
            self._made.append(ns.name)
            ns.run("ip", "link", "set", "lo", "up")
        self._link(None, self.server, "dr", [(f"{DS_ROOT}/26", f"{DS_SERVER}/26")])
        self._link(self.server, self.phone4, "d4", [(f"{DS_SERVER_PHONE4}/26", f"{DS_PHONE4}/26")])
        self._link(self.server, self.phone6, "d6", [(f"{DS_SERVER_PHONE6}/64", f"{DS_PHONE6}/64")])
        self._link(
            self.server,
            self.carrier,
            "dc",
            [
                (f"{DS_SERVER_CARRIER4}/26", f"{DS_CARRIER4}/26"),
                (f"{DS_SERVER_CARRIER6}/64", f"{DS_CARRIER6}/64"),
            ],
        )

    def close(self) -> None:
        for name in reversed(self._made):
            for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            run("ip", "netns", "del", name, check=False)  # its veth ends go with it
        run("ip", "link", "del", f"rd{self.tag}dra", check=False)
        self._made.clear()


def dual_stack_network() -> Iterator[DualStackNetwork]:
    """Build the dual-stack network (a fixture body: `yield from dual_stack_network()`)."""
    net = DualStackNetwork(tag=secrets.token_hex(2))
    try:
        net.build()
        yield net
    finally:
        net.close()
