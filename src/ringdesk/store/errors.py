"""The store's own errors, free of HTTP: the web layer decides what each means to a caller."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


class StoreError(Exception):
    """Base of the errors the store's query modules raise."""


class Conflict(StoreError):
    """The write clashes with a stored row (a unique number or name already in use); nothing
    was written."""


def commit_or_conflict(db: Session) -> None:
    """Commit; a constraint the database refuses rolls back and raises Conflict."""
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise Conflict(str(exc.orig)) from exc
