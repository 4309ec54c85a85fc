"""Tickets as the read side shows them: a ticket with the names it refers to and its timeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import customers
from ringdesk.store import models as m


@dataclass(frozen=True, slots=True)
class TicketRead:
    ticket: m.Ticket
    service_name: str | None
    agent_name: str | None
    customer: m.Customer | None
    timeline: list[m.TicketEvent] | None  # None: not asked for


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
    return TicketRead(
        ticket=ticket,
        service_name=service.name if service else None,
        agent_name=agent.name if agent else None,
        customer=customers.get(db, ticket.customer_id),
        timeline=entries,
    )


def get(db: Session, ticket_id: int, *, timeline: bool = False) -> TicketRead | None:
    ticket = db.get(m.Ticket, ticket_id)
    return read(db, ticket, timeline=timeline) if ticket is not None else None


def for_call(db: Session, call_id: str) -> m.Ticket | None:
    return db.scalar(select(m.Ticket).where(m.Ticket.call_id == call_id))
