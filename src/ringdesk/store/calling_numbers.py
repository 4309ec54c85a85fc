"""The calling numbers a service's agents may show when they dial out."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.errors import commit_or_conflict


def list_(db: Session, *, service_id: int) -> Sequence[m.CallingNumber]:
    return db.scalars(
        select(m.CallingNumber)
        .where(m.CallingNumber.service_id == service_id)
        .order_by(m.CallingNumber.id)
    ).all()


def get(db: Session, *, service_id: int, number_id: int) -> m.CallingNumber | None:
    """The number, if it belongs to that service."""
    row = db.get(m.CallingNumber, number_id)
    return row if row is not None and row.service_id == service_id else None


def create(db: Session, *, service_id: int, number: str, label: str) -> m.CallingNumber:
    """Conflict when the service already has this number."""
    row = m.CallingNumber(service_id=service_id, number=number, label=label)
    db.add(row)
    commit_or_conflict(db)
    return row


def delete(db: Session, *, calling_number: m.CallingNumber) -> None:
    db.delete(calling_number)
    db.commit()
