"""Logins: only a digest of each bearer token is stored."""

from __future__ import annotations

import time

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.security import new_token, token_digest


def create(db: Session, *, user_id: int) -> str:
    """A new session for the user; returns its token (the only time it exists in clear)."""
    token = new_token()
    db.add(m.Session(token_hash=token_digest(token), user_id=user_id, created_at=time.time()))
    db.commit()
    return token


def user(db: Session, *, digest: str) -> m.User | None:
    """The user logged in with the token of this digest, if the session still exists."""
    return db.execute(
        select(m.User)
        .join(m.Session, m.Session.user_id == m.User.id)
        .where(m.Session.token_hash == digest)
    ).scalar_one_or_none()


def delete(db: Session, *, digest: str) -> None:
    db.execute(sql_delete(m.Session).where(m.Session.token_hash == digest))
    db.commit()
