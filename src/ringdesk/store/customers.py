"""Customers: matching a caller's number to one customer, and the rows agents search and edit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.search import contains


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


def owns(customer: m.Customer) -> ColumnElement[bool]:
    """Which tickets are the customer's: those linked to them, and the unlinked ones from
    their phone (a ticket linked to someone else is not theirs, even from the same phone).
    Each term is read by an index: tickets.customer_id, and tickets.customer_number, since
    "unlinked" is written as coalesce(customer_id, 0) = 0, which no index answers (as
    `customer_id IS NULL` SQLite would read every unlinked ticket by ix_tickets_customer_id)."""
    unlinked = func.coalesce(m.Ticket.customer_id, 0) == 0
    phones = m.Ticket.customer_number.in_(phone_forms(customer.phone))
    return or_(m.Ticket.customer_id == customer.id, and_(phones, unlinked))


def from_number(number: str) -> ColumnElement[bool]:
    """The tickets of a caller no customer matches: by their number, in its stored forms."""
    return m.Ticket.customer_number.in_(phone_forms(number))


def get(db: Session, customer_id: int | None) -> m.Customer | None:
    return db.get(m.Customer, customer_id) if customer_id is not None else None


def list_(db: Session, *, q: str = "", limit: int = 100) -> Sequence[m.Customer]:
    """Customers by name, optionally those whose name, phone or email contains `q`."""
    query = select(m.Customer).order_by(m.Customer.name, m.Customer.id).limit(limit)
    if q:
        query = query.where(
            or_(
                contains(m.Customer.name, q),
                contains(m.Customer.phone, q),
                contains(m.Customer.email, q),
            )
        )
    return db.scalars(query).all()


def create(db: Session, *, name: str, phone: str, email: str | None) -> m.Customer:
    row = m.Customer(name=name, phone=phone, email=email)
    db.add(row)
    db.commit()
    return row


def update(db: Session, *, customer: m.Customer, changes: Mapping[str, Any]) -> m.Customer:
    for field, value in changes.items():
        setattr(customer, field, value)
    db.commit()
    return customer
