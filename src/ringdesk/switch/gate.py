"""The gate in front of the SIP stack: per-source request rates and bans (what Kamailio's pike
and pipelimit plus fail2ban do), consulted for every datagram or TCP message before it is
parsed, so a flood or a password-guessing run costs a dictionary lookup per packet, not a parse.

Pure logic, no I/O: the caller passes `now` (wall-clock seconds, so a ban's since/until mean
something to an admin). Sources are IP addresses, never address and port: the port is the
attacker's to choose, so keying on it would make every limit trivial to step around.

A source is banned when it fails authentication `auth_failures` times within `auth_window`
seconds, or when it sends `flood_excess` requests over its rate within `flood_window` seconds.
A banned source is dropped silently (no response: an answer would tell a scanner it found a
SIP server and would spend our bandwidth on it). Trusted peers (the configured trunk by address
and port, and the addresses an admin lists) are never limited nor banned, and a ban of their
address does not drop them: a scanner on the trunk provider's network must not cut our calls.

Bans outlive a restart: `changed` is called when one is made or lifted (the switch saves them
to the data dir, persist.py) and `restore` takes the saved ones back at start.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Address = tuple[str, int]


def unmapped(source: Address) -> Address:
    """An IPv4 peer of a dual-stack ('::') socket as itself: the kernel names it
    ::ffff:192.0.2.1, while trunk sources, bans, limits and Via's received= name 192.0.2.1."""
    host = source[0]
    if not host.startswith("::ffff:"):
        return source  # the fast path, per packet
    try:
        mapped = ipaddress.IPv6Address(host).ipv4_mapped
    except ValueError:
        return source
    return source if mapped is None else (str(mapped), source[1])


# Request classes with their own bucket; every other method (ACK, BYE, CANCEL, INFO...) is
# "other". A response is never rate-limited (we asked for it), only dropped when banned.
CLASSES = {b"REGISTER": "register", b"INVITE": "invite", b"OPTIONS": "options"}
MAX_SOURCES = 100_000  # buckets kept; beyond it the idlest go (a spoofed-source flood)


@dataclass(frozen=True, slots=True)
class GateSettings:
    enabled: bool = True
    # Requests per second per source, with a burst of `burst_seconds` worth of them.
    register_rate: float = 20.0
    invite_rate: float = 20.0
    options_rate: float = 5.0
    other_rate: float = 100.0
    burst_seconds: float = 3.0
    auth_failures: int = 10  # failures within auth_window seconds ban the source
    auth_window: float = 60.0
    flood_excess: int = 200  # requests over the rate within flood_window seconds ban it
    flood_window: float = 10.0
    ban_seconds: float = 600.0
    trusted: tuple[str, ...] = ()  # addresses ("ip" or "ip:port") never limited nor banned
    # SIP over TCP and TLS (transport.py): open connections allowed per source address and in
    # all (the total is capped at half the process's file-descriptor limit); seconds to finish
    # a message once its first byte came; seconds a connection may stay silent when it carries
    # no registration and no call (and past its registration's expiry); seconds for a TLS
    # handshake; refused or timed-out connections within `conn_strike_window` that ban.
    conn_per_source: int = 20
    conn_total: int = 2000
    message_timeout: float = 30.0
    conn_idle: float = 60.0
    tls_handshake_timeout: float = 10.0
    conn_strikes: int = 20
    conn_strike_window: float = 60.0

    def rate(self, kind: str) -> float:
        return {
            "register": self.register_rate,
            "invite": self.invite_rate,
            "options": self.options_rate,
        }.get(kind, self.other_rate)


@dataclass(frozen=True, slots=True)
class Ban:
    address: str
    reason: str  # "auth_failures", "flood", "connections" or "manual"
    since: float
    until: float


@dataclass(slots=True)
class _Source:
    seen: float
    tokens: dict[str, float] = field(default_factory=dict)
    stamps: dict[str, float] = field(default_factory=dict)
    excess: int = 0
    excess_since: float = 0.0
    failures: list[float] = field(default_factory=list)
    strikes: list[float] = field(default_factory=list)  # connections refused or timed out


