"""JSON shapes of the contract (docs/api-contract.md), built from engine views and rows.

The REST answers and the WebSocket `data` use these same functions, so they never drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.core.engine import AgentView, CallView
from ringdesk.core.errors import CoreError
from ringdesk.core.model import STATUS_LABELS, AgentStatus
from ringdesk.store import models as m
from ringdesk.store import stats
from ringdesk.store.recorder import match_customer, ticket_for_call

if TYPE_CHECKING:
    from ringdesk.app import Runtime


def iso(ts: float | None) -> str | None:
    if ts is None or ts <= 0:  # the engine's "never" (an agent who has not logged in yet)
        return None
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def label(status: str) -> str:
    try:
        return STATUS_LABELS[AgentStatus(status)]
    except ValueError:
        return status.replace("_", " ").capitalize()


def user_json(user: m.User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role}


def customer_json(c: m.Customer | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"id": c.id, "name": c.name, "phone": c.phone, "email": c.email}


# ---- agent state ------------------------------------------------------------------------------
def _customer_name(db: Session, number: str) -> str | None:
    customer = match_customer(db, number)
    return customer.name if customer else None


def _call_json(runtime: Runtime, db: Session, call: CallView) -> dict[str, Any]:
    ticket = ticket_for_call(db, call.call_id)
    customer: m.Customer | None = None
    if ticket is not None and ticket.customer_id is not None:
        customer = db.get(m.Customer, ticket.customer_id)
    consult = None
    if call.consult_number is not None or call.consult_agent_id is not None:
        agent_name = None
        if call.consult_agent_id is not None:
            target = db.get(m.User, call.consult_agent_id)
            agent_name = target.name if target else None
        consult = {
            "number": call.consult_number,
            "agent_id": call.consult_agent_id,
            "agent_name": agent_name,
            "answered": call.consult_answered,
        }
    return {
        "id": call.call_id,
        "service_id": call.service_id,
        "service_name": runtime.service_names.get(call.service_id, ""),
        "direction": call.direction,
        "state": call.state,
        "customer_number": call.customer_number,
        "customer_name": customer.name if customer else _customer_name(db, call.customer_number),
        "calling_number": call.calling_number,
        "connected_at": iso(call.connected_at),
        "ticket_id": ticket.id if ticket else None,
        "consult": consult,
    }


def agent_state_from_view(runtime: Runtime, view: AgentView) -> dict[str, Any]:
    offer = call = None
    if view.offer is not None or view.call is not None:
        with runtime.db() as db:
            if view.offer is not None:
                o = view.offer
                offer = {
                    "call_id": o.call_id,
                    "service_id": o.service_id,
                    "service_name": runtime.service_names.get(o.service_id, ""),
                    "caller": o.caller,
                    "customer_name": _customer_name(db, o.caller),
                    "expires_at": iso(o.expires_at),
                    "pickup_seconds": runtime.pickup_seconds,
                }
            if view.call is not None:
                call = _call_json(runtime, db, view.call)
    return {
        "agent_id": view.agent_id,
        "logged_in": view.status != AgentStatus.LOGGED_OUT,
        "status": view.status,
        "status_label": label(view.status),
        "chosen": view.chosen,
        "since": iso(view.since),
        "reason": view.reason,
        "phone_registered": runtime.phone_registered(view.agent_id),
        "offer": offer,
        "call": call,
    }


def agent_state(runtime: Runtime, agent_id: int) -> dict[str, Any]:
    return agent_state_from_view(runtime, runtime.engine.agent(agent_id))


# ---- tickets ----------------------------------------------------------------------------------
def ticket_json(db: Session, t: m.Ticket, *, timeline: bool = False) -> dict[str, Any]:
    service = db.get(m.Service, t.service_id) if t.service_id is not None else None
    agent = db.get(m.User, t.agent_id) if t.agent_id is not None else None
    customer = db.get(m.Customer, t.customer_id) if t.customer_id is not None else None
    body: dict[str, Any] = {
        "id": t.id,
        "call_id": t.call_id,
        "service_id": t.service_id,
        "service_name": service.name if service else None,
        "direction": t.direction,
        "customer_number": t.customer_number,
        "customer": customer_json(customer),
        "agent_id": t.agent_id,
        "agent_name": agent.name if agent else None,
        "subject": t.subject,
        "notes": t.notes,
        "status": t.status,
        "created_at": iso(t.created_at),
        "connected_at": iso(t.connected_at),
        "ended_at": iso(t.ended_at),
        "duration_seconds": None if t.duration_seconds is None else round(t.duration_seconds, 1),
        "outcome": t.outcome,
    }
    if timeline:
        entries = db.scalars(
            select(m.TicketEvent)
            .where(m.TicketEvent.ticket_id == t.id)
            .order_by(m.TicketEvent.at, m.TicketEvent.id)
        ).all()
        body["timeline"] = [{"at": iso(e.at), "kind": e.kind, "detail": e.detail} for e in entries]
    return body


def ticket_by_id(db: Session, ticket_id: int, *, timeline: bool = False) -> dict[str, Any] | None:
    ticket = db.get(m.Ticket, ticket_id)
    return ticket_json(db, ticket, timeline=timeline) if ticket else None


# ---- supervisor board -------------------------------------------------------------------------
def board(
    runtime: Runtime, db: Session, today: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The supervisor board; `today` may be passed in when the caller cached it."""
    try:
        engine = runtime.engine
    except CoreError:
        agents: list[dict[str, Any]] = []
        queues: list[dict[str, Any]] = []
    else:
        now = runtime.clock()
        agents = [
            {
                "agent_id": a.agent_id,
                "name": a.name,
                "status": a.status,
                "status_label": label(a.status),
                "since": iso(a.since),
                "call_id": a.call.call_id if a.call else None,
                "services": sorted(a.services),
            }
            for a in engine.agents()
            if a.services or a.status != AgentStatus.LOGGED_OUT
        ]
        queues = [
            {
                "service_id": q.service_id,
                "service_name": runtime.service_names.get(q.service_id, ""),
                "waiting": len(q.waiting),
                "longest_wait_seconds": (
                    0.0
                    if q.longest_wait_since is None
                    else round(max(0.0, now - q.longest_wait_since), 1)
                ),
                "calls": [
                    {"call_id": c.call_id, "caller": c.customer_number, "since": iso(c.arrived_at)}
                    for c in q.waiting
                ],
            }
            for q in engine.queues()
        ]
    if today is None:
        today = stats.per_service(db, *stats.day_bounds(dt.datetime.now(dt.UTC).date()))
    return {"agents": agents, "queues": queues, "today": today}
