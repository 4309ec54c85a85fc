"""Read the engine's configuration (settings, services, agents) out of the database."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.core.model import (
    AgentConfig,
    AgentStatus,
    CtiSettings,
    OverflowAction,
    ServiceConfig,
    Strategy,
)
from ringdesk.store import models as m


def settings_row(db: Session) -> m.CtiSettingsRow:
    """The single CTI settings row, created with defaults when missing."""
    row = db.get(m.CtiSettingsRow, 1)
    if row is None:
        row = m.CtiSettingsRow(
            id=1,
            sip_domain="ringdesk.local",
            trunk_port=5060,
            allow_any_source=False,
            codecs="PCMU,PCMA",
            queue_music_mode="early_media",
            default_login_status="business",
            pickup_seconds=20.0,
            pickup_timeout_status="rest",
            max_missed_offers=3,
            outbound_ticket_on_dial=False,
            record_calls=False,
        )
        db.add(row)
        db.commit()
    return row


def cti_settings(row: m.CtiSettingsRow) -> CtiSettings:
    return CtiSettings(
        default_login_status=AgentStatus(row.default_login_status),
        pickup_seconds=row.pickup_seconds,
        pickup_timeout_status=AgentStatus(row.pickup_timeout_status),
        outbound_ticket_on_dial=row.outbound_ticket_on_dial,
        wrap_up_seconds=row.wrap_up_seconds,
        max_missed_offers=row.max_missed_offers,
    )


def service_config(db: Session, service: m.Service) -> ServiceConfig:
    numbers = db.scalars(
        select(m.CallingNumber.number).where(m.CallingNumber.service_id == service.id)
    ).all()
    return ServiceConfig(
        id=service.id,
        name=service.name,
        inbound_enabled=service.inbound_enabled,
        outbound_enabled=service.outbound_enabled,
        calling_numbers=frozenset(numbers),
        strategy=Strategy(service.strategy),
        max_wait_seconds=service.max_wait_seconds,
        overflow_action=OverflowAction(service.overflow_action),
        overflow_number=service.overflow_number,
        service_level_seconds=service.service_level_seconds,
    )


def services(db: Session) -> list[ServiceConfig]:
    rows = db.scalars(select(m.Service).order_by(m.Service.id)).all()
    return [service_config(db, s) for s in rows]


def agent_config(db: Session, user: m.User) -> AgentConfig:
    cti = db.get(m.CtiAgent, user.id)
    permitted = db.scalars(
        select(m.ServiceAgent.service_id).where(
            m.ServiceAgent.user_id == user.id, m.ServiceAgent.phone_permission.is_(True)
        )
    ).all()
    return AgentConfig(
        id=user.id,
        name=user.name,
        cti_id=cti.cti_id if cti else None,
        cti_number=cti.cti_number if cti else None,
        services=frozenset(permitted),
        auto_answer=bool(cti and cti.auto_answer),
    )


def agents(db: Session) -> list[AgentConfig]:
    """Every user, in one pass per table (the engine decides who may log in)."""
    users = db.scalars(select(m.User).order_by(m.User.id)).all()
    ctis = {c.user_id: c for c in db.scalars(select(m.CtiAgent)).all()}
    permitted: dict[int, set[int]] = defaultdict(set)
    for sa in db.scalars(select(m.ServiceAgent).where(m.ServiceAgent.phone_permission.is_(True))):
        permitted[sa.user_id].add(sa.service_id)
    result = []
    for user in users:
        cti = ctis.get(user.id)
        result.append(
            AgentConfig(
                id=user.id,
                name=user.name,
                cti_id=cti.cti_id if cti else None,
                cti_number=cti.cti_number if cti else None,
                services=frozenset(permitted[user.id]),
                auto_answer=bool(cti and cti.auto_answer),
            )
        )
    return result
