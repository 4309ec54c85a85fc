"""Locating a SIP trunk by DNS (RFC 3263), with RFC 2782 SRV ordering, over dnspython.

The entry point for the trunks is `SipResolver.targets(host, port=None, transport=None)`:
an ordered list of `Target(address, port, transport)` to try in turn (the next one when one
does not answer or answers 503), or [] when the name does not resolve (`error(host)` says why).

- a numeric IP: that address, on the given port or 5060 (5061 for TLS), the given transport or
  UDP; no DNS at all;
- a name with an explicit port: A/AAAA of the name on that port (no NAPTR, no SRV);
- a name with a transport but no port: SRV for that transport (`_sip._udp`, `_sip._tcp`,
  `_sips._tcp`), else A/AAAA on the transport's default port;
- a name alone: NAPTR, keeping the services we speak (SIP+D2U, SIP+D2T, SIPS+D2T) in
  order/preference order, each replacement looked up as SRV; with no usable NAPTR, SRV for each
  transport we support (in `transports` order); with neither, A/AAAA on 5060 over UDP.

SRV records are ordered by priority, and within a priority picked at random in proportion to
their weight (RFC 2782, `order_srv`, with an injectable `random.Random`). Every DNS answer is
cached for its TTL, clamped to [TTL_FLOOR, TTL_CEILING]; a name or record type that does not
exist (NXDOMAIN, NODATA) is cached for NEGATIVE_TTL. When DNS fails (timeout, SERVFAIL, no
server answers), the last good answer is used for up to STALE_TTL (RFC 8767 serve-stale),
logged once per name until it resolves again. Lookups run on dnspython's asyncio resolver
(`dns.asyncresolver`), each bounded by `timeout`, so the event loop is never blocked.

The servers asked are `nameservers` ("host" or "host:port", "[v6]:port"), by default the
system's /etc/resolv.conf (setting RINGDESK_DNS_SERVERS / --dns-servers).

In the switch: a trunk whose port is 0 ("by DNS") is located with `targets(host, None,
trunk.transport)` by `TrunkTargets.locate` (trunk_targets.py), with no transport (NAPTR) for
the transport "auto"; the first target is used, the others are the leg's `alternates`, tried
on a 503 or no answer before the next trunk. With --dns-servers
`TrunkResolver` (plain names) asks the same servers through `SipResolver.addresses`.

`order_naptr`, `order_srv` and `RecordCache` are pure (explicit `now`); `SipResolver` does I/O.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from .resolver import ip_literal

log = logging.getLogger(__name__)

TRANSPORTS = ("udp", "tcp", "tls")  # what the switch speaks, in our order of preference
NAPTR_SERVICES = {"SIP+D2U": "udp", "SIP+D2T": "tcp", "SIPS+D2T": "tls"}
SRV_PREFIX = {"udp": "_sip._udp", "tcp": "_sip._tcp", "tls": "_sips._tcp"}
DEFAULT_PORT = {"udp": 5060, "tcp": 5060, "tls": 5061}

TTL_FLOOR = 30.0  # an answer is kept at least this long, whatever its TTL
TTL_CEILING = 3600.0  # and at most this long
NEGATIVE_TTL = 30.0  # a name or record type that does not exist is asked again after this
STALE_TTL = 3600.0  # a last good answer outlives failing lookups this long
TIMEOUT = 3.0  # seconds a lookup (all servers, all tries) may take


@dataclass(frozen=True, slots=True)
class Target:
    address: str
    port: int
    transport: str  # "udp" | "tcp" | "tls"


@dataclass(frozen=True, slots=True)
class Naptr:
    order: int
    preference: int
    flags: str
    service: str
    replacement: str


@dataclass(frozen=True, slots=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


def order_naptr(records: Iterable[Naptr], transports: Sequence[str]) -> list[tuple[str, str]]:
    """(transport, SRV name) for the NAPTR records of services we speak, by order then
    preference (RFC 3403); only "S" records (RFC 3263 uses SRV), one entry per name."""
    usable = [
        r
        for r in records
        if r.flags.lower() == "s" and NAPTR_SERVICES.get(r.service.upper()) in transports
    ]
    usable.sort(key=lambda r: (r.order, r.preference))
    seen: set[tuple[str, str]] = set()
    result: list[tuple[str, str]] = []
    for r in usable:
        item = (NAPTR_SERVICES[r.service.upper()], r.replacement)
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def order_srv(records: Iterable[Srv], rng: random.Random) -> list[Srv]:
    """RFC 2782: lowest priority first; within a priority, repeatedly pick one at random with
    probability proportional to its weight (weight-0 records placed first, so they are chosen
    only rarely when others have weight). A lone "." target (service not offered) is dropped."""
    groups: dict[int, list[Srv]] = {}
    for r in records:
        if r.target in (".", ""):
            continue
        groups.setdefault(r.priority, []).append(r)
    result: list[Srv] = []
    for priority in sorted(groups):
        left = groups[priority]
        rng.shuffle(left)  # equal weights (all 0 in particular) in random order
        left.sort(key=lambda r: r.weight != 0)  # weight 0 first (stable)
        while left:
            total = sum(r.weight for r in left)
            pick = rng.randint(0, total)
            running = 0
            for i, r in enumerate(left):
                running += r.weight
                if running >= pick:
                    result.append(left.pop(i))
                    break
    return result


Records = tuple[object, ...]  # Naptr / Srv / address strings, by query type


@dataclass(slots=True)
class _Entry:
    records: Records  # () for a name or type that does not exist
    fresh_until: float
    stale_until: float  # a failing lookup may still use `records` until then
    error: str = ""


def clamp_ttl(ttl: float) -> float:
    return min(max(float(ttl), TTL_FLOOR), TTL_CEILING)


class RecordCache:
    """Answers per (name, type), with the lifetimes above. No I/O; `now` is an argument."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}

    def fresh(self, key: tuple[str, str], now: float) -> Records | None:
        """The answer while it is fresh (possibly () for a known negative), else None."""
        entry = self._entries.get(key)
        if entry is None or now >= entry.fresh_until:
            return None
        return entry.records

    def store(self, key: tuple[str, str], records: Records, ttl: float, now: float) -> None:
        life = clamp_ttl(ttl) if records else NEGATIVE_TTL
        self._entries[key] = _Entry(records, now + life, now + life + STALE_TTL)

    def failed(self, key: tuple[str, str], error: str, now: float) -> Records | None:
        """DNS failed for `key`: the last good answer while it may serve stale (asked again
        after NEGATIVE_TTL), else None (and the failure is remembered for NEGATIVE_TTL)."""
        old = self._entries.get(key)
        if old is not None and old.records and now < old.stale_until:
            fresh = min(now + NEGATIVE_TTL, old.stale_until)
            self._entries[key] = _Entry(old.records, fresh, old.stale_until, error)
            return old.records
        self._entries[key] = _Entry((), now + NEGATIVE_TTL, now + NEGATIVE_TTL, error)
        return None

    def error(self, key: tuple[str, str]) -> str:
        entry = self._entries.get(key)
        return entry.error if entry is not None else ""


