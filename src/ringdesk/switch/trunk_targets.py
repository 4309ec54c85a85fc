"""Where each trunk located by DNS is (RFC 3263), kept for the outbound calls, the trunk's
registration and the inbound trust.

A trunk is located by DNS when its host is a name and its port is 0 (`by_dns`): with "auto",
NAPTR -> SRV -> A/AAAA picks the transport too (RFC 3263 4.1); with a transport, SRV for that
transport, else A/AAAA on its default port. "auto" with an explicit port, or with a numeric
host, means UDP (`transport_of`).

The targets found are the provider's addresses: an INVITE from one of them is the trunk's as
much as one from the host's own address (switch/inbound.py, and the gate's trusted sources,
b2bua.py `_trust_trunk`). `refresh` keeps them current from the switch's one-second
housekeeping (asking again once `REFRESH` seconds have passed; the DNS answers themselves are
cached for their TTL by switch/dns.py, so a refresh within a TTL costs no query).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from .dns import SipResolver, Target
from .lookup import TrunkSettings
from .resolver import ip_literal

log = logging.getLogger(__name__)

REFRESH = 30.0  # seconds between re-locating a trunk (its DNS answers are cached by TTL)
TRANSPORTS = ("udp", "tcp", "tls")


def by_dns(trunk: TrunkSettings) -> bool:
    """Whether the trunk is located by RFC 3263: a host name without a port (0)."""
    host = trunk.host or ""
    return bool(host) and not trunk.port and ip_literal(host) is None


def transport_of(trunk: TrunkSettings) -> str:
    """The transport of a trunk not located by DNS: as configured, "auto" meaning UDP."""
    return trunk.transport if trunk.transport in TRANSPORTS else "udp"


def default_port(trunk: TrunkSettings) -> int:
    """The port of a trunk with a numeric host and port 0: the transport's default."""
    return 5061 if transport_of(trunk) == "tls" else 5060


def _key(trunk: TrunkSettings) -> tuple[str, str]:
    return ((trunk.host or "").lower().rstrip("."), trunk.transport)


def sources(targets: Iterable[Target]) -> tuple[str, ...]:
    """The targets as trunk sources (gate.parse_sources' forms): "ip:port" over UDP, the
    address alone over TCP and TLS (a connection from the provider comes from any port)."""
    out: list[str] = []
    for t in targets:
        if t.transport == "udp":
            out.append(f"[{t.address}]:{t.port}" if ":" in t.address else f"{t.address}:{t.port}")
        else:
            out.append(t.address)
    return tuple(dict.fromkeys(out))


class TrunkTargets:
    """The located targets per trunk (by host name and transport setting), over SipResolver."""

    def __init__(self, dns: SipResolver) -> None:
        self.dns = dns
        self._known: dict[tuple[str, str], tuple[Target, ...]] = {}
        self._asked: dict[tuple[str, str], float] = {}
        self._pending: set[tuple[str, str]] = set()

    async def locate(self, trunk: TrunkSettings) -> list[Target]:
        """The trunk's targets, best first ([] when DNS finds none: `error` says why)."""
        host = trunk.host or ""
        wanted = None if trunk.transport == "auto" else transport_of(trunk)
        found = await self.dns.targets(host, None, wanted)
        key = _key(trunk)
        self._asked[key] = asyncio.get_running_loop().time()
        if found:
            if list(self._known.get(key, ())) != found:
                log.info(
                    "trunk %s located at %s",
                    trunk.name,
                    ", ".join(f"{t.address}:{t.port}/{t.transport}" for t in found),
                )
            self._known[key] = tuple(found)
        return found

    def error(self, trunk: TrunkSettings) -> str:
        return self.dns.error(trunk.host or "")

    def known(self, trunk: TrunkSettings) -> tuple[Target, ...]:
        """The targets last located for the trunk (kept while DNS fails), () if none yet."""
        return self._known.get(_key(trunk), ())

    def refresh(self, trunks: Iterable[TrunkSettings]) -> None:
        """Locate, in the background, every by-DNS trunk not located for REFRESH seconds."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for trunk in trunks:
            key = _key(trunk)
            if not by_dns(trunk) or key in self._pending:
                continue
            if now - self._asked.get(key, -REFRESH) < REFRESH:
                continue
            self._pending.add(key)
            task = loop.create_task(self.locate(trunk))

            def done(t: asyncio.Task[list[Target]], key: tuple[str, str] = key) -> None:
                self._pending.discard(key)
                if not t.cancelled() and t.exception() is not None:
                    log.warning("locating a trunk failed: %s", t.exception())

            task.add_done_callback(done)
