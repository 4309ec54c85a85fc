"""JSON shapes of the contract (docs/api-contract.md), built from engine views and stored rows.

The REST answers and the WebSocket `data` use these same functions, so they never drift apart.
The database is reached only through the store's query modules, with a session passed in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ringdesk.core.model import STATUS_LABELS, AgentStatus
from ringdesk.core.snapshots import AgentView, CallView
from ringdesk.live.sources import LiveSources
from ringdesk.store import customers, stats, tickets, users
from ringdesk.store import models as m


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
    customer = customers.match(db, number)
    return customer.name if customer else None


def _call_json(src: LiveSources, db: Session, call: CallView) -> dict[str, Any]:
    ticket = tickets.for_call(db, call.call_id)
    customer = customers.get(db, ticket.customer_id) if ticket is not None else None
    consult = None
    if call.consult_number is not None or call.consult_agent_id is not None:
        agent_name = None
        if call.consult_agent_id is not None:
            agent_name = users.name(db, call.consult_agent_id)
        consult = {
            "number": call.consult_number,
            "agent_id": call.consult_agent_id,
            "agent_name": agent_name,
            "answered": call.consult_answered,
        }
    return {
        "id": call.call_id,
        "service_id": call.service_id,
        "service_name": src.config().service_name(call.service_id),
        "direction": call.direction,
        "state": call.state,
        "customer_number": call.customer_number,
        "customer_name": customer.name if customer else _customer_name(db, call.customer_number),
        "calling_number": call.calling_number,
        "connected_at": iso(call.connected_at),
        "ticket_id": ticket.id if ticket else None,
        "consult": consult,
    }


def agent_state_from_view(src: LiveSources, view: AgentView) -> dict[str, Any]:
    offer = call = None
    if view.offer is not None or view.call is not None:
        config = src.config()
        with src.reads() as db:
            if view.offer is not None:
                o = view.offer
                offer = {
                    "call_id": o.call_id,
                    "service_id": o.service_id,
                    "service_name": config.service_name(o.service_id),
                    "caller": o.caller,
                    "customer_name": _customer_name(db, o.caller),
                    "expires_at": iso(o.expires_at),
                    "pickup_seconds": config.pickup_seconds,
                }
            if view.call is not None:
                call = _call_json(src, db, view.call)
    return {
        "agent_id": view.agent_id,
        "logged_in": view.status != AgentStatus.LOGGED_OUT,
        "status": view.status,
        "status_label": label(view.status),
        "chosen": view.chosen,
        "since": iso(view.since),
        "reason": view.reason,
        "phone_registered": view.phone_reachable,
        "offer": offer,
        "call": call,
    }


def agent_state(src: LiveSources, agent_id: int) -> dict[str, Any]:
    return agent_state_from_view(src, src.engine.agent(agent_id))


# ---- tickets ----------------------------------------------------------------------------------
def ticket_json(read: tickets.TicketRead) -> dict[str, Any]:
    t = read.ticket
    body: dict[str, Any] = {
        "id": t.id,
        "call_id": t.call_id,
        "service_id": t.service_id,
        "service_name": read.service_name,
        "direction": t.direction,
        "customer_number": t.customer_number,
        "customer": customer_json(read.customer),
        "agent_id": t.agent_id,
        "agent_name": read.agent_name,
        "subject": t.subject,
        "notes": t.notes,
        "status": t.status,
        "created_at": iso(t.created_at),
        "connected_at": iso(t.connected_at),
        "ended_at": iso(t.ended_at),
        "duration_seconds": None if t.duration_seconds is None else round(t.duration_seconds, 1),
        "outcome": t.outcome,
    }
    if read.timeline is not None:
        body["timeline"] = [
            {"at": iso(e.at), "kind": e.kind, "detail": e.detail} for e in read.timeline
        ]
    return body


def ticket_by_id(db: Session, ticket_id: int, *, timeline: bool = False) -> dict[str, Any] | None:
    read = tickets.get(db, ticket_id, timeline=timeline)
    return ticket_json(read) if read is not None else None


# ---- supervisor board -------------------------------------------------------------------------
def today_figures(db: Session) -> list[dict[str, Any]]:
    return stats.per_service(db, *stats.day_bounds(dt.datetime.now(dt.UTC).date()))


def board(
    src: LiveSources, db: Session, today: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The supervisor board; `today` may be passed in when the caller cached it."""
    now = src.clock()
    config = src.config()
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
        for a in src.engine.agents()
        if a.services or a.status != AgentStatus.LOGGED_OUT
    ]
    queues = [
        {
            "service_id": q.service_id,
            "service_name": config.service_name(q.service_id),
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
        for q in src.engine.queues()
    ]
    if today is None:
        today = today_figures(db)
    return {"agents": agents, "queues": queues, "today": today}
