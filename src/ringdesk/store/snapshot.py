"""One configuration snapshot: every setting the engine, the switch and the screens read, loaded
from the database as a whole and replaced as a whole when an admin saves."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.core.dialplan import DEFAULT_PREMIUM_PREFIXES, DialPlan
from ringdesk.core.hours import Holiday, OpeningHours, WeeklyRange
from ringdesk.core.model import (
    AgentConfig,
    ClosedAction,
    DispositionCode,
    MenuAction,
    MenuChoice,
    MenuConfig,
    OverflowAction,
    ServiceConfig,
    Strategy,
)
from ringdesk.core.prompts import POSITION, per
from ringdesk.store import dispositions
from ringdesk.store import models as m
from ringdesk.store import trunks as trunk_store
from ringdesk.store.cti_settings import (
    DEFAULTS,
    ChosenStatus,
    Codec,
    GlobalSettings,
    PickupTimeoutStatus,
    QueueMusicMode,
)
from ringdesk.store.trunks import TrunkConfig


def settings_row(db: Session) -> m.CtiSettingsRow:
    """The single CTI settings row, created with the defaults when missing."""
    row = db.get(m.CtiSettingsRow, 1)
    if row is None:
        row = m.CtiSettingsRow(id=1, **DEFAULTS.row_values())
        db.add(row)
        db.commit()
    return row


def check_secret_key(db: Session) -> None:
    """Open every stored secret once: raises store.secrets.SecretKeyError when the configured
    key is not the one they were sealed with, so the start stops with one clear line."""
    db.scalars(select(m.CtiAgent.phone_password)).all()
    db.scalars(select(m.TrunkRow.password)).all()
    db.scalars(select(m.UserTotp.secret)).all()


def from_row(row: m.CtiSettingsRow) -> GlobalSettings:
    return GlobalSettings(
        sip_domain=row.sip_domain,
        allow_any_source=row.allow_any_source,
        max_calls_per_source=row.max_calls_per_source,
        max_calls_total=row.max_calls_total,
        max_queued_per_service=row.max_queued_per_service,
        codecs=tuple(cast(Codec, c) for c in row.codecs.split(",") if c),
        queue_music_mode=cast(QueueMusicMode, row.queue_music_mode),
        default_login_status=cast(ChosenStatus, row.default_login_status),
        pickup_seconds=row.pickup_seconds,
        pickup_timeout_status=cast(PickupTimeoutStatus, row.pickup_timeout_status),
        max_missed_offers=row.max_missed_offers,
        outbound_ticket_on_dial=row.outbound_ticket_on_dial,
        wrap_up_seconds=row.wrap_up_seconds,
        record_calls=row.record_calls,
        absent_logout_seconds=row.absent_logout_seconds,
        recording_notice=row.recording_notice,
        recording_retention_days=row.recording_retention_days,
        agents_hear_own_recordings=row.agents_hear_own_recordings,
        supervisor_notice=row.supervisor_notice,
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The configuration at one moment. Immutable: readers keep the one they were given."""

    settings: GlobalSettings = DEFAULTS
    services: tuple[ServiceConfig, ...] = ()
    agents: tuple[AgentConfig, ...] = ()
    inbound_numbers: dict[str, int] = field(default_factory=dict)  # number -> service id
    phone_passwords: dict[str, str | None] = field(default_factory=dict)  # CTI ID -> password
    sounds: dict[str, Path] = field(default_factory=dict)  # sound name -> WAV file to play
    trunks: tuple[TrunkConfig, ...] = ()  # every provider trunk, by priority (store/trunks.py)
    menus: tuple[MenuConfig, ...] = ()
    prompt_texts: dict[str, str] = field(default_factory=dict)  # name -> an admin's text
    uploads: frozenset[str] = frozenset()  # names whose `sounds` entry is an admin's WAV
    _names: dict[int, str] = field(default_factory=dict)
    _cti_numbers: dict[int, str] = field(default_factory=dict)

    @property
    def pickup_seconds(self) -> float:
        return self.settings.pickup_seconds

    def service_name(self, service_id: int) -> str:
        return self._names.get(service_id, "")

    def service_ids(self) -> list[int]:
        return [s.id for s in self.services]

    def wrap_up_codes(self, service_id: int) -> tuple[tuple[DispositionCode, ...], bool]:
        for service in self.services:
            if service.id == service_id:
                return service.dispositions, service.disposition_required
        return (), False

    def service_agents(self, service_id: int) -> list[int]:
        return [a.id for a in self.agents if service_id in a.services]

    def supervisor_notice(self) -> bool:
        return self.settings.supervisor_notice

    def agent_services(self, agent_id: int) -> frozenset[int]:
        """The services the user has phone permission on (a supervisor's: the ones they lead)."""
        for agent in self.agents:
            if agent.id == agent_id:
                return agent.services
        return frozenset()

    def service_hours(self, service_id: int) -> OpeningHours | None:
        for service in self.services:
            if service.id == service_id:
                return service.hours
        return None

    def cti_number(self, agent_id: int) -> str | None:
        return self._cti_numbers.get(agent_id)


