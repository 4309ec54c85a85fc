"""Phone permission: which agents may take and make calls of which service."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m


def granted(db: Session, *, service_id: int) -> set[int]:
    """The ids of the users with phone permission on the service."""
    return set(
        db.scalars(
            select(m.ServiceAgent.user_id).where(
                m.ServiceAgent.service_id == service_id,
                m.ServiceAgent.phone_permission.is_(True),
            )
        ).all()
    )


def set_(db: Session, *, service_id: int, user_id: int, phone_permission: bool) -> None:
    row = db.get(m.ServiceAgent, (service_id, user_id))
    if row is None:
        row = m.ServiceAgent(service_id=service_id, user_id=user_id)
        db.add(row)
    row.phone_permission = phone_permission
    db.commit()


def services_of(db: Session, *, user_id: int) -> Sequence[m.Service]:
    """The services the user has phone permission on, in id order."""
    return db.scalars(
        select(m.Service)
        .join(m.ServiceAgent, m.ServiceAgent.service_id == m.Service.id)
        .where(m.ServiceAgent.user_id == user_id, m.ServiceAgent.phone_permission.is_(True))
        .order_by(m.Service.id)
    ).all()
