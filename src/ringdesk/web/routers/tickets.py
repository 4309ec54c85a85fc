"""Tickets and customers. Agents see the tickets of their services (and their own)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from ringdesk.live.shapes import Customer, Ticket, customer_json, ticket_json
from ringdesk.store import customers, tickets, webhooks
from ringdesk.store import models as m
from ringdesk.store.unit import Db
from ringdesk.web.auth import Principal, RuntimeDep, User
from ringdesk.web.errors import ApiError, found
from ringdesk.web.responses import (
    CustomerCallPage,
    CustomerDetail,
    PreviousTicket,
    TicketPage,
    customer_call_json,
    previous_json,
)
from ringdesk.web.schemas import CustomerBody, CustomerPatch, TicketPatch

router = APIRouter(prefix="/api", tags=["tickets"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def _viewer(user: Principal) -> tickets.Viewer:
    return tickets.Viewer(user_id=user.id, admin=user.is_admin)


def _ticket(db: Db, user: Principal, ticket_id: int) -> m.Ticket:
    # 404, not 403: an agent learns nothing about tickets outside their services.
    ticket = tickets.visible(db, viewer=_viewer(user), ticket_id=ticket_id)
    return found(ticket, f"No ticket {ticket_id}.")


@router.get("/tickets")
def list_tickets(
    user: User,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Literal["open", "pending", "solved", "closed"] | None = None,
    direction: Literal["inbound", "outbound"] | None = None,
    service_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    mine: Annotated[bool, Query(description="only the tickets whose agent is you")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> TicketPage:
    with runtime.db() as db:
        rows, total = tickets.search(
            db,
            viewer=_viewer(user),
            q=q.strip(),
            status=status,
            direction=direction,
            service_id=service_id,
            mine=mine,
            limit=limit,
            offset=offset,
        )
        return {"items": [ticket_json(tickets.read(db, t)) for t in rows], "total": total}


def _may_hear(user: Principal, ticket: m.Ticket, kind: str, own_calls: bool) -> bool:
    """A voicemail: whoever may see the ticket. A call's recording: admins, supervisors (the
    ticket is one of their services', or they would not see it), and the agent who had the
    call while `own_calls` (the setting agents_hear_own_recordings); never the service's
    other agents."""
    if kind != "call" or user.role in ("admin", "supervisor"):
        return True
    return own_calls and ticket.agent_id == user.id


def _own_calls(runtime: RuntimeDep) -> bool:
    return runtime.config.settings.agents_hear_own_recordings


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: Id, user: User, runtime: RuntimeDep) -> Ticket:
    with runtime.db() as db:
        ticket = _ticket(db, user, ticket_id)
        body = ticket_json(tickets.read(db, ticket, timeline=True))
        if "recordings" in body:
            body["recordings"] = [
                r
                for r in body["recordings"]
                if _may_hear(user, ticket, r["kind"], _own_calls(runtime))
            ]
        return body


@router.get("/tickets/{ticket_id}/previous")
def previous_tickets(ticket_id: Id, user: User, runtime: RuntimeDep) -> list[PreviousTicket]:
    """The same customer's other tickets you may see, newest first, at most 5: by the ticket's
    customer, else (none linked) by its number. Its own endpoint, not a field of the ticket:
    the ticket's JSON is also what the feed sends to everyone who sees it, and this list
    depends on who is looking."""
    with runtime.db() as db:
        ticket = _ticket(db, user, ticket_id)
        earlier = tickets.previous(db, viewer=_viewer(user), read=tickets.read(db, ticket))
        return [previous_json(e) for e in earlier]


@router.get(
    "/tickets/{ticket_id}/recordings/{recording_id}",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "The recording's WAV"}},
)
def get_recording(ticket_id: Id, recording_id: Id, user: User, runtime: RuntimeDep) -> FileResponse:
    """A voicemail or a call's recording kept with the ticket (who may hear which:
    `_may_hear`). Range requests are answered (206), so a player seeks in a long one."""
    with runtime.db() as db:
        ticket = _ticket(db, user, ticket_id)
        found_ = tickets.recording(db, ticket_id=ticket_id, recording_id=recording_id)
        row = found(found_, f"No recording {recording_id} on ticket {ticket_id}.")
        if not _may_hear(user, ticket, row.kind, _own_calls(runtime)):
            who = "the agent of the call, " if _own_calls(runtime) else ""
            raise ApiError(403, "recording_not_yours", f"Only {who}supervisors and admins hear it.")
        relative = row.path
    data_dir = runtime.settings.data_dir.resolve()
    path = (data_dir / relative).resolve()
    if not path.is_relative_to(data_dir) or not path.is_file():
        raise ApiError(404, "not_found", f"The recording {recording_id} is missing on disk.")
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "private"})


@router.patch("/tickets/{ticket_id}")
async def edit_ticket(ticket_id: Id, body: TicketPatch, user: User, runtime: RuntimeDep) -> Ticket:
    # async: the feed is published from the loop right after the commit.
    with runtime.db() as db:
        ticket = _ticket(db, user, ticket_id)
        # A null leaves a field as it is, except customer_id: null unlinks the customer.
        changes = {
            name: value
            for name, value in body.model_dump(exclude_unset=True).items()
            if value is not None or name == "customer_id"
        }
        new_customer = changes.get("customer_id")
        if new_customer is not None:
            found(customers.get(db, new_customer), f"No customer {new_customer}.")
        now = runtime.clock()
        queued = webhooks.queue_ticket_updated(
            db, runtime.outbox, ticket=ticket, changes=changes, by=user.id, at=now
        )
        tickets.update(db, ticket=ticket, changes=changes, at=now, author=user.name)
        if queued:
            runtime.webhooks.poke()
        runtime.feeds.ticket_updated(db, ticket.id, also=user.id)
        return ticket_json(tickets.read(db, ticket, timeline=True))


@router.get("/customers")
def list_customers(
    user: User, runtime: RuntimeDep, q: Annotated[str, Query(max_length=200)] = ""
) -> list[Customer]:
    with runtime.db() as db:
        return [customer_json(c) for c in customers.list_(db, q=q.strip())]


@router.post("/customers", status_code=201)
def create_customer(body: CustomerBody, user: User, runtime: RuntimeDep) -> Customer:
    with runtime.db() as db:
        row = customers.create(db, name=body.name, phone=body.phone, email=body.email)
        return customer_json(row)


def _customer(db: Db, customer_id: int) -> m.Customer:
    return found(customers.get(db, customer_id), f"No customer {customer_id}.")


@router.get("/customers/{customer_id}")
def get_customer(customer_id: Id, user: User, runtime: RuntimeDep) -> CustomerDetail:
    """The customer, with how many of their tickets and calls you may see."""
    with runtime.db() as db:
        row = _customer(db, customer_id)
        n_tickets, n_calls = tickets.customer_counts(db, viewer=_viewer(user), customer=row)
        return {**customer_json(row), "tickets": n_tickets, "calls": n_calls}


@router.get("/customers/{customer_id}/tickets")
def customer_tickets(
    customer_id: Id, user: User, runtime: RuntimeDep, limit: Limit = 50, offset: Offset = 0
) -> TicketPage:
    """The customer's tickets you may see, newest first: those linked to them and the unlinked
    ones from their phone."""
    with runtime.db() as db:
        row = _customer(db, customer_id)
        rows, total = tickets.of_customer(
            db, viewer=_viewer(user), customer=row, limit=limit, offset=offset
        )
        return {"items": [ticket_json(tickets.read(db, t)) for t in rows], "total": total}


@router.get("/customers/{customer_id}/calls")
def customer_calls(
    customer_id: Id, user: User, runtime: RuntimeDep, limit: Limit = 50, offset: Offset = 0
) -> CustomerCallPage:
    """The customer's calls (from or to their phone, and those of their tickets) of the
    services you see (an admin: all), newest first."""
    with runtime.db() as db:
        row = _customer(db, customer_id)
        calls, total = tickets.customer_calls(
            db, viewer=_viewer(user), customer=row, limit=limit, offset=offset
        )
        return {"items": [customer_call_json(c) for c in calls], "total": total}


@router.patch("/customers/{customer_id}")
def edit_customer(
    customer_id: Id, body: CustomerPatch, user: User, runtime: RuntimeDep
) -> Customer:
    with runtime.db() as db:
        row = _customer(db, customer_id)
        # A null leaves a field as it is, except email: null removes it.
        changes = {
            name: value
            for name, value in body.model_dump(exclude_unset=True).items()
            if value is not None or name == "email"
        }
        return customer_json(customers.update(db, customer=row, changes=changes))
