"""Frequently used numbers: each user's own list."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ringdesk.store import models as m


def list_(db: Session, *, user_id: int) -> Sequence[m.Favorite]:
    return db.scalars(
        select(m.Favorite).where(m.Favorite.user_id == user_id).order_by(m.Favorite.id)
    ).all()


def count(db: Session, *, user_id: int) -> int:
    return db.scalar(select(func.count(m.Favorite.id)).where(m.Favorite.user_id == user_id)) or 0


def get(db: Session, *, user_id: int, favorite_id: int) -> m.Favorite | None:
    """The favorite, if it is this user's."""
    row = db.get(m.Favorite, favorite_id)
    return row if row is not None and row.user_id == user_id else None


def create(db: Session, *, user_id: int, label: str, number: str) -> m.Favorite:
    row = m.Favorite(user_id=user_id, label=label, number=number)
    db.add(row)
    db.commit()
    return row


def update(
    db: Session, *, favorite: m.Favorite, label: str | None = None, number: str | None = None
) -> m.Favorite:
    """Set what is given; an empty label becomes the number."""
    if label is not None:
        favorite.label = label or favorite.number
    if number is not None:
        favorite.number = number
    db.commit()
    return favorite


def delete(db: Session, *, favorite: m.Favorite) -> None:
    db.delete(favorite)
    db.commit()
