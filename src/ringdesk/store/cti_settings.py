"""The global CTI settings and their defaults: the one place they are written. The table's
column defaults, the row a fresh database gets, the demo tenant and the API's request body all
take them from `DEFAULTS`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from ringdesk.core.model import AgentStatus, CtiSettings

Codec = Literal["PCMU", "PCMA"]
QueueMusicMode = Literal["early_media", "answered"]  # before an agent answers / answered at once
ChosenStatus = Literal["business", "ready", "rest"]
PickupTimeoutStatus = Literal["business", "rest"]


@dataclass(frozen=True, slots=True)
class GlobalSettings:
    """Global Management -> CTI Management -> CTI Settings, with the defaults of a new install."""

    sip_domain: str = "ringdesk.local"
    # The trunks (where calls go out, and whose INVITEs are trusted) are rows of their own:
    # store/trunks.py. Inbound trust and call limits: docs/security.md, "Inbound calls".
    allow_any_source: bool = False  # accept inbound INVITEs from any address, not the trunks'
    max_calls_per_source: int = 10  # live inbound calls from one address that is not the trunk
    max_calls_total: int = 200  # live inbound calls in all, the trunk's included (then 503)
    max_queued_per_service: int = 50  # calls waiting in one service's queue (then 486)
    codecs: tuple[Codec, ...] = ("PCMU", "PCMA")
    queue_music_mode: QueueMusicMode = "early_media"
    default_login_status: ChosenStatus = "business"
    pickup_seconds: float = 20.0
    pickup_timeout_status: PickupTimeoutStatus = "rest"
    max_missed_offers: int = 3
    outbound_ticket_on_dial: bool = False
    wrap_up_seconds: float | None = None  # None: the agent goes Ready themselves
    record_calls: bool = False
    # An agent whose every browser page has been gone this long (no live feed) is logged out
    # of CTI, so calls stop ringing an empty desk; 0: never (runtime/presence.py).
    absent_logout_seconds: int = 120
    # A recorded call's caller hears the "recording_notice" prompt once, as they join the queue.
    recording_notice: bool = True
    # Call recordings and voicemails older than this are deleted (runtime/retention.py); 0: kept.
    recording_retention_days: int = 0
    # An agent hears the recordings of her own calls; off: admins and supervisors only.
    agents_hear_own_recordings: bool = True
    # Agents see when a supervisor listens to their call.
    supervisor_notice: bool = True

    def row_values(self) -> dict[str, Any]:
        """The columns of the settings row (codecs are stored comma-separated)."""
        values = asdict(self)
        values["codecs"] = ",".join(dict.fromkeys(self.codecs))
        return values

    def engine_settings(self) -> CtiSettings:
        return CtiSettings(
            default_login_status=AgentStatus(self.default_login_status),
            pickup_seconds=self.pickup_seconds,
            pickup_timeout_status=AgentStatus(self.pickup_timeout_status),
            outbound_ticket_on_dial=self.outbound_ticket_on_dial,
            wrap_up_seconds=self.wrap_up_seconds,
            max_missed_offers=self.max_missed_offers,
            max_queued_per_service=self.max_queued_per_service,
            record_calls=self.record_calls,
            recording_notice=self.recording_notice,
        )


DEFAULTS = GlobalSettings()