def parse_nameservers(text: str) -> tuple[tuple[str, int], ...]:
    """ "127.0.0.1:5353, ::1, [::1]:53" -> ((address, port), ...); ValueError on garbage."""
    result: list[tuple[str, int]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, port = item, 53
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"bad DNS server {item!r}")
                port = int(rest[1:])
        elif item.count(":") == 1:
            host, _, tail = item.partition(":")
            port = int(tail)
        if ip_literal(host) is None:
            raise ValueError(f"DNS server {item!r} is not an IP address")
        if not 0 < port < 65536:
            raise ValueError(f"DNS server {item!r} has a bad port")
        result.append((str(ip_literal(host)), port))
    return tuple(result)


_host: contextvars.ContextVar[str] = contextvars.ContextVar("sip_dns_host", default="")


class _Failure(Exception):
    """DNS did not answer (timeout, SERVFAIL, no server): serve stale if possible."""


class SipResolver:
    """RFC 3263 targets for a trunk, over `dns.asyncresolver`, cached (see the module doc).

    `family` limits addresses to what our SIP socket can reach (A for AF_INET, AAAA for
    AF_INET6, both for AF_UNSPEC: a dual-stack socket, IPv4 first since most providers are
    IPv4 and a UDP target that cannot be reached costs a timeout before the next). `clock` and
    `rng` are injectable for tests.
    """

    def __init__(
        self,
        family: int = socket.AF_INET,
        nameservers: Sequence[tuple[str, int]] = (),
        *,
        timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.family = family
        self.timeout = timeout
        self.clock = clock
        self.rng = rng or random.Random()
        self.cache = RecordCache()
        self._resolver: dns.asyncresolver.Resolver | None = None
        self._nameservers = tuple(nameservers)
        self._pending: dict[tuple[str, str], asyncio.Future[Records]] = {}
        self._stale_logged: set[str] = set()
        self._errors: dict[str, str] = {}  # host -> why its last `targets` found nothing

    def use_servers(self, nameservers: Sequence[tuple[str, int]]) -> None:
        """Ask these servers from now on (() for /etc/resolv.conf); the cache is kept."""
        self._nameservers = tuple(nameservers)
        self._resolver = None

    def _dns(self) -> dns.asyncresolver.Resolver:
        if self._resolver is None:
            if self._nameservers:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = [
                    dns.nameserver.Do53Nameserver(address, port)
                    for address, port in self._nameservers
                ]
            else:
                resolver = dns.asyncresolver.Resolver()  # /etc/resolv.conf
            resolver.lifetime = self.timeout
            resolver.timeout = min(self.timeout, 2.0)
            resolver.cache = None  # ours honours floors, ceilings and serve-stale
            self._resolver = resolver
        return self._resolver

    def error(self, host: str) -> str:
        """Why the last `targets(host)` found nothing ("" if it found something)."""
        return self._errors.get(host.lower().rstrip("."), "")

    async def targets(
        self,
        host: str,
        port: int | None = None,
        transport: str | None = None,
        transports: Sequence[str] = TRANSPORTS,
    ) -> list[Target]:
        """Where to send a request for `host`, best first (RFC 3263 section 4)."""
        if transport is not None and transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}")
        literal = ip_literal(host)
        chosen = transport or "udp"
        if literal is not None:
            return [Target(literal, port or DEFAULT_PORT[chosen], chosen)]
        name = host.lower().rstrip(".")
        self._errors.pop(name, None)
        _host.set(name)
        try:
            if port is not None:
                result = await self._addresses_on(name, port, chosen)
            else:
                result = await self._by_service(name, transport, transports)
        except _Failure as exc:  # DNS down and nothing good kept: no guessing further
            self._errors[name] = f"DNS failed: {exc}"
            return []
        if not result:
            self._errors[name] = "no SIP service and no address in DNS"
        return result

    async def addresses(self, host: str) -> tuple[str, ...]:
        """The A (or AAAA) addresses of `host` alone, cached like the rest; OSError with the
        reason when there are none (what `TrunkResolver` uses instead of getaddrinfo)."""
        found = await self.targets(host, port=5060)
        if not found:
            raise OSError(self.error(host) or "no address")
        return tuple(dict.fromkeys(t.address for t in found))

    async def _by_service(
        self, name: str, transport: str | None, transports: Sequence[str]
    ) -> list[Target]:
        if transport is not None:
            found = await self._srv_targets(f"{SRV_PREFIX[transport]}.{name}", transport)
            return found or await self._addresses_on(name, DEFAULT_PORT[transport], transport)
        result: list[Target] = []
        naptrs = await self._query(name, "NAPTR")
        services = order_naptr((r for r in naptrs if isinstance(r, Naptr)), transports)
        for tp, srv_name in services:
            result += await self._srv_targets(srv_name, tp)
        if services:
            return result  # the domain said where SIP is; no guessing beyond it
        for tp in transports:
            result += await self._srv_targets(f"{SRV_PREFIX[tp]}.{name}", tp)
        if result:
            return result
        chosen = "udp" if "udp" in transports else transports[0]
        return await self._addresses_on(name, DEFAULT_PORT[chosen], chosen)

    async def _srv_targets(self, srv_name: str, transport: str) -> list[Target]:
        records = [r for r in await self._query(srv_name, "SRV") if isinstance(r, Srv)]
        result: list[Target] = []
        for srv in order_srv(records, self.rng):
            result += await self._addresses_on(srv.target, srv.port, transport)
        return result

    async def _addresses_on(self, name: str, port: int, transport: str) -> list[Target]:
        literal = ip_literal(name)
        if literal is not None:
            return [Target(literal, port, transport)]
        if self.family == socket.AF_UNSPEC:  # a dual-stack socket ('::'): A, then AAAA
            kinds: tuple[str, ...] = ("A", "AAAA")
        else:
            kinds = ("AAAA",) if self.family == socket.AF_INET6 else ("A",)
        result: list[Target] = []
        failure: _Failure | None = None
        for rdtype in kinds:
            try:
                addresses = await self._query(name, rdtype)
            except _Failure as exc:  # one family failing leaves the other's answer usable
                failure = exc
                continue
            result += [Target(str(a), port, transport) for a in addresses]
        if not result and failure is not None:
            raise failure
        return result

    async def _query(self, name: str, rdtype: str) -> Records:
        key = (name.lower().rstrip("."), rdtype)
        known = self.cache.fresh(key, self.clock())
        if known is not None:
            if not known and self.cache.error(key):
                raise _Failure(self.cache.error(key))  # failed a moment ago: not again yet
            return known
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Records] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            result = await self._ask(key)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        except BaseException:
            future.cancel()
            raise
        else:
            future.set_result(result)
        finally:
            del self._pending[key]
        return result

    async def _ask(self, key: tuple[str, str]) -> Records:
        name, rdtype = key
        try:
            records, ttl = await self._lookup(name, rdtype)
        except _Failure as exc:
            detail = str(exc)
            stale = self.cache.failed(key, detail, self.clock())
            if stale is not None:
                host = _host.get() or name
                if host not in self._stale_logged:
                    self._stale_logged.add(host)
                    log.warning(
                        "DNS for %s failed (%s %s: %s): using the last good answers",
                        host,
                        rdtype,
                        name,
                        detail,
                    )
                return stale
            raise
        self.cache.store(key, records, ttl, self.clock())
        host = _host.get() or name
        if host in self._stale_logged:
            self._stale_logged.discard(host)
            log.info("DNS for %s answers again", host)
        return records

    async def _lookup(self, name: str, rdtype: str) -> tuple[Records, float]:
        qname = dns.name.from_text(name)  # absolute: no search domains
        try:
            answer = await self._dns().resolve(
                qname, rdtype, search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            return (), NEGATIVE_TTL
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise _Failure(str(exc) or type(exc).__name__) from exc
        except dns.exception.DNSException as exc:
            raise _Failure(str(exc) or type(exc).__name__) from exc
        if answer.rrset is None:
            return (), NEGATIVE_TTL
        ttl = float(answer.rrset.ttl)
        records: list[object] = []
        for rd in answer.rrset:
            if rd.rdtype == dns.rdatatype.NAPTR:
                records.append(
                    Naptr(
                        rd.order,
                        rd.preference,
                        rd.flags.decode("ascii", "replace"),
                        rd.service.decode("ascii", "replace"),
                        rd.replacement.to_text(omit_final_dot=True),
                    )
                )
            elif rd.rdtype == dns.rdatatype.SRV:
                target = "." if rd.target == dns.name.root else rd.target.to_text(True)
                records.append(Srv(rd.priority, rd.weight, rd.port, target))
            elif rd.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                records.append(rd.address)
        return tuple(records), ttl
