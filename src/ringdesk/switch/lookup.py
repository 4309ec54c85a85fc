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
    host: str | None = None  # trunk/gateway address; None: no outbound possible
    port: int = 5060
    username: str | None = None
    password: str | None = None
    allow_any_source: bool = False  # accept inbound INVITEs from any address
    # Where else the trunk's INVITEs may come from: "ip" (any port), "ip:port", "[ipv6]:port".
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MediaSettings:
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    queue_music_mode: str = "early_media"  # or "answered"
    record_calls: bool = False
    # sound name (hold_music, queue_music, force_disconnect, overflow) -> WAV file
    sounds: dict[str, Path] = field(default_factory=dict)


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

    def trunk(self) -> TrunkSettings: ...

    def limits(self) -> CallLimits:
        """The limits on live inbound calls (per source address, in total)."""

    def media(self) -> MediaSettings: ...


EventSink = Callable[[TelephonyEvent], None]
