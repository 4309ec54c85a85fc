"""What the SIP switch asks the rest of Ringdesk (SwitchDirectory), and its one channel back.

The runtime implements SwitchDirectory over the configuration snapshot; the switch implements
ringdesk.core.telephony.TelephonyPort and calls `sink` with every TelephonyEvent, phone
registrations included. Both sides run on the same asyncio loop, so these are plain calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ringdesk.core.telephony import TelephonyEvent

from .limits import CallLimits


@dataclass(frozen=True, slots=True)
class TrunkSettings:
    """One provider trunk as the switch uses it (store/trunks.py has the admin's view)."""

    host: str | None = None  # trunk/gateway address; None: no outbound possible
    port: int = 5060
    username: str | None = None
    password: str | None = None
    allow_any_source: bool = False  # accept inbound INVITEs from any address
    # Where else the trunk's INVITEs may come from: "ip" (any port), "ip:port", "[ipv6]:port".
    sources: tuple[str, ...] = ()
    name: str = "trunk"
    id: int = 0  # 0: the legacy single trunk of the CTI settings
    transport: str = "udp"  # udp / tcp / tls
    auth_username: str | None = None  # the digest user when it is not `username`
    realm: str | None = None  # answer only this realm's challenges (None: any)
    register: bool = False  # outbound registration (RFC 3261 10.2)
    register_expires: int = 3600
    priority: int = 1  # lower first
    # Caller ID: From user is always the calling number; plus none / "pai" / "rpid".
    identity_header: str = "pai"
    from_domain: str | None = None  # the From host the provider expects (None: the trunk host)
    privacy_withheld: bool = True  # a withheld number goes as anonymous with Privacy: id
    number_format: str = "e164"  # out: "e164" (+49...), "e164_plain" (49...), "national" (0...)
    country_code: str | None = None  # in: the caller's number normalised to E.164 with it

    @property
    def digest_user(self) -> str | None:
        return self.auth_username or self.username


@dataclass(frozen=True, slots=True)
class MediaSettings:
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    queue_music_mode: str = "early_media"  # or "answered"
    # sound name (hold_music, queue_music, force_disconnect, overflow) -> WAV file
    sounds: dict[str, Path] = field(default_factory=dict)
    # Prompts (core/prompts.py): the names whose `sounds` file is an admin's upload, and the
    # text an admin typed for others (spoken by switch/playback.py).
    uploads: frozenset[str] = frozenset()
    prompt_texts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundRoute:
    service_id: int
    inbound_enabled: bool


class SwitchDirectory(Protocol):
    def sip_domain(self) -> str: ...

    def phone_password(self, cti_id: str) -> str | None:
        """The phone password of the agent with this CTI ID, None if unknown."""

    def inbound_route(self, called_number: str) -> InboundRoute | None:
        """The service whose inbound number this is, None if none."""

    def trunk(self) -> TrunkSettings:
        """The first trunk by priority (an empty TrunkSettings when there is none)."""

    def trunks(self) -> tuple[TrunkSettings, ...]:
        """Every enabled trunk, by priority (outbound calls try them in this order)."""

    def limits(self) -> CallLimits:
        """The limits on live inbound calls (per source address, in total)."""

    def media(self) -> MediaSettings: ...


EventSink = Callable[[TelephonyEvent], None]
