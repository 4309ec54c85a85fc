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
import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

log = logging.getLogger(__name__)

ROUTE_CACHE = 1024  # peers whose routed source address we remember (and checked, below)


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


# Addresses no one on the internet can send to (and the documentation ranges 192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 count as public here, as the docs use them).
_NOT_PUBLIC: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), kind)
    for net, kind in (
        ("127.0.0.0/8", "a loopback address"),
        ("::1/128", "a loopback address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("fc00::/7", "a private (unique local) address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("169.254.0.0/16", "a link-local address"),
        ("fe80::/10", "a link-local address"),
    )
)


def not_public(address: IPAddress) -> str | None:
    """What kind of non-public address `address` is ("a private address"...), or None."""
    for net, kind in _NOT_PUBLIC:
        if address.version == net.version and address in net:
            return kind
    return None


def unreachable(peer: str, advertised: str) -> str | None:
    """Why a peer probably cannot reach the address we advertise to it, or None.

    A peer on a public address told a loopback, private, link-local or carrier-grade NAT
    address of ours: that is a server behind NAT without its external address set (or with a
    local network too wide). Between two non-public addresses (a LAN, a VPN) we cannot know,
    so no warning; names are not judged."""
    theirs, ours = ip(peer), ip(advertised)
    if theirs is None or ours is None or theirs.is_unspecified or not_public(theirs):
        return None
    kind = not_public(ours)
    if kind is None:
        return None
    return f"peers on public addresses are told {advertised}, {kind} they cannot reach"


@dataclass
class Addresses:
    """bound: the address we listen on; external: the one to advertise outside the local
    networks ("" for none); label: what these addresses are for ("SIP", "RTP"), in warnings."""

    bound: str
    external: str = ""
    local_nets: tuple[IPNetwork, ...] = ()
    route: Callable[[str], str | None] = routed_source
    label: str = "SIP"
    _routes: dict[str, str | None] = field(default_factory=dict, repr=False)
    _checked: set[str] = field(default_factory=set, repr=False)
    # warning sentence (no peer address in it: /healthz shows these) -> peers it applied to
    warnings: dict[str, int] = field(default_factory=dict, repr=False)

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

    def advertise(self, peer: str | None) -> str:
        """`for_peer`, checking once per peer that the peer can reach what we tell it
        (`unreachable`): the first peer of each kind is logged with its address, and the
        sentence is kept in `warnings` (counted) for /healthz."""
        address = self.for_peer(peer)
        if peer and peer not in self._checked:
            if len(self._checked) >= ROUTE_CACHE:
                self._checked.clear()
            self._checked.add(peer)
            self.check(peer, address)
        return address

    def check(self, peer: str, address: str, who: str = "") -> None:
        problem = unreachable(peer, address)
        if problem is None:
            return
        sentence = f"{self.label}: {problem}"
        if sentence not in self.warnings:
            log.warning(
                "%s (first seen: %s%s); set %s to the public address that reaches this "
                "server, or list the peer's network in local_nets if it is really local",
                sentence,
                f"{who} at " if who else "",
                peer,
                "sip_external" if self.label == "SIP" else "media_external (or sip_external)",
            )
        self.warnings[sentence] = self.warnings.get(sentence, 0) + 1

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
