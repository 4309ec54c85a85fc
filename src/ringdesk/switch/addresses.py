"""Which address we advertise to a peer (Contact, Via, SDP), chosen per peer.

A peer whose source address is inside one of the local networks (or on loopback) gets the
address we are bound to; everyone else gets the external address when one is set (as
Asterisk's external_signaling_address / external_media_address with local_net do). When we are
bound to the unspecified address (0.0.0.0 or ::) and no external address applies, we advertise
the address of the interface that routes toward the peer: a UDP socket connect()ed to the peer
asks the kernel's routing table and sends nothing.

An external address of the other family than the peer's is not used for it. IPv6 addresses
in SIP URIs and Via are bracketed (RFC 5118): `uri_host`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ROUTE_CACHE = 1024  # peers whose routed source address we remember


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR texts ('192.168.0.0/16', '2001:db8::/32', '10.0.0.1') -> networks; ValueError
    names the bad one."""
    nets: list[IPNetwork] = []
    for text in texts:
        text = text.strip()
        if not text:
            continue
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network in CIDR form: {text!r}") from exc
    return tuple(nets)


def ip(text: str) -> IPAddress | None:
    """The address in `text` ('::1', '[::1]', '::ffff:1.2.3.4' as its IPv4 one); None for a
    name."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def family_of(text: str) -> int:
    """socket.AF_INET6 for an IPv6 literal (not an IPv4-mapped one), else AF_INET."""
    address = ip(text)
    return socket.AF_INET6 if address is not None and address.version == 6 else socket.AF_INET


def uri_host(address: str) -> str:
    """An address as a SIP URI or Via host: IPv6 in brackets (RFC 5118)."""
    if ":" in address and not address.startswith("["):
        return f"[{address}]"
    return address


def routed_source(peer: str) -> str | None:
    """The local address the kernel would send from toward `peer` (no packet is sent)."""
    address = ip(peer)
    if address is None:
        return None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((str(address), 9))  # UDP connect: a route lookup, nothing on the wire
        return str(sock.getsockname()[0])
    return None


@dataclass
class Addresses:
    """bound: the address we listen on; external: the one to advertise outside the local
    networks ("" for none)."""

    bound: str
    external: str = ""
    local_nets: tuple[IPNetwork, ...] = ()
    route: Callable[[str], str | None] = routed_source
    _routes: dict[str, str | None] = field(default_factory=dict, repr=False)

    @property
    def unspecified(self) -> bool:
        address = ip(self.bound)
        return self.bound in ("", "0.0.0.0", "::") or (
            address is not None and address.is_unspecified
        )

    @property
    def families(self) -> frozenset[int]:
        """The address families we can serve: both on '::' (a dual-stack socket)."""
        if self.bound in ("", "::"):
            return frozenset((socket.AF_INET, socket.AF_INET6))
        return frozenset((family_of(self.bound),))

    def serves(self, peer: str) -> bool:
        return family_of(peer) in self.families

    def is_local(self, peer: str) -> bool:
        address = ip(peer)
        if address is None:
            return False
        return address.is_loopback or any(address in net for net in self.local_nets)

    def external_for(self, peer: str) -> str | None:
        """The external address if it applies to `peer` (outside the local networks, same
        family), else None."""
        if not self.external or self.is_local(peer):
            return None
        if ip(peer) is not None and family_of(self.external) != family_of(peer):
            return None
        return self.external

    def for_peer(self, peer: str | None) -> str:
        """The address to advertise to `peer` (its IP address; None: nobody in particular)."""
        if peer:
            external = self.external_for(peer)
            if external is not None:
                return external
        elif self.external:
            return self.external
        if not self.unspecified:
            return self.bound
        if peer and ip(peer) is not None:
            if peer not in self._routes:
                if len(self._routes) >= ROUTE_CACHE:
                    self._routes.clear()
                self._routes[peer] = self.route(str(ip(peer)))
            routed = self._routes[peer]
            if routed is not None:
                return routed
            return "::1" if family_of(peer) == socket.AF_INET6 else "127.0.0.1"
        return "127.0.0.1"

    def describe(self) -> dict[str, object]:
        return {
            "bound": self.bound,
            "external": self.external or None,
            "local_nets": [str(n) for n in self.local_nets],
        }

    def loopback_warning(self) -> str | None:
        """A sentence when what we advertise by default is loopback while we bind elsewhere."""
        bound = ip(self.bound)
        if bound is None or bound.is_loopback:
            return None
        advertised = ip(self.external) if self.external else None
        if advertised is not None and advertised.is_loopback:
            return (
                f"the advertised address {self.external} is loopback while bound to "
                f"{self.bound}: peers on other machines cannot reach it"
            )
        return None
