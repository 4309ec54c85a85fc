"""CTI agent management: a user's CTI ID (SIP user), CTI number and phone password."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.errors import commit_or_conflict


def list_(db: Session) -> list[tuple[m.User, m.CtiAgent | None]]:
    """Every user, in id order, with their CTI assignment if they have one."""
    users = db.scalars(select(m.User).order_by(m.User.id)).all()
    ctis = {c.user_id: c for c in db.scalars(select(m.CtiAgent))}
    return [(u, ctis.get(u.id)) for u in users]


def get(db: Session, *, user_id: int) -> m.CtiAgent | None:
    return db.get(m.CtiAgent, user_id)


def taken(db: Session, *, user_id: int, cti_id: str, cti_number: str) -> bool:
    """Whether another user already has this CTI ID or this CTI number."""
    clash = db.scalar(
        select(m.CtiAgent).where(
            m.CtiAgent.user_id != user_id,
            (m.CtiAgent.cti_id == cti_id) | (m.CtiAgent.cti_number == cti_number),
        )
    )
    return clash is not None


def assign(
    db: Session,
    *,
    user_id: int,
    cti_id: str,
    cti_number: str,
    phone_password: str | None,
    auto_answer: bool | None,
    browser_phone_allowed: bool | None = None,
    ring_on_offer: bool | None = None,
) -> None:
    """Create or change the user's assignment; a None password or auto_answer keeps the current
    value. Conflict when the CTI ID or number was taken meanwhile."""
    cti = db.get(m.CtiAgent, user_id)
    if cti is None:
        cti = m.CtiAgent(user_id=user_id, cti_id=cti_id, cti_number=cti_number)
        db.add(cti)
    cti.cti_id = cti_id
    cti.cti_number = cti_number
    if phone_password is not None:
        cti.phone_password = phone_password
    if auto_answer is not None:
        cti.auto_answer = auto_answer
    if browser_phone_allowed is not None:
        cti.browser_phone_allowed = browser_phone_allowed
    if ring_on_offer is not None:
        cti.ring_on_offer = ring_on_offer
    commit_or_conflict(db)


def set_phone(db: Session, *, user_id: int, phone: str) -> None:
    """The agent's own choice of phone ("sip" or "browser")."""
    cti = db.get(m.CtiAgent, user_id)
    if cti is not None:
        cti.phone_kind = phone
        db.commit()


def unassign(db: Session, *, user_id: int) -> None:
    cti = db.get(m.CtiAgent, user_id)
    if cti is not None:
        db.delete(cti)
        db.commit()


def logged_in(db: Session, *, user_id: int) -> bool:
    """Whether the agent is logged in to CTI, as last stored."""
    state = db.get(m.AgentStateRow, user_id)
    return state is not None and state.logged_in
