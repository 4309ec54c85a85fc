"""Users as the read side needs them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ringdesk.store import models as m


def name(db: Session, user_id: int) -> str | None:
    user = db.get(m.User, user_id)
    return user.name if user else None
