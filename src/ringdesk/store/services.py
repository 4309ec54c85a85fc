"""Services (the contract of a queue): the rows the admin pages read and write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ringdesk.core.dialplan import DEFAULT_PREMIUM_PREFIXES, DialPlan
from ringdesk.core.hours import OpeningHours
from ringdesk.store import models as m
from ringdesk.store.errors import commit_or_conflict
from ringdesk.store.snapshot import dial_plan
from ringdesk.store.snapshot import opening_hours as snapshot_hours


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


def calling_number_count(db: Session, *, service_id: int) -> int:
    """How many calling numbers the service has (what a callback calls the customer from)."""
    query = select(func.count()).where(m.CallingNumber.service_id == service_id)
    return db.scalar(query) or 0


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


def hours(db: Session, *, service_id: int) -> list[m.ServiceHours]:
    """The service's weekly opening ranges, by weekday and start."""
    return list(
        db.scalars(
            select(m.ServiceHours)
            .where(m.ServiceHours.service_id == service_id)
            .order_by(m.ServiceHours.weekday, m.ServiceHours.start_minute)
        )
    )


def holidays(db: Session, *, service_id: int) -> list[m.Holiday]:
    """The service's holidays, by first day."""
    return list(
        db.scalars(
            select(m.Holiday)
            .where(m.Holiday.service_id == service_id)
            .order_by(m.Holiday.first_day, m.Holiday.id)
        )
    )


def opening_hours(db: Session, *, service: m.Service) -> OpeningHours | None:
    """The service's calendar as the engine gets it (None: always open)."""
    return snapshot_hours(
        service,
        hours(db, service_id=service.id),
        holidays(db, service_id=service.id),
    )


def replace_calendar(
    db: Session,
    *,
    service: m.Service,
    timezone: str,
    weekly: Sequence[tuple[int, int, int]],
    holiday_values: Sequence[tuple[str, str, str, bool]],
) -> None:
    """Replace the whole calendar in one transaction: the time zone, the weekly ranges
    (weekday, start minute, end minute) and the holidays (name, first ISO day, last ISO day,
    yearly)."""
    service.timezone = timezone
    db.execute(sql_delete(m.ServiceHours).where(m.ServiceHours.service_id == service.id))
    db.execute(sql_delete(m.Holiday).where(m.Holiday.service_id == service.id))
    for weekday, start, end in weekly:
        db.add(
            m.ServiceHours(
                service_id=service.id, weekday=weekday, start_minute=start, end_minute=end
            )
        )
    for name, first, last, yearly in holiday_values:
        db.add(
            m.Holiday(
                service_id=service.id, name=name, first_day=first, last_day=last, yearly=yearly
            )
        )
    db.commit()
