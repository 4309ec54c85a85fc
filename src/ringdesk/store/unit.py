"""The unit of work callers hand to the query modules: one database session, opened by the
runtime (`with runtime.db() as db`). Callers outside the store name its type from here, so
they need not import SQLAlchemy."""

from __future__ import annotations

from typing import TypeAlias

from sqlalchemy.orm import Session

Db: TypeAlias = Session