def opening_hours(
    service: m.Service, weekly: list[m.ServiceHours], holidays: list[m.Holiday]
) -> OpeningHours | None:
    """The service's calendar; None (always open) when it has neither hours nor holidays."""
    if not weekly and not holidays:
        return None
    return OpeningHours(
        timezone=service.timezone,
        weekly=tuple(
            WeeklyRange(r.weekday, r.start_minute, r.end_minute)
            for r in sorted(weekly, key=lambda r: (r.weekday, r.start_minute))
        ),
        holidays=tuple(
            Holiday(
                h.name, date.fromisoformat(h.first_day), date.fromisoformat(h.last_day), h.yearly
            )
            for h in sorted(holidays, key=lambda h: h.first_day)
        ),
    )


def menu_config(menu: m.Menu, choices: list[m.MenuChoiceRow]) -> MenuConfig:
    return MenuConfig(
        id=menu.id,
        name=menu.name,
        choices=tuple(
            (c.digit, MenuChoice(MenuAction(c.action), c.target, c.number))
            for c in sorted(choices, key=lambda c: c.digit)
        ),
        timeout_seconds=menu.timeout_seconds,
        max_tries=menu.max_tries,
        fallback=MenuChoice(
            MenuAction(menu.fallback_action), menu.fallback_target, menu.fallback_number
        ),
    )


def service_config(
    service: m.Service,
    numbers: frozenset[str],
    hours: OpeningHours | None = None,
    texts: dict[str, str] | None = None,
) -> ServiceConfig:
    """The engine's view of a service; `texts` the prompts typed as text (its own position
    announcement, else the global one)."""
    texts = texts or {}
    template = texts.get(per(POSITION, service.id)) or texts.get(POSITION) or ""
    return ServiceConfig(
        id=service.id,
        name=service.name,
        inbound_enabled=service.inbound_enabled,
        outbound_enabled=service.outbound_enabled,
        calling_numbers=numbers,
        strategy=Strategy(service.strategy),
        max_wait_seconds=service.max_wait_seconds,
        overflow_action=OverflowAction(service.overflow_action),
        overflow_number=service.overflow_number,
        service_level_seconds=service.service_level_seconds,
        dial_plan=dial_plan(service),
        hours=hours,
        closed_action=ClosedAction(service.closed_action),
        closed_number=service.closed_number,
        menu_id=service.menu_id,
        announce_position=service.announce_position,
        announce_message=service.announce_message,
        announce_every_seconds=float(service.announce_every_seconds),
        voicemail_max_seconds=float(service.voicemail_max_seconds),
        callback_enabled=service.callback_enabled,
        callback_retry_seconds=float(service.callback_retry_seconds),
        callback_max_attempts=service.callback_max_attempts,
        position_template=template,
        record_calls=service.record_calls,
    )


def _listed(text: str | None) -> tuple[str, ...]:
    return tuple(p for p in (text or "").split(",") if p)


