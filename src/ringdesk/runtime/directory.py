"""What the switch asks (phone passwords, inbound routes, trunk, media), answered from the
current configuration snapshot: the switch asks on every REGISTER and INVITE and must not wait
on the database."""

from __future__ import annotations

from dataclasses import dataclass, field

from ringdesk.store.snapshot import Snapshot
from ringdesk.store.trunks import TrunkConfig
from ringdesk.switch.limits import CallLimits
from ringdesk.switch.lookup import InboundRoute, MediaSettings, TrunkSettings


@dataclass(frozen=True, slots=True)
class _SwitchView:
    routes: dict[str, InboundRoute] = field(default_factory=dict)
    trunk: TrunkSettings = field(default_factory=TrunkSettings)
    trunks: tuple[TrunkSettings, ...] = ()
    limits: CallLimits = field(default_factory=CallLimits)
    media: MediaSettings = field(default_factory=MediaSettings)


def _trunk(t: TrunkConfig, allow_any_source: bool) -> TrunkSettings:
    return TrunkSettings(
        host=t.host,
        port=t.port,
        username=t.username,
        password=t.password,
        allow_any_source=allow_any_source,
        sources=t.sources,
        name=t.name,
        id=t.id,
        transport=t.transport,
        auth_username=t.auth_username,
        realm=t.realm,
        register=t.register,
        register_expires=t.register_expires,
        priority=t.priority,
        identity_header=t.identity_header,
        from_domain=t.from_domain,
        privacy_withheld=t.privacy_withheld,
        number_format=t.number_format,
        country_code=t.country_code,
    )


def _trunks(snapshot: Snapshot) -> tuple[TrunkSettings, ...]:
    """The enabled trunks by priority."""
    allow_any_source = snapshot.settings.allow_any_source
    return tuple(_trunk(t, allow_any_source) for t in snapshot.trunks if t.enabled)


def _switch_view(snapshot: Snapshot) -> _SwitchView:
    s = snapshot.settings
    trunks = _trunks(snapshot)
    enabled = {svc.id: svc.inbound_enabled for svc in snapshot.services}
    return _SwitchView(
        routes={
            number: InboundRoute(service_id=sid, inbound_enabled=enabled.get(sid, False))
            for number, sid in snapshot.inbound_numbers.items()
        },
        trunk=trunks[0] if trunks else TrunkSettings(allow_any_source=s.allow_any_source),
        trunks=trunks,
        limits=CallLimits(per_source=s.max_calls_per_source, total=s.max_calls_total),
        media=MediaSettings(
            codecs=s.codecs,
            queue_music_mode=s.queue_music_mode,
            sounds=dict(snapshot.sounds),
            uploads=snapshot.uploads,
            prompt_texts=dict(snapshot.prompt_texts),
        ),
    )


class SnapshotDirectory:
    """The switch's SwitchDirectory over one snapshot at a time (`use` swaps it whole)."""

    def __init__(self) -> None:
        self._snapshot = Snapshot()
        self._view = _switch_view(self._snapshot)

    def use(self, snapshot: Snapshot) -> None:
        self._view = _switch_view(snapshot)
        self._snapshot = snapshot

    def sip_domain(self) -> str:
        return self._snapshot.settings.sip_domain

    def phone_password(self, cti_id: str) -> str | None:
        return self._snapshot.phone_passwords.get(cti_id)

    def inbound_route(self, called_number: str) -> InboundRoute | None:
        return self._view.routes.get(called_number)

    def trunk(self) -> TrunkSettings:
        return self._view.trunk

    def trunks(self) -> tuple[TrunkSettings, ...]:
        return self._view.trunks

    def limits(self) -> CallLimits:
        return self._view.limits

    def media(self) -> MediaSettings:
        return self._view.media
