"""SwitchDirectory backed by the database: a snapshot, refreshed whenever an admin saves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.loaders import settings_row
from ringdesk.telephony.directory import InboundRoute, MediaSettings, TrunkSettings


@dataclass(frozen=True, slots=True)
class Snapshot:
    sip_domain: str = "ringdesk.local"
    passwords: dict[str, str | None] = field(default_factory=dict)  # cti_id -> phone password
    agent_ids: dict[str, int] = field(default_factory=dict)  # cti_id -> user id
    routes: dict[str, InboundRoute] = field(default_factory=dict)  # inbound number -> route
    trunk: TrunkSettings = field(default_factory=TrunkSettings)
    media: MediaSettings = field(default_factory=MediaSettings)


class StoreDirectory:
    """What the switch asks (phone passwords, inbound routes, trunk, media), answered from memory
    because the switch asks on every REGISTER and INVITE and must not wait on the database."""

    def __init__(self, on_registration: Callable[[str, bool], None]) -> None:
        self._snapshot = Snapshot()
        self._on_registration = on_registration

    def refresh(self, db: Session, sounds: dict[str, Path]) -> None:
        row = settings_row(db)
        ctis = db.scalars(select(m.CtiAgent)).all()
        services = db.scalars(select(m.Service)).all()
        self._snapshot = Snapshot(
            sip_domain=row.sip_domain,
            passwords={c.cti_id: c.phone_password for c in ctis},
            agent_ids={c.cti_id: c.user_id for c in ctis},
            routes={
                s.inbound_number: InboundRoute(service_id=s.id, inbound_enabled=s.inbound_enabled)
                for s in services
                if s.inbound_number
            },
            trunk=TrunkSettings(
                host=row.trunk_host or None,
                port=row.trunk_port,
                username=row.trunk_username or None,
                password=row.trunk_password or None,
                allow_any_source=row.allow_any_source,
            ),
            media=MediaSettings(
                codecs=tuple(c for c in row.codecs.split(",") if c),
                queue_music_mode=row.queue_music_mode,
                record_calls=row.record_calls,
                sounds=dict(sounds),
            ),
        )

    def agent_id(self, cti_id: str) -> int | None:
        return self._snapshot.agent_ids.get(cti_id)

    # ---- SwitchDirectory ----------------------------------------------------------------------
    def sip_domain(self) -> str:
        return self._snapshot.sip_domain

    def phone_password(self, cti_id: str) -> str | None:
        return self._snapshot.passwords.get(cti_id)

    def inbound_route(self, called_number: str) -> InboundRoute | None:
        return self._snapshot.routes.get(called_number)

    def trunk(self) -> TrunkSettings:
        return self._snapshot.trunk

    def media(self) -> MediaSettings:
        return self._snapshot.media

    def registration_changed(self, cti_id: str, registered: bool) -> None:
        self._on_registration(cti_id, registered)