def dial_plan(service: m.Service) -> DialPlan:
    """The service's dial plan from its columns (premium prefixes NULL: the built-in list)."""
    premium = service.dial_premium_prefixes
    return DialPlan(
        country_code=service.dial_country_code or None,
        national_prefix=service.dial_national_prefix,
        international_prefixes=_listed(service.dial_international_prefixes),
        allow_international=service.dial_allow_international,
        allow_premium=service.dial_allow_premium,
        premium_prefixes=DEFAULT_PREMIUM_PREFIXES if premium is None else _listed(premium),
        allowed_patterns=_listed(service.dial_allowed_patterns),
        blocked_patterns=_listed(service.dial_blocked_patterns),
    )


def load(db: Session, sounds: dict[str, Path]) -> Snapshot:
    """Read the whole configuration, one query per table."""
    settings = from_row(settings_row(db))
    numbers: dict[int, set[str]] = defaultdict(set)
    for sid, number in db.execute(select(m.CallingNumber.service_id, m.CallingNumber.number)):
        numbers[sid].add(number)
    services = db.scalars(select(m.Service).order_by(m.Service.id)).all()
    wrap_up_codes = dispositions.load(db)
    weekly: dict[int, list[m.ServiceHours]] = defaultdict(list)
    for r in db.scalars(select(m.ServiceHours)):
        weekly[r.service_id].append(r)
    holidays: dict[int, list[m.Holiday]] = defaultdict(list)
    for h in db.scalars(select(m.Holiday)):
        holidays[h.service_id].append(h)
    choices: dict[int, list[m.MenuChoiceRow]] = defaultdict(list)
    for c in db.scalars(select(m.MenuChoiceRow)):
        choices[c.menu_id].append(c)
    menus = tuple(
        menu_config(menu, choices[menu.id])
        for menu in db.scalars(select(m.Menu).order_by(m.Menu.id))
    )
    prompt_rows = db.execute(select(m.Sound.name, m.Sound.filename, m.Sound.text)).all()
    texts = {name: text for name, _, text in prompt_rows if text}
    users = db.scalars(select(m.User).order_by(m.User.id)).all()
    ctis = {c.user_id: c for c in db.scalars(select(m.CtiAgent))}
    permitted: dict[int, set[int]] = defaultdict(set)
    granted = select(m.ServiceAgent).where(m.ServiceAgent.phone_permission.is_(True))
    for sa in db.scalars(granted):
        permitted[sa.user_id].add(sa.service_id)
    agents = []
    for user in users:
        cti = ctis.get(user.id)
        agents.append(
            AgentConfig(
                id=user.id,
                name=user.name,
                cti_id=cti.cti_id if cti else None,
                cti_number=cti.cti_number if cti else None,
                services=frozenset(permitted[user.id]),
                auto_answer=bool(cti and cti.auto_answer),
                # The browser page answers by itself: only a SIP phone rings with the offer.
                ring_on_offer=bool(cti and cti.ring_on_offer and cti.phone_kind == "sip"),
                # The browser phone's media is set up with the offer (RingAgent prewarm).
                prewarm=bool(cti and cti.phone_kind == "browser" and cti.browser_phone_allowed),
            )
        )
    return Snapshot(
        settings=settings,
        services=tuple(
            dispositions.apply(
                service_config(
                    s,
                    frozenset(numbers[s.id]),
                    opening_hours(s, weekly[s.id], holidays[s.id]),
                    texts,
                ),
                wrap_up_codes,
            )
            for s in services
        ),
        agents=tuple(agents),
        inbound_numbers={s.inbound_number: s.id for s in services if s.inbound_number},
        phone_passwords={c.cti_id: c.phone_password for c in ctis.values()},
        sounds=dict(sounds),
        trunks=trunk_store.load(db),
        menus=menus,
        prompt_texts=texts,
        uploads=frozenset(name for name, filename, _ in prompt_rows if filename),
        _names={s.id: s.name for s in services},
        _cti_numbers={c.user_id: c.cti_number for c in ctis.values()},
    )
