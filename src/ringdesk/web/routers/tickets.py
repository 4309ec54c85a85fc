"""Tickets and customers. Agents see the tickets of their services (and their own)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ringdesk.live.shapes import customer_json, ticket_json
from ringdesk.store import models as m
from ringdesk.store import tickets
from ringdesk.web.auth import Principal, RuntimeDep, User
from ringdesk.web.errors import ApiError
from ringdesk.web.schemas import CustomerBody, CustomerPatch, TicketPatch

router = APIRouter(prefix="/api", tags=["tickets"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _visible(db: Session, user: Principal) -> ColumnElement[bool] | None:
    """The condition limiting an agent to their services' tickets; None for an admin."""
    if user.is_admin:
        return None
    services = select(m.ServiceAgent.service_id).where(
        m.ServiceAgent.user_id == user.id, m.ServiceAgent.phone_permission.is_(True)
    )
    return or_(m.Ticket.service_id.in_(services), m.Ticket.agent_id == user.id)


def _ticket(db: Session, user: Principal, ticket_id: int) -> m.Ticket:
    query = select(m.Ticket).where(m.Ticket.id == ticket_id)
    condition = _visible(db, user)
    if condition is not None:
        query = query.where(condition)
    ticket = db.scalar(query)
    if ticket is None:
        # 404, not 403: an agent learns nothing about tickets outside their services.
        raise ApiError(404, "not_found", f"No ticket {ticket_id}.")
    return ticket


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@router.get("/tickets")
def list_tickets(
    user: User,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Literal["open", "pending", "solved", "closed"] | None = None,
    direction: Literal["inbound", "outbound"] | None = None,
    service_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    with runtime.db() as db:
        query = select(m.Ticket)
        condition = _visible(db, user)
        if condition is not None:
            query = query.where(condition)
        if status is not None:
            query = query.where(m.Ticket.status == status)
        if direction is not None:
            query = query.where(m.Ticket.direction == direction)
        if service_id is not None:
            query = query.where(m.Ticket.service_id == service_id)
        if q.strip():
            pattern = _like(q.strip())
            customers = select(m.Customer.id).where(m.Customer.name.ilike(pattern, escape="\\"))
            query = query.where(
                or_(
                    m.Ticket.subject.ilike(pattern, escape="\\"),
                    m.Ticket.notes.ilike(pattern, escape="\\"),
                    m.Ticket.customer_number.ilike(pattern, escape="\\"),
                    m.Ticket.customer_id.in_(customers),
                )
            )
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = db.scalars(
            query.order_by(m.Ticket.created_at.desc(), m.Ticket.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return {"items": [ticket_json(tickets.read(db, t)) for t in rows], "total": total}


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: Id, user: User, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        return ticket_json(tickets.read(db, _ticket(db, user, ticket_id), timeline=True))


@router.patch("/tickets/{ticket_id}")
async def edit_ticket(
    ticket_id: Id, body: TicketPatch, user: User, runtime: RuntimeDep
) -> dict[str, Any]:
    # async: the feed is published from the loop right after the commit.
    with runtime.db() as db:
        ticket = _ticket(db, user, ticket_id)
        changes = body.model_dump(exclude_unset=True)
        new_customer = changes.get("customer_id")
        if new_customer is not None and db.get(m.Customer, new_customer) is None:
            raise ApiError(404, "not_found", f"No customer {changes['customer_id']}.")
        for name, value in changes.items():
            if value is None and name != "customer_id":
                continue
            setattr(ticket, name, value)
        if "status" in changes and changes["status"] is not None:
            db.add(
                m.TicketEvent(
                    ticket_id=ticket.id,
                    at=runtime.clock(),
                    kind="status",
                    detail=f"Status set to {changes['status']} by {user.name}",
                )
            )
        db.commit()
        runtime.feeds.ticket_updated(db, ticket.id, also=user.id)
        return ticket_json(tickets.read(db, ticket, timeline=True))


@router.get("/customers")
def list_customers(
    user: User, runtime: RuntimeDep, q: Annotated[str, Query(max_length=200)] = ""
) -> list[dict[str, Any]]:
    with runtime.db() as db:
        query = select(m.Customer).order_by(m.Customer.name, m.Customer.id).limit(100)
        if q.strip():
            pattern = _like(q.strip())
            query = query.where(
                or_(
                    m.Customer.name.ilike(pattern, escape="\\"),
                    m.Customer.phone.ilike(pattern, escape="\\"),
                    m.Customer.email.ilike(pattern, escape="\\"),
                )
            )
        return [customer_json(c) or {} for c in db.scalars(query).all()]


@router.post("/customers", status_code=201)
def create_customer(body: CustomerBody, user: User, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        row = m.Customer(name=body.name, phone=body.phone, email=body.email)
        db.add(row)
        db.commit()
        return customer_json(row) or {}


@router.patch("/customers/{customer_id}")
def edit_customer(
    customer_id: Id, body: CustomerPatch, user: User, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.db() as db:
        row = db.get(m.Customer, customer_id)
        if row is None:
            raise ApiError(404, "not_found", f"No customer {customer_id}.")
        for name, value in body.model_dump(exclude_unset=True).items():
            if value is None and name != "email":
                continue
            setattr(row, name, value)
        db.commit()
        return customer_json(row) or {}
