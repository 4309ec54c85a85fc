"""The trunk's host name to UDP addresses: asynchronous lookups, cached.

A provider is configured by name (`sip.provider.example`); the switch needs addresses to send
INVITEs to and to recognise the trunk's INVITEs by their source. `getaddrinfo` gives no TTL,
so answers are kept for a fixed lifetime (POSITIVE_TTL) and refreshed in the background before
they run out; a failed lookup is remembered for NEGATIVE_TTL so a dead name is not asked again
on every call. When a refresh fails, the last good answer is still used for up to STALE_TTL
(a DNS outage should not cut an otherwise working trunk, in the spirit of RFC 8767).

With `use_servers` (the --dns-servers setting) the names are asked of those DNS servers over
dnspython (switch/dns.py) instead of getaddrinfo, so /etc/hosts and the system resolver are
left out. RFC 3263 NAPTR/SRV location of a trunk without a port is `switch/dns.py`.

`AddressCache` is the pure part (explicit `now`), `TrunkResolver` the asyncio part.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dns import SipResolver

log = logging.getLogger(__name__)

Address = tuple[str, int]

POSITIVE_TTL = 300.0  # seconds an answer is used before it is asked again
NEGATIVE_TTL = 30.0  # seconds a failed lookup is remembered
STALE_TTL = 3600.0  # seconds a last good answer outlives failing refreshes
REFRESH_AHEAD = 30.0  # refresh in the background this long before an answer expires


def ip_literal(host: str) -> str | None:
    """The address when `host` is an IP literal (IPv6 with or without brackets), else None."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@dataclass(slots=True)
class Entry:
    addresses: tuple[str, ...]  # empty: the last lookup failed and nothing good is left
    fresh_until: float  # used without asking again until then
    usable_until: float  # the addresses may still be used (stale) until then
    error: str = ""


class AddressCache:
    """Answers per host name, with the lifetimes above. No I/O, `now` is an argument."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def addresses(self, host: str, now: float) -> tuple[str, ...] | None:
        """Usable addresses; () for a name known to fail; None when a lookup is needed."""
        entry = self._entries.get(host)
        if entry is None:
            return None
        if now < entry.fresh_until:
            return entry.addresses
        if entry.addresses and now < entry.usable_until:
            return entry.addresses  # stale, while refreshes fail
        return None

    def needs_lookup(self, host: str, now: float) -> bool:
        """No answer, an expired one, or one close enough to expiry to refresh ahead."""
        entry = self._entries.get(host)
        if entry is None:
            return True
        ahead = REFRESH_AHEAD if entry.addresses and not entry.error else 0.0
        return now >= entry.fresh_until - ahead

    def error(self, host: str) -> str:
        entry = self._entries.get(host)
        return entry.error if entry is not None else ""

    def store(self, host: str, addresses: tuple[str, ...], now: float) -> None:
        self._entries[host] = Entry(addresses, now + POSITIVE_TTL, now + POSITIVE_TTL)

    def store_failure(self, host: str, error: str, now: float) -> None:
        """A failed lookup: keep a previous good answer (stale) for a while, else remember it."""
        old = self._entries.get(host)
        if old is not None and old.addresses:
            usable = min(old.usable_until, now + STALE_TTL) if old.error else now + STALE_TTL
            if now < usable:
                fresh = min(now + NEGATIVE_TTL, usable)
                self._entries[host] = Entry(old.addresses, fresh, usable, error)
                return
        self._entries[host] = Entry((), now + NEGATIVE_TTL, now + NEGATIVE_TTL, error)


class TrunkResolver:
    """Host name -> addresses over the loop's `getaddrinfo` (in the default executor), cached.

    `family` limits answers to what our SIP socket can reach (AF_INET for an IPv4 socket).
    One lookup at a time per name: concurrent callers share it. A name that stops resolving is
    logged once, and once more when it resolves again.
    """

    def __init__(self, family: int = socket.AF_INET) -> None:
        self.family = family
        self.cache = AddressCache()
        self._pending: dict[str, asyncio.Future[tuple[str, ...]]] = {}
        self._failing: set[str] = set()
        self._dns: SipResolver | None = None

    def use_servers(self, servers: Sequence[tuple[str, int]]) -> None:
        """Ask these DNS servers (ip, port) instead of getaddrinfo; () goes back to it."""
        from .dns import SipResolver  # dns.py imports this module

        self._dns = SipResolver(self.family, servers) if servers else None

    def cached(self, host: str, now: float) -> tuple[str, ...] | None:
        """What is known without waiting: the literal itself, the cached answer, or None."""
        literal = ip_literal(host)
        if literal is not None:
            return (literal,)
        return self.cache.addresses(host, now)

    async def resolve(self, host: str) -> tuple[str, ...]:
        """The host's addresses, () when it does not resolve (see `error`)."""
        loop = asyncio.get_running_loop()
        known = self.cached(host, loop.time())
        if known is not None and not self.cache.needs_lookup(host, loop.time()):
            return known
        if known:  # usable but due for refresh: answer now, refresh behind
            self.prefetch(host)
            return known
        return await self._lookup(host)

    def prefetch(self, host: str) -> None:
        """Start a background refresh if the answer is missing or about to expire."""
        if ip_literal(host) is not None or host in self._pending:
            return
        loop = asyncio.get_running_loop()
        if not self.cache.needs_lookup(host, loop.time()):
            return
        task = loop.create_task(self._lookup(host))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def error(self, host: str) -> str:
        return self.cache.error(host)

    async def _lookup(self, host: str) -> tuple[str, ...]:
        pending = self._pending.get(host)
        if pending is not None:
            return await asyncio.shield(pending)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[str, ...]] = loop.create_future()
        self._pending[host] = future
        try:
            result = await self._ask(loop, host)
        except BaseException:
            future.cancel()  # shutdown: nobody waits for this answer any more
            raise
        else:
            future.set_result(result)
        finally:
            del self._pending[host]
        return result

    async def _ask(self, loop: asyncio.AbstractEventLoop, host: str) -> tuple[str, ...]:
        try:
            addresses = await self._getaddrinfo(loop, host)
        except (OSError, UnicodeError) as exc:
            detail = str(exc) or type(exc).__name__
            self.cache.store_failure(host, detail, loop.time())
            if host not in self._failing:
                self._failing.add(host)
                log.warning("trunk host %r does not resolve: %s", host, detail)
            return self.cache.addresses(host, loop.time()) or ()
        self.cache.store(host, addresses, loop.time())
        if host in self._failing:
            self._failing.discard(host)
            log.info("trunk host %r resolves again: %s", host, ", ".join(addresses))
        return addresses

    async def _getaddrinfo(self, loop: asyncio.AbstractEventLoop, host: str) -> tuple[str, ...]:
        if self._dns is not None:
            return await self._dns.addresses(host)
        infos = await loop.getaddrinfo(
            host, None, family=self.family, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP
        )
        seen: dict[str, None] = {}  # keeps the resolver's order (RFC 6724 sorting)
        for _family, _type, _proto, _name, sockaddr in infos:
            seen.setdefault(str(sockaddr[0]), None)
        if not seen:
            raise OSError(f"no {socket.AddressFamily(self.family).name} address")
        return tuple(seen)
