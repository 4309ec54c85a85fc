"""Services (the contract of a queue): the rows the admin pages read and write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.errors import commit_or_conflict


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
