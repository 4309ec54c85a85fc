"""Customers as the read side needs them: matching a caller's number to one customer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m


def phone_forms(number: str) -> tuple[str, str, str]:
    """The ways a customer's phone may be stored for this number: as given, without and with
    a leading '+'."""
    bare = number.lstrip("+")
    return number, bare, "+" + bare


def match(db: Session, number: str) -> m.Customer | None:
    """The customer whose phone is this number (ignoring a leading '+'), if exactly one."""
    candidates = set(phone_forms(number))
    rows = db.scalars(select(m.Customer).where(m.Customer.phone.in_(candidates)).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


def get(db: Session, customer_id: int | None) -> m.Customer | None:
    return db.get(m.Customer, customer_id) if customer_id is not None else None
