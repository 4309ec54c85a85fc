"""Logins: only a digest of each bearer token is stored, with when it was made and last used."""

from __future__ import annotations

import time

from sqlalchemy import delete as sql_delete
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.security import new_token, token_digest


def create(db: Session, *, user_id: int) -> str:
    """A new session for the user; returns its token (the only time it exists in clear)."""
    token = new_token()
    now = time.time()
    db.add(
        m.Session(token_hash=token_digest(token), user_id=user_id, created_at=now, last_seen_at=now)
    )
    db.commit()
    return token


def user(db: Session, *, digest: str) -> tuple[m.User, m.Session] | None:
    """The user logged in with the token of this digest and the session, if it still exists."""
    row = db.execute(
        select(m.User, m.Session)
        .join(m.Session, m.Session.user_id == m.User.id)
        .where(m.Session.token_hash == digest)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def touch(db: Session, *, digest: str, at: float) -> None:
    db.execute(update(m.Session).where(m.Session.token_hash == digest).values(last_seen_at=at))
    db.commit()


def delete(db: Session, *, digest: str) -> None:
    db.execute(sql_delete(m.Session).where(m.Session.token_hash == digest))
    db.commit()


def delete_user(db: Session, *, user_id: int, keep: str | None = None) -> list[str]:
    """End every session of the user (but the one of digest `keep`); returns their digests."""
    query = select(m.Session.token_hash).where(m.Session.user_id == user_id)
    if keep is not None:
        query = query.where(m.Session.token_hash != keep)
    digests = list(db.execute(query).scalars())
    if digests:
        db.execute(sql_delete(m.Session).where(m.Session.token_hash.in_(digests)))
        db.commit()
    return digests


def delete_expired(db: Session, *, idle_before: float, created_before: float) -> int:
    """Remove sessions past either lifetime, so the table does not grow with abandoned logins."""
    result = db.execute(
        sql_delete(m.Session).where(
            (m.Session.last_seen_at < idle_before) | (m.Session.created_at < created_before)
        )
    )
    db.commit()
    return int(getattr(result, "rowcount", 0) or 0)
