"""Users (admins and agents): the rows the login, the admin pages and the read side use."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.errors import commit_or_conflict


def name(db: Session, user_id: int) -> str | None:
    user = db.get(m.User, user_id)
    return user.name if user else None


def get(db: Session, *, user_id: int) -> m.User | None:
    return db.get(m.User, user_id)


def by_username(db: Session, *, username: str) -> m.User | None:
    return db.scalar(select(m.User).where(m.User.username == username))


def list_(db: Session, *, role: str | None = None) -> Sequence[m.User]:
    query = select(m.User).order_by(m.User.id)
    if role is not None:
        query = query.where(m.User.role == role)
    return db.scalars(query).all()


def create(db: Session, *, username: str, name: str, role: str, password_hash: str) -> m.User:
    """A new user; Conflict when the username is taken."""
    row = m.User(
        username=username,
        name=name,
        role=role,
        password_hash=password_hash,
        created_at=time.time(),
    )
    db.add(row)
    commit_or_conflict(db)
    return row


def update(
    db: Session,
    *,
    user: m.User,
    name: str | None = None,
    role: str | None = None,
    password_hash: str | None = None,
) -> m.User:
    """Set what is given (None: keep)."""
    if name is not None:
        user.name = name
    if role is not None:
        user.role = role
    if password_hash is not None:
        user.password_hash = password_hash
    db.commit()
    return user


def delete(db: Session, *, user: m.User) -> None:
    db.delete(user)
    db.commit()
