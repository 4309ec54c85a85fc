"""Tickets as the read side shows them (a ticket with the names it refers to and its
timeline), the search of the ticket list, and an agent's edits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ringdesk.store import customers
from ringdesk.store import models as m
from ringdesk.store.search import contains


@dataclass(frozen=True, slots=True)
class TicketRead:
    ticket: m.Ticket
    service_name: str | None
    agent_name: str | None
    customer: m.Customer | None
    timeline: list[m.TicketEvent] | None  # None: not asked for
    recordings: list[m.Recording] | None = None  # with the timeline
    callback: m.Callback | None = None  # the queued callback the ticket is for, if any


def read(db: Session, ticket: m.Ticket, *, timeline: bool = False) -> TicketRead:
    service = db.get(m.Service, ticket.service_id) if ticket.service_id is not None else None
    agent = db.get(m.User, ticket.agent_id) if ticket.agent_id is not None else None
    entries = None
    if timeline:
        entries = list(
            db.scalars(
                select(m.TicketEvent)
                .where(m.TicketEvent.ticket_id == ticket.id)
                .order_by(m.TicketEvent.at, m.TicketEvent.id)
            )
        )
    recordings = None
    if timeline:
        recordings = list(
            db.scalars(
                select(m.Recording)
                .where(m.Recording.ticket_id == ticket.id)
                .order_by(m.Recording.created_at, m.Recording.id)
            )
        )
    return TicketRead(
        ticket=ticket,
        service_name=service.name if service else None,
        agent_name=agent.name if agent else None,
        customer=customers.get(db, ticket.customer_id),
        timeline=entries,
        recordings=recordings,
        callback=callback_of(db, ticket.id),
    )


def callback_of(db: Session, ticket_id: int) -> m.Callback | None:
    """The callback a ticket was opened for (one per ticket; the newest if ever more)."""
    query = select(m.Callback).where(m.Callback.ticket_id == ticket_id)
    return db.scalar(query.order_by(m.Callback.id.desc()).limit(1))


def recording(db: Session, *, ticket_id: int, recording_id: int) -> m.Recording | None:
    found = db.get(m.Recording, recording_id)
    return found if found is not None and found.ticket_id == ticket_id else None


def get(db: Session, ticket_id: int, *, timeline: bool = False) -> TicketRead | None:
    ticket = db.get(m.Ticket, ticket_id)
    return read(db, ticket, timeline=timeline) if ticket is not None else None


def for_call(db: Session, call_id: str) -> m.Ticket | None:
    return db.scalar(select(m.Ticket).where(m.Ticket.call_id == call_id))


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: an admin sees every ticket, an agent those of the services they have
    phone permission on and their own."""

    user_id: int
    admin: bool


def _visible(viewer: Viewer) -> ColumnElement[bool] | None:
    if viewer.admin:
        return None
    services = select(m.ServiceAgent.service_id).where(
        m.ServiceAgent.user_id == viewer.user_id, m.ServiceAgent.phone_permission.is_(True)
    )
    return or_(m.Ticket.service_id.in_(services), m.Ticket.agent_id == viewer.user_id)


def visible(db: Session, *, viewer: Viewer, ticket_id: int) -> m.Ticket | None:
    """The ticket, if the viewer may see it."""
    query = select(m.Ticket).where(m.Ticket.id == ticket_id)
    condition = _visible(viewer)
    if condition is not None:
        query = query.where(condition)
    return db.scalar(query)


def search(
    db: Session,
    *,
    viewer: Viewer,
    q: str = "",
    status: str | None = None,
    direction: str | None = None,
    service_id: int | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[m.Ticket], int]:
    """One page of the viewer's tickets, newest first, and how many match in all. `q` is
    looked for in the subject, the notes, the customer's number and the customer's name."""
    query = select(m.Ticket)
    condition = _visible(viewer)
    if condition is not None:
        query = query.where(condition)
    if status is not None:
        query = query.where(m.Ticket.status == status)
    if direction is not None:
        query = query.where(m.Ticket.direction == direction)
    if service_id is not None:
        query = query.where(m.Ticket.service_id == service_id)
    if q:
        named = select(m.Customer.id).where(contains(m.Customer.name, q))
        query = query.where(
            or_(
                contains(m.Ticket.subject, q),
                contains(m.Ticket.notes, q),
                contains(m.Ticket.customer_number, q),
                m.Ticket.customer_id.in_(named),
            )
        )
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(
        query.order_by(m.Ticket.created_at.desc(), m.Ticket.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, total


def update(
    db: Session, *, ticket: m.Ticket, changes: Mapping[str, Any], at: float, author: str
) -> m.Ticket:
    """Set the given columns; a new status is noted on the timeline with who set it."""
    for name, value in changes.items():
        setattr(ticket, name, value)
    if changes.get("status") is not None:
        db.add(
            m.TicketEvent(
                ticket_id=ticket.id,
                at=at,
                kind="status",
                detail=f"Status set to {changes['status']} by {author}",
            )
        )
    db.commit()
    return ticket
