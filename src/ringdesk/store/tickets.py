"""Tickets as the read side shows them (a ticket with the names it refers to and its
timeline), the search of the ticket list, and an agent's edits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

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
    mine: bool = False,
    limit: int,
    offset: int,
) -> tuple[Sequence[m.Ticket], int]:
    """One page of the viewer's tickets, newest first, and how many match in all. `q` is
    looked for in the subject, the notes, the customer's number and the customer's name;
    `mine`: only those whose agent is the viewer."""
    query = select(m.Ticket)
    condition = _visible(viewer)
    if condition is not None:
        query = query.where(condition)
    if mine:
        query = query.where(m.Ticket.agent_id == viewer.user_id)
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
    return _page(db, query, limit=limit, offset=offset)


def _page(
    db: Session, query: Select[m.Ticket], *, limit: int, offset: int
) -> tuple[Sequence[m.Ticket], int]:
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(
        query.order_by(m.Ticket.created_at.desc(), m.Ticket.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, total


def _seen(viewer: Viewer, condition: ColumnElement[bool]) -> Select[m.Ticket]:
    query = select(m.Ticket).where(condition)
    visible_ = _visible(viewer)
    return query.where(visible_) if visible_ is not None else query


# ---- a customer's tickets and calls -----------------------------------------------------------
def of_customer(
    db: Session, *, viewer: Viewer, customer: m.Customer, limit: int, offset: int
) -> tuple[Sequence[m.Ticket], int]:
    """One page of the customer's tickets (customers.owns) that the viewer may see, newest
    first, and how many in all."""
    return _page(db, _seen(viewer, customers.owns(customer)), limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class Earlier:
    """Another ticket of the same customer, in a ticket's "previous tickets"."""

    id: int
    subject: str
    status: str
    created_at: float
    agent_name: str | None


def previous(db: Session, *, viewer: Viewer, read: TicketRead, limit: int = 5) -> list[Earlier]:
    """The same customer's other tickets the viewer may see, newest first: by the ticket's
    customer (customers.owns), else, with none linked, by its number."""
    t = read.ticket
    whose = (
        customers.owns(read.customer)
        if read.customer is not None
        else customers.from_number(t.customer_number)
    )
    visible_ = _visible(viewer)
    query = (
        select(m.Ticket.id, m.Ticket.subject, m.Ticket.status, m.Ticket.created_at, m.User.name)
        .outerjoin(m.User, m.User.id == m.Ticket.agent_id)
        .where(whose, m.Ticket.id != t.id)
        .order_by(m.Ticket.created_at.desc(), m.Ticket.id.desc())
        .limit(limit)
    )
    if visible_ is not None:
        query = query.where(visible_)
    return [Earlier(*row) for row in db.execute(query).all()]


def last_for_caller(
    db: Session, *, viewer: Viewer, number: str, customer: m.Customer | None, call_id: str
) -> m.Ticket | None:
    """The newest ticket the viewer may see of the caller (the matched customer's, else their
    number's), not the one of this call (a callback's ticket exists before it is offered).
    One query on the indexes of tickets.customer_id and customer_number, for every offer."""
    whose = customers.owns(customer) if customer is not None else customers.from_number(number)
    query = _seen(viewer, whose).where(m.Ticket.call_id.is_distinct_from(call_id))
    return db.scalar(query.order_by(m.Ticket.created_at.desc(), m.Ticket.id.desc()).limit(1))


def _call_services(viewer: Viewer) -> ColumnElement[bool] | None:
    """The calls the viewer may see: an admin all, an agent (or supervisor) those of the
    services they have phone permission on."""
    if viewer.admin:
        return None
    services = select(m.ServiceAgent.service_id).where(
        m.ServiceAgent.user_id == viewer.user_id, m.ServiceAgent.phone_permission.is_(True)
    )
    return m.CallRecord.service_id.in_(services)


def _customer_calls(viewer: Viewer, customer: m.Customer) -> Select[m.CallRecord]:
    """A customer's calls: from or to their phone (ix_call_records_customer_number), and those
    of their tickets (by the call's id, unique on both tables)."""
    ticket_calls = select(m.Ticket.call_id).where(
        customers.owns(customer), m.Ticket.call_id.is_not(None)
    )
    query = select(m.CallRecord).where(
        or_(
            m.CallRecord.customer_number.in_(customers.phone_forms(customer.phone)),
            m.CallRecord.call_id.in_(ticket_calls),
        )
    )
    services = _call_services(viewer)
    return query.where(services) if services is not None else query


@dataclass(frozen=True, slots=True)
class CustomerCall:
    record: m.CallRecord
    service_name: str | None
    agent_name: str | None


def customer_calls(
    db: Session, *, viewer: Viewer, customer: m.Customer, limit: int, offset: int
) -> tuple[list[CustomerCall], int]:
    """One page of the customer's calls the viewer may see, newest first, with the names of
    their service and agent, and how many in all."""
    query = _customer_calls(viewer, customer)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    inner = query.order_by(m.CallRecord.arrived_at.desc(), m.CallRecord.id.desc())
    page = inner.limit(limit).offset(offset).subquery()
    record = aliased(m.CallRecord, page)
    rows = db.execute(
        select(record, m.Service.name, m.User.name)
        .outerjoin(m.Service, m.Service.id == record.service_id)
        .outerjoin(m.User, m.User.id == record.agent_id)
        .order_by(record.arrived_at.desc(), record.id.desc())
    ).all()
    return [CustomerCall(r, service, agent) for r, service, agent in rows], total


def customer_counts(db: Session, *, viewer: Viewer, customer: m.Customer) -> tuple[int, int]:
    """How many of the customer's tickets and calls the viewer may see."""
    tickets_ = _seen(viewer, customers.owns(customer)).subquery()
    calls = _customer_calls(viewer, customer).subquery()
    n_tickets = db.scalar(select(func.count()).select_from(tickets_)) or 0
    n_calls = db.scalar(select(func.count()).select_from(calls)) or 0
    return n_tickets, n_calls


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
