"""Services (the contract of a queue): the rows the admin pages read and write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.core.dialplan import DEFAULT_PREMIUM_PREFIXES, DialPlan
from ringdesk.store import models as m
from ringdesk.store.errors import commit_or_conflict
from ringdesk.store.snapshot import dial_plan


def plan_of(service: m.Service) -> DialPlan:
    """The service's dial plan as the engine gets it."""
    return dial_plan(service)


def plan_columns(plan: DialPlan) -> dict[str, Any]:
    """The columns that store a dial plan; the built-in premium list is stored as NULL, so a
    service that kept it gets a newer one with an upgrade."""
    premium = plan.premium_prefixes
    return {
        "dial_country_code": plan.country_code,
        "dial_national_prefix": plan.national_prefix,
        "dial_international_prefixes": ",".join(plan.international_prefixes),
        "dial_allow_international": plan.allow_international,
        "dial_allow_premium": plan.allow_premium,
        "dial_premium_prefixes": None
        if tuple(premium) == DEFAULT_PREMIUM_PREFIXES
        else ",".join(premium),
        "dial_allowed_patterns": ",".join(plan.allowed_patterns),
        "dial_blocked_patterns": ",".join(plan.blocked_patterns),
    }


def list_(db: Session) -> Sequence[m.Service]:
    return db.scalars(select(m.Service).order_by(m.Service.id)).all()


def get(db: Session, *, service_id: int) -> m.Service | None:
    return db.get(m.Service, service_id)


def create(db: Session, *, values: Mapping[str, Any]) -> m.Service:
    """A new service from its column values; Conflict when its inbound number is taken."""
    row = m.Service(**values)
    db.add(row)
    commit_or_conflict(db)
    return row


def update(db: Session, *, service: m.Service, changes: Mapping[str, Any]) -> m.Service:
    """Set the given columns; Conflict when the inbound number is taken."""
    for name, value in changes.items():
        setattr(service, name, value)
    commit_or_conflict(db)
    return service


def delete(db: Session, *, service: m.Service) -> None:
    """Tickets keep their history (their service_id becomes NULL)."""
    db.delete(service)
    db.commit()