def parse_sources(entries: Iterable[str]) -> tuple[set[str], set[Address]]:
    """("ip", "ip:port", "[ipv6]:port") entries as the addresses meant with any port and the
    (address, port) pairs; addresses in the form the transport reports them."""
    hosts: set[str] = set()
    peers: set[Address] = set()
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        host, colon, port = text.rpartition(":")
        # "ip:port" for IPv4; an IPv6 literal with a port is written "[ip]:port".
        if colon and port.isdigit() and (host.count(":") == 0 or host.startswith("[")):
            peers.add((_address(host.strip("[]")), int(port)))
        else:
            hosts.add(_address(text.strip("[]")))
    return hosts, peers


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))  # "::0001" as the socket says it, "::1"
    except ValueError:
        return text


class Gate:
    def __init__(self, settings: GateSettings | None = None) -> None:
        self.settings = settings or GateSettings()
        self._bans: dict[str, Ban] = {}
        self._sources: dict[str, _Source] = {}
        self._trusted_hosts, self._trusted_peers = parse_sources(self.settings.trusted)
        self._trunk: set[Address] = set()
        self._trunk_hosts: set[str] = set()  # trunk sources the admin listed without a port
        self.dropped = 0  # packets dropped: banned or over the rate
        self.changed: Callable[[], None] | None = None  # a ban made or lifted (to save them)

    # ---- who is trusted ---------------------------------------------------------------

    def set_trunk(self, addresses: Iterable[str], port: int, sources: Iterable[str] = ()) -> None:
        """The trunk's resolved addresses with its configured port, and the other sources of its
        INVITEs an admin listed (CTI settings `trunk_sources`); called as they change."""
        hosts, peers = parse_sources(sources)
        self._trunk = {(a, port) for a in addresses} | peers
        self._trunk_hosts = hosts

    def set_trunks(self, trunks: Iterable[tuple[Iterable[str], int, Iterable[str]]]) -> None:
        """Every enabled trunk at once: (resolved addresses, port, listed sources) each."""
        peers: set[Address] = set()
        hosts: set[str] = set()
        for addresses, port, sources in trunks:
            more_hosts, more_peers = parse_sources(sources)
            peers |= {(a, port) for a in addresses} | set(more_peers)
            hosts |= set(more_hosts)
        self._trunk = peers
        self._trunk_hosts = hosts

    def trusted(self, source: Address) -> bool:
        source = unmapped(source)
        return (
            source in self._trunk
            or source[0] in self._trunk_hosts
            or source[0] in self._trusted_hosts
            or source in self._trusted_peers
        )

    # ---- the per-packet check -----------------------------------------------------------

    def admit(self, source: Address, method: bytes | None, now: float) -> bool:
        """Whether to process a packet from `source`; `method` is the request's method as the
        first line spells it, None for a response."""
        if not self.settings.enabled:
            return True
        source = unmapped(source)
        host = source[0]
        ban = self._bans.get(host)
        if ban is not None:
            if now < ban.until:
                if self.trusted(source):
                    return True
                self.dropped += 1
                return False
            del self._bans[host]
            log.info("SIP ban of %s ended", host)
        if method is None or self.trusted(source):
            return True
        kind = CLASSES.get(method, "other")
        state = self._sources.get(host)
        if state is None:
            if len(self._sources) >= MAX_SOURCES:
                self._evict(now)
            state = self._sources[host] = _Source(seen=now)
        rate = self.settings.rate(kind)
        burst = max(1.0, rate * self.settings.burst_seconds)
        last = state.tokens.get(kind)
        tokens = burst if last is None else min(burst, last + (now - state.stamps[kind]) * rate)
        state.stamps[kind] = now
        state.seen = now
        if tokens >= 1.0:
            state.tokens[kind] = tokens - 1.0
            return True
        state.tokens[kind] = tokens
        self.dropped += 1
        if now - state.excess_since > self.settings.flood_window:
            state.excess, state.excess_since = 0, now
        state.excess += 1
        if state.excess >= self.settings.flood_excess:
            self.ban(host, "flood", now)
        return False

    # ---- what the switch reports ----------------------------------------------------------

    def auth_failed(self, source: Address, now: float) -> None:
        """A failed digest (wrong password, unknown user, replay) from `source`."""
        if not self.settings.enabled or self.trusted(source):
            return
        host = unmapped(source)[0]
        state = self._sources.get(host)
        if state is None:
            state = self._sources[host] = _Source(seen=now)
        cutoff = now - self.settings.auth_window
        state.failures = [t for t in state.failures if t > cutoff]
        state.failures.append(now)
        if len(state.failures) >= self.settings.auth_failures:
            self.ban(host, "auth_failures", now)

    def connection_strike(self, source: Address, now: float) -> bool:
        """A TCP/TLS connection from `source` refused (over its limit) or closed for abuse (a
        message never finished, a TLS handshake never done); True when it got the source
        banned."""
        if not self.settings.enabled or self.trusted(source):
            return False
        host = unmapped(source)[0]
        state = self._sources.get(host)
        if state is None:
            if len(self._sources) >= MAX_SOURCES:
                self._evict(now)
            state = self._sources[host] = _Source(seen=now)
        state.seen = now
        cutoff = now - self.settings.conn_strike_window
        state.strikes = [t for t in state.strikes if t > cutoff]
        state.strikes.append(now)
        if len(state.strikes) >= self.settings.conn_strikes:
            self.ban(host, "connections", now)
            return True
        return False

    # ---- bans -------------------------------------------------------------------------------

    def ban(self, host: str, reason: str, now: float, seconds: float | None = None) -> Ban:
        until = now + (self.settings.ban_seconds if seconds is None else seconds)
        ban = self._bans[host] = Ban(host, reason, now, until)
        self._sources.pop(host, None)  # its counts start over when the ban ends
        # One line per ban: the packets it drops are not logged.
        log.warning("SIP source %s banned for %.0f s: %s", host, until - now, reason)
        self._changed()
        return ban

    def lift(self, host: str) -> bool:
        if self._bans.pop(host, None) is None:
            return False
        self._sources.pop(host, None)
        log.info("SIP ban of %s lifted", host)
        self._changed()
        return True

    def restore(self, bans: Iterable[Ban], now: float) -> int:
        """Take back bans saved before a restart (those not ended by `now`); how many."""
        count = 0
        for ban in bans:
            known = self._bans.get(ban.address)
            if now < ban.until and (known is None or known.until < ban.until):
                self._bans[ban.address] = ban
                count += 1
        if count:
            log.info("SIP bans restored after the restart: %d", count)
        return count

    def _changed(self) -> None:
        if self.changed is not None:
            self.changed()

    def bans(self, now: float) -> list[Ban]:
        return sorted(
            (b for b in self._bans.values() if now < b.until), key=lambda b: (b.since, b.address)
        )

    def banned(self, host: str, now: float) -> bool:
        ban = self._bans.get(host)
        return ban is not None and now < ban.until

    def sweep(self, now: float) -> None:
        """Forget ended bans and idle sources (called about once a second)."""
        for host in [h for h, b in self._bans.items() if now >= b.until]:
            del self._bans[host]
            log.info("SIP ban of %s ended", host)
        windows = (self.settings.auth_window, self.settings.flood_window)
        idle = now - max(*windows, self.settings.conn_strike_window, 60.0)
        for host in [h for h, s in self._sources.items() if s.seen < idle]:
            del self._sources[host]

    def _evict(self, now: float) -> None:
        self.sweep(now)
        if len(self._sources) >= MAX_SOURCES:
            oldest = sorted(self._sources.items(), key=lambda kv: kv[1].seen)
            for host, _ in oldest[: len(oldest) // 10 or 1]:
                del self._sources[host]


def request_method(data: bytes) -> bytes | None:
    """The method of a request from its first bytes, None for a response (b"SIP/2.0 200 OK").
    Leading CRLFs (keep-alives before a message on a stream) are skipped."""
    start = 0
    while start < len(data) and data[start] in b"\r\n":
        start += 1
    end = data.find(b" ", start, start + 32)
    word = data[start:end] if end >= 0 else data[start : start + 32]
    if word.startswith(b"SIP/"):
        return None
    return word.upper()
