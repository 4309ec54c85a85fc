"""JSON shapes of the contract (docs/api-contract.md), built from engine views and stored rows.

The REST answers and the WebSocket `data` use these same functions, so they never drift apart.
The database is reached only through the store's query modules, with a session passed in.

Each shape is a TypedDict: mypy checks the builders against it, and the web layer declares it
as the response of its endpoints, so /openapi.json documents it (the JSON is the same dict).
They come from typing_extensions because Pydantic reads TypedDicts only from there on Python
3.11; nothing here imports FastAPI or Pydantic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NotRequired, cast

from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from ringdesk.core.hours import OpeningHours, is_open, next_change
from ringdesk.core.model import STATUS_LABELS, AgentStatus
from ringdesk.core.snapshots import AgentView, CallView, OfferView
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


class User(TypedDict):
    id: int
    username: str
    name: str
    role: str  # admin | agent


class Customer(TypedDict):
    id: int
    name: str
    phone: str
    email: str | None


def user_json(user: m.User) -> User:
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role}


def customer_json(c: m.Customer) -> Customer:
    return {"id": c.id, "name": c.name, "phone": c.phone, "email": c.email}


# ---- agent state ------------------------------------------------------------------------------
class Offer(TypedDict):
    call_id: str
    service_id: int
    service_name: str
    caller: str
    customer_name: str | None
    expires_at: str | None
    pickup_seconds: float
    # The agent's desk phone rings with the offer: picking it up answers (ring_on_offer).
    phone_ringing: bool
    # A queued callback: the caller hung up; Answer rings the agent's phone, then calls
    # `callback_number` (the caller's number, or the one they keyed in) back.
    callback: bool
    callback_number: str | None
    # The caller's newest earlier ticket the agent may see (the matched customer's, else the
    # number's), or null: what they called about last time.
    last_ticket: LastTicket | None


class LastTicket(TypedDict):
    id: int
    subject: str
    created_at: str | None


def _last_ticket(
    db: Session, agent_id: int, o: OfferView, customer: m.Customer | None
) -> LastTicket | None:
    # The offer goes to an agent: what an agent may see (their services' and their own).
    viewer = tickets.Viewer(user_id=agent_id, admin=False)
    last = tickets.last_for_caller(
        db, viewer=viewer, number=o.caller, customer=customer, call_id=o.call_id
    )
    if last is None:
        return None
    return {"id": last.id, "subject": last.subject, "created_at": iso(last.created_at)}


class Consult(TypedDict):
    number: str | None
    agent_id: int | None
    agent_name: str | None
    answered: bool
    # The consulted agent holds her end: the handling agent hears the hold music.
    held: bool


class ConsultEnded(TypedDict):
    """The last consultation of the call that ended without a transfer, and why."""

    reason: str  # busy | no_answer | rejected | unreachable | target_hung_up | cancelled
    number: str | None
    agent_id: int | None
    agent_name: str | None


class Call(TypedDict):
    id: str
    # Which side of the call the agent whose state this is is on: "agent" (they handle it) or
    # "consulted" (a colleague's consultation call rings or talks to them).
    side: str
    agent_id: int | None  # the agent handling the call
    agent_name: str | None
    service_id: int
    service_name: str
    direction: str  # inbound | outbound
    state: str
    customer_number: str
    customer_name: str | None
    calling_number: str | None
    connected_at: str | None
    ticket_id: int | None
    consult: Consult | None
    consult_ended: ConsultEnded | None
    # A queued callback: the number called back and the attempts so far (null, 0: not one).
    callback_number: str | None
    callback_attempts: int
    # A supervisor listening (connected), where the CTI setting supervisor_notice shows it to
    # the agent: their name and how (listen | whisper | barge); null otherwise.
    supervisor: CallSupervisor | None


class CallSupervisor(TypedDict):
    name: str
    mode: str


class ServiceOpen(TypedDict):
    """Whether a service is open now (its opening hours and holidays) and when that changes."""

    service_id: int
    name: str
    open: bool
    next_change: str | None


@lru_cache(maxsize=512)
def _next_change(hours: OpeningHours | None, minute: int) -> float | None:
    """core.hours.next_change, once a minute per calendar (every state and board message
    carries it; the calendar's edges are whole minutes, so the answer holds for the minute)."""
    return next_change(hours, minute * 60.0)


def services_open(src: LiveSources, service_ids: Iterable[int], now: float) -> list[ServiceOpen]:
    config = src.config()
    known = set(config.service_ids())
    out: list[ServiceOpen] = []
    for sid in sorted(service_ids):
        if sid not in known:
            continue
        hours = config.service_hours(sid)
        out.append(
            {
                "service_id": sid,
                "name": config.service_name(sid),
                "open": is_open(hours, now),
                "next_change": iso(_next_change(hours, int(now // 60))),
            }
        )
    return out


class AgentState(TypedDict):
    agent_id: int
    logged_in: bool
    status: str
    status_label: str
    chosen: str
    since: str | None
    reason: str
    reason_note: str  # a supervisor's words with the reason "by_supervisor"; else ""
    phone_registered: bool
    offer: Offer | None
    call: Call | None
    services: list[ServiceOpen]  # the agent's services, open or closed now
    wrap_up: WrapUp | None  # in Ticket Processing after a call: its wrap-up codes


class WrapUpCode(TypedDict):
    id: int
    label: str


class WrapUp(TypedDict):
    """The call being wrapped up: its service's wrap-up codes, whether one must be picked
    before the agent goes on (PUT /api/cti/status is refused with 409 disposition_required),
    and the one picked."""

    call_id: str
    service_id: int
    codes: list[WrapUpCode]
    required: bool
    picked: int | None


def _wrap_up(src: LiveSources, view: AgentView) -> WrapUp | None:
    if view.wrap_call is None or view.wrap_service is None:
        return None
    codes, required = src.config().wrap_up_codes(view.wrap_service)
    return {
        "call_id": view.wrap_call,
        "service_id": view.wrap_service,
        "codes": [{"id": c.id, "label": c.label} for c in codes],
        "required": required and bool(codes),
        "picked": view.disposition,
    }


def _customer_name(db: Session, number: str) -> str | None:
    customer = customers.match(db, number)
    return customer.name if customer else None


def _call_json(src: LiveSources, db: Session, call: CallView, viewer: int) -> Call:
    ticket = tickets.for_call(db, call.call_id)
    customer = customers.get(db, ticket.customer_id) if ticket is not None else None
    consult: Consult | None = None
    if call.consult_number is not None or call.consult_agent_id is not None:
        agent_name = None
        if call.consult_agent_id is not None:
            agent_name = users.name(db, call.consult_agent_id)
        consult = {
            "number": call.consult_number,
            "agent_id": call.consult_agent_id,
            "agent_name": agent_name,
            "answered": call.consult_answered,
            "held": call.consult_held,
        }
    ended: ConsultEnded | None = None
    if call.consult_ended_reason is not None:
        ended_agent = call.consult_ended_agent_id
        ended = {
            "reason": call.consult_ended_reason,
            "number": call.consult_ended_number,
            "agent_id": ended_agent,
            "agent_name": users.name(db, ended_agent) if ended_agent is not None else None,
        }
    consulted = call.consult_agent_id == viewer and call.agent_id != viewer
    return {
        "id": call.call_id,
        "side": "consulted" if consulted else "agent",
        "agent_id": call.agent_id,
        "agent_name": users.name(db, call.agent_id) if call.agent_id is not None else None,
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
        "consult_ended": ended,
        "callback_number": call.callback_number,
        "callback_attempts": call.callback_attempts,
        "supervisor": _supervisor(src, db, call),
    }


def _supervisor(src: LiveSources, db: Session, call: CallView) -> CallSupervisor | None:
    sup = call.monitor_supervisor_id
    if sup is None or not call.monitor_connected or call.monitor_mode is None:
        return None
    if not src.config().supervisor_notice():
        return None
    return {"name": users.name(db, sup) or "A supervisor", "mode": call.monitor_mode}


def agent_state_from_view(src: LiveSources, view: AgentView) -> AgentState:
    offer: Offer | None = None
    call: Call | None = None
    if view.offer is not None or view.call is not None:
        config = src.config()
        with src.reads() as db:
            if view.offer is not None:
                o = view.offer
                matched = customers.match(db, o.caller)
                offer = {
                    "call_id": o.call_id,
                    "service_id": o.service_id,
                    "service_name": config.service_name(o.service_id),
                    "caller": o.caller,
                    "customer_name": matched.name if matched else None,
                    "expires_at": iso(o.expires_at),
                    "pickup_seconds": config.pickup_seconds,
                    "phone_ringing": o.phone_ringing,
                    "callback": o.callback,
                    "callback_number": o.callback_number,
                    "last_ticket": _last_ticket(db, view.agent_id, o, matched),
                }
            if view.call is not None:
                call = _call_json(src, db, view.call, view.agent_id)
    return {
        "agent_id": view.agent_id,
        "logged_in": view.status != AgentStatus.LOGGED_OUT,
        "status": view.status,
        "status_label": label(view.status),
        "chosen": view.chosen,
        "since": iso(view.since),
        "reason": view.reason,
        "reason_note": view.note,
        "phone_registered": view.phone_reachable,
        "offer": offer,
        "call": call,
        "services": services_open(src, view.services, src.clock()),
        "wrap_up": _wrap_up(src, view),
    }


def agent_state(src: LiveSources, agent_id: int) -> AgentState:
    return agent_state_from_view(src, src.engine.agent(agent_id))


# ---- tickets ----------------------------------------------------------------------------------
class TimelineEntry(TypedDict):
    at: str | None
    kind: str
    detail: str


class RecordingInfo(TypedDict):
    """A sound kept with the ticket (a voicemail): fetched from `url` as audio/wav."""

    id: int
    kind: str  # voicemail
    seconds: float
    created_at: str | None
    url: str


class TicketCallback(TypedDict):
    """The queued callback a ticket is for: `status` waiting (queued, or until `next_try_at`
    after an unanswered attempt), done (talked) or failed (every attempt unanswered)."""

    number: str
    status: str  # waiting | done | failed
    attempts: int
    next_try_at: str | None


class Ticket(TypedDict):
    id: int
    call_id: str | None
    service_id: int | None
    service_name: str | None
    direction: str  # inbound | outbound
    customer_number: str
    customer: Customer | None
    agent_id: int | None
    agent_name: str | None
    subject: str
    notes: str
    status: str  # open | pending | solved | closed
    created_at: str | None
    connected_at: str | None
    ended_at: str | None
    duration_seconds: float | None
    outcome: str | None
    callback: TicketCallback | None
    timeline: NotRequired[list[TimelineEntry]]  # a single ticket's, not in lists
    recordings: NotRequired[list[RecordingInfo]]  # with the timeline


def ticket_json(read: tickets.TicketRead) -> Ticket:
    t = read.ticket
    body: Ticket = {
        "id": t.id,
        "call_id": t.call_id,
        "service_id": t.service_id,
        "service_name": read.service_name,
        "direction": t.direction,
        "customer_number": t.customer_number,
        "customer": customer_json(read.customer) if read.customer is not None else None,
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
        "callback": _callback_json(read.callback),
    }
    if read.timeline is not None:
        body["timeline"] = [
            {"at": iso(e.at), "kind": e.kind, "detail": e.detail} for e in read.timeline
        ]
    if read.recordings is not None:
        body["recordings"] = [
            {
                "id": r.id,
                "kind": r.kind,
                "seconds": round(r.seconds, 1),
                "created_at": iso(r.created_at),
                "url": f"/api/tickets/{t.id}/recordings/{r.id}",
            }
            for r in read.recordings
        ]
    return body


def _callback_json(row: m.Callback | None) -> TicketCallback | None:
    if row is None:
        return None
    return {
        "number": row.number,
        "status": row.status,
        "attempts": row.attempts,
        "next_try_at": iso(row.next_try_at),
    }


def ticket_by_id(db: Session, ticket_id: int, *, timeline: bool = False) -> Ticket | None:
    read = tickets.get(db, ticket_id, timeline=timeline)
    return ticket_json(read) if read is not None else None


# ---- supervisor board -------------------------------------------------------------------------
class Figures(TypedDict):
    """The numbers of store/stats.py for a group of calls (seconds to a tenth)."""

    offered: int  # = the sum of the outcomes below (store/stats.py OUTCOMES)
    refused: int  # inbound calls refused because their service's queue was full (486)
    # The outcomes: every offered call ends in exactly one of them.
    answered: int  # talked with an agent (also when passed on to another agent)
    transferred_out: int  # talked with an agent, then transferred to an outside number
    abandoned: int  # the caller hung up before an agent answered (in a menu or the queue)
    overflowed: int  # the maximum wait passed: the overflow message, or forwarded
    closed: int  # outside opening hours: the closed message, or forwarded while closed
    menu_ended: int  # a menu ended it (its hang-up choice, no choice) or forwarded it
    voicemail: int  # the caller left a message
    callback_requested: int  # asked to be called back: done, failed or still waiting
    callback_done: int  # of callback_requested: talked
    callback_failed: int  # of callback_requested: every attempt unanswered
    in_progress: int  # not over yet
    other: int  # ended otherwise (a restart before an agent answered)
    avg_abandon_seconds: float | None
    avg_wait_seconds: float | None
    longest_wait_seconds: float | None
    avg_talk_seconds: float | None
    avg_wrap_up_seconds: float | None
    service_level: float | None  # share answered within the service's target, 0..1
    outbound: int
    outbound_connected: int


class _ServiceKey(TypedDict):
    service_id: int
    service_name: str


class ServiceFigures(_ServiceKey, Figures):
    """One service's figures (the key first, as the store builds them)."""


class BoardCall(TypedDict):
    """The call an agent has (or is offered), as the board shows it."""

    call_id: str
    service_id: int
    direction: str  # inbound | outbound
    customer: str  # the customer's number (the number called back, for a callback)
    state: str  # the call's state: offered, connected, on_hold, consulting, ...
    # Since when it has been talking (None while it rings): the board ticks the duration.
    connected_since: str | None
    # A supervisor on the call: their name and how (listen | whisper | barge); None if nobody.
    monitor: BoardMonitor | None


class BoardMonitor(TypedDict):
    supervisor_id: int
    supervisor_name: str
    mode: str  # listen | whisper | barge
    connected: bool  # the supervisor's phone has answered


class BoardAgent(TypedDict):
    agent_id: int
    name: str
    status: str
    status_label: str
    since: str | None
    call_id: str | None
    services: list[int]
    call: BoardCall | None  # the call or offer in hand, with its customer and duration


class QueuedCall(TypedDict):
    call_id: str
    caller: str
    since: str | None
    # queued | offered | connecting, or callback_wait (a callback's delay after an unanswered
    # attempt: it queues again at its place when the delay is over)
    state: str
    # A queued callback (the caller hung up): the number to call back, the attempts so far.
    callback_number: str | None
    callback_attempts: int


class BoardQueue(TypedDict):
    service_id: int
    service_name: str
    open: bool  # within its opening hours, not on a holiday
    next_change: str | None  # when it opens or closes next
    in_menu: int  # callers of its number still choosing in its menu
    waiting: int
    callbacks: int  # of `waiting`, queued callbacks (the caller hung up; called back in turn)
    longest_wait_seconds: float
    longest_wait_since: str | None  # the longest wait's start, so the board ticks it
    calls: list[QueuedCall]


class Board(TypedDict):
    agents: list[BoardAgent]
    queues: list[BoardQueue]
    today: list[ServiceFigures]


def today_figures(db: Session) -> list[dict[str, Any]]:
    return stats.per_service(db, *stats.day_bounds(dt.datetime.now(dt.UTC).date()))


def board(src: LiveSources, db: Session, today: list[dict[str, Any]] | None = None) -> Board:
    """The supervisor board; `today` may be passed in when the caller cached it."""
    now = src.clock()
    config = src.config()
    views = src.engine.agents()
    names = {a.agent_id: a.name for a in views}
    agents: list[BoardAgent] = [
        {
            "agent_id": a.agent_id,
            "name": a.name,
            "status": a.status,
            "status_label": label(a.status),
            "since": iso(a.since),
            "call_id": a.call.call_id if a.call else None,
            "services": sorted(a.services),
            "call": _board_call(a, names),
        }
        for a in views
        if a.services or a.status != AgentStatus.LOGGED_OUT
    ]
    opening = {o["service_id"]: o for o in services_open(src, config.service_ids(), now)}
    queues: list[BoardQueue] = [
        {
            "service_id": q.service_id,
            "service_name": config.service_name(q.service_id),
            "open": opening[q.service_id]["open"] if q.service_id in opening else True,
            "next_change": opening[q.service_id]["next_change"]
            if q.service_id in opening
            else None,
            "in_menu": q.in_menu,
            "waiting": len(q.waiting),
            "callbacks": q.callbacks,
            "longest_wait_seconds": (
                0.0
                if q.longest_wait_since is None
                else round(max(0.0, now - q.longest_wait_since), 1)
            ),
            "longest_wait_since": iso(q.longest_wait_since),
            "calls": [
                {
                    "call_id": c.call_id,
                    "caller": c.customer_number,
                    "since": iso(c.arrived_at),
                    "state": c.state,
                    "callback_number": c.callback_number,
                    "callback_attempts": c.callback_attempts,
                }
                for c in q.waiting
            ],
        }
        for q in src.engine.queues()
    ]
    if today is None:
        today = today_figures(db)
    return {"agents": agents, "queues": queues, "today": cast(list[ServiceFigures], today)}


def _board_call(a: AgentView, names: dict[int, str]) -> BoardCall | None:
    if a.call is not None:
        c = a.call
        monitor: BoardMonitor | None = None
        if c.monitor_supervisor_id is not None and c.monitor_mode is not None:
            monitor = {
                "supervisor_id": c.monitor_supervisor_id,
                "supervisor_name": names.get(c.monitor_supervisor_id, ""),
                "mode": c.monitor_mode,
                "connected": c.monitor_connected,
            }
        return {
            "call_id": c.call_id,
            "service_id": c.service_id,
            "direction": c.direction,
            "customer": c.callback_number or c.customer_number,
            "state": c.state,
            "connected_since": iso(c.connected_at),
            "monitor": monitor if c.agent_id == a.agent_id else None,
        }
    if a.offer is not None:
        o = a.offer
        return {
            "call_id": o.call_id,
            "service_id": o.service_id,
            "direction": "inbound",
            "customer": o.callback_number or o.caller,
            "state": "offered",
            "connected_since": None,
            "monitor": None,
        }
    return None


def board_for(data: Board, services: frozenset[int]) -> Board:
    """The part of the board a supervisor sees: the agents, queues and figures of the services
    they lead."""
    return {
        "agents": [a for a in data["agents"] if services.intersection(a["services"])],
        "queues": [q for q in data["queues"] if q["service_id"] in services],
        "today": [t for t in data["today"] if t["service_id"] in services],
    }
