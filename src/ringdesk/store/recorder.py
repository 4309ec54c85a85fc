"""Persist the engine's domain events: call records, tickets and their timelines, agent states.

Runs inside one transaction per engine outcome; the caller commits, then publishes what
`Recorded` lists, so nothing is broadcast that is not stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ringdesk.core import events as ev
from ringdesk.core.model import AgentStatus
from ringdesk.store import models as m


@dataclass(slots=True)
class Recorded:
    """What the feed must announce once the transaction is committed."""

    tickets_opened: list[tuple[int, int]] = field(default_factory=list)  # (ticket id, agent id)
    tickets_updated: set[int] = field(default_factory=set)
    call_failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    agents: set[int] = field(default_factory=set)  # agents whose state changed
    calls_changed: bool = False  # a call record changed: today's statistics are stale


def ticket_for_call(db: Session, call_id: str) -> m.Ticket | None:
    return db.scalar(select(m.Ticket).where(m.Ticket.call_id == call_id))


def match_customer(db: Session, number: str) -> m.Customer | None:
    """The customer whose phone is this number (ignoring a leading '+'), if exactly one."""
    candidates = {number, number.lstrip("+"), "+" + number.lstrip("+")}
    rows = db.scalars(select(m.Customer).where(m.Customer.phone.in_(candidates)).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


_AGENT_STATES = m.Base.metadata.tables["agent_states"]
# Built once: constructing the statement cost more than executing it on SQLite.
_UPDATE_AGENT_STATE = (
    update(_AGENT_STATES)
    .where(_AGENT_STATES.c.user_id == bindparam("uid"))
    .values(
        status=bindparam("status"),
        chosen=bindparam("chosen"),
        logged_in=bindparam("logged_in"),
        since=bindparam("since"),
    )
)


class Recorder:
    def __init__(self) -> None:
        # agent id -> call id whose wrap-up (Ticket Processing) is running, for wrap-up times
        self._wrapping: dict[int, tuple[str, float]] = {}

    def apply(self, db: Session, events: list[Any]) -> Recorded:
        out = Recorded()
        for event in events:
            handler = getattr(self, "_on_" + type(event).__name__, None)
            if handler is not None:
                handler(db, event, out)
                if not isinstance(event, ev.AgentStatusChanged):
                    out.calls_changed = True
            for attr in ("agent_id", "from_agent_id", "to_agent_id", "target_agent_id"):
                value = getattr(event, attr, None)
                if isinstance(value, int):
                    out.agents.add(value)
        return out

    def status_only(self, events: list[Any]) -> bool:
        """Whether these events are plain status changes the fast path can store."""
        return all(
            isinstance(e, ev.AgentStatusChanged) and e.agent_id not in self._wrapping
            for e in events
        )

    def apply_statuses(self, conn: Connection, events: list[ev.AgentStatusChanged]) -> Recorded:
        """The status-click fast path: Core statements on a connection, no ORM session."""
        out = Recorded()
        for e in events:
            values = {
                "status": str(e.status),
                "chosen": str(e.chosen),
                "logged_in": e.status != AgentStatus.LOGGED_OUT,
                "since": e.at,
            }
            updated = conn.execute(_UPDATE_AGENT_STATE, {"uid": e.agent_id, **values})
            if updated.rowcount == 0:
                conn.execute(insert(_AGENT_STATES), {"user_id": e.agent_id, **values})
            out.agents.add(e.agent_id)
        return out

    # ---- helpers ------------------------------------------------------------------------------
    def _record(self, db: Session, call_id: str) -> m.CallRecord | None:
        return db.scalar(select(m.CallRecord).where(m.CallRecord.call_id == call_id))

    def _timeline(
        self, db: Session, call_id: str, at: float, kind: str, detail: str, out: Recorded
    ) -> None:
        ticket = ticket_for_call(db, call_id)
        if ticket is not None:
            db.add(m.TicketEvent(ticket_id=ticket.id, at=at, kind=kind, detail=detail[:500]))
            out.tickets_updated.add(ticket.id)

    def _agent_name(self, db: Session, agent_id: int | None) -> str:
        user = db.get(m.User, agent_id) if agent_id is not None else None
        return user.name if user else "an agent"

    # ---- agents -------------------------------------------------------------------------------
    def _on_AgentStatusChanged(self, db: Session, e: ev.AgentStatusChanged, out: Recorded) -> None:
        # The hottest write (every status click): one UPDATE, no SELECT, unless wrap-up timing
        # needs the previous status.
        values = {
            "status": str(e.status),
            "chosen": str(e.chosen),
            "logged_in": e.status != AgentStatus.LOGGED_OUT,
            "since": e.at,
        }
        wrapping = self._wrapping.get(e.agent_id)
        if wrapping is not None and e.status != AgentStatus.TICKET_PROCESSING:
            # Wrap-up time: from the end of the call to leaving Business (Ticket Processing).
            del self._wrapping[e.agent_id]
            record = self._record(db, wrapping[0])
            if record is not None and record.wrap_up_seconds is None:
                record.wrap_up_seconds = max(0.0, e.at - wrapping[1])
        updated = db.execute(_UPDATE_AGENT_STATE, {"uid": e.agent_id, **values})
        if getattr(updated, "rowcount", 0) == 0:
            db.add(m.AgentStateRow(user_id=e.agent_id, **values))

    # ---- calls --------------------------------------------------------------------------------
    def _on_CallQueued(self, db: Session, e: ev.CallQueued, out: Recorded) -> None:
        if self._record(db, e.call_id) is None:
            db.add(
                m.CallRecord(
                    call_id=e.call_id,
                    service_id=e.service_id,
                    direction="inbound",
                    customer_number=e.caller[:32],
                    called_number=e.called[:32],
                    arrived_at=e.at,
                )
            )

    def _on_CallOffered(self, db: Session, e: ev.CallOffered, out: Recorded) -> None:
        record = self._record(db, e.call_id)
        if record is not None and record.offered_at is None:
            record.offered_at = e.at

    def _on_CallDialed(self, db: Session, e: ev.CallDialed, out: Recorded) -> None:
        if self._record(db, e.call_id) is None:
            db.add(
                m.CallRecord(
                    call_id=e.call_id,
                    service_id=e.service_id,
                    direction="outbound",
                    customer_number=e.number[:32],
                    calling_number=e.calling_number[:32],
                    agent_id=e.agent_id,
                    arrived_at=e.at,
                )
            )
        self._timeline(db, e.call_id, e.at, "dialed", f"Dialed {e.number}", out)

    def _on_CallConnected(self, db: Session, e: ev.CallConnected, out: Recorded) -> None:
        record = self._record(db, e.call_id)
        if record is None:
            record = m.CallRecord(
                call_id=e.call_id,
                service_id=e.service_id,
                direction=str(e.direction),
                customer_number=e.customer_number[:32],
                arrived_at=e.at - e.wait_seconds,
            )
            db.add(record)
        record.agent_id = e.agent_id
        record.connected_at = e.at
        record.wait_seconds = e.wait_seconds
        ticket = ticket_for_call(db, e.call_id)
        if ticket is not None:
            ticket.connected_at = e.at
            ticket.agent_id = e.agent_id
        self._timeline(db, e.call_id, e.at, "connected", "Call connected", out)

    def _on_TicketOpened(self, db: Session, e: ev.TicketOpened, out: Recorded) -> None:
        ticket = ticket_for_call(db, e.call_id)
        if ticket is not None:
            return
        customer = match_customer(db, e.customer_number)
        record = self._record(db, e.call_id)
        ticket = m.Ticket(
            call_id=e.call_id,
            service_id=e.service_id,
            direction=str(e.direction),
            customer_number=e.customer_number[:32],
            customer_id=customer.id if customer else None,
            agent_id=e.agent_id,
            subject="",
            notes="",
            status="open",
            created_at=e.at,
            connected_at=record.connected_at if record else None,
        )
        db.add(ticket)
        db.flush()
        if record is not None:
            record.ticket_id = ticket.id
        verb = "Inbound call from" if e.direction == "inbound" else "Outbound call to"
        db.add(
            m.TicketEvent(
                ticket_id=ticket.id, at=e.at, kind="opened", detail=f"{verb} {e.customer_number}"
            )
        )
        if record is not None and record.connected_at is not None:
            db.add(
                m.TicketEvent(
                    ticket_id=ticket.id,
                    at=record.connected_at,
                    kind="connected",
                    detail=f"Connected with {self._agent_name(db, e.agent_id)}",
                )
            )
        out.tickets_opened.append((ticket.id, e.agent_id))

    def _on_CallHeld(self, db: Session, e: ev.CallHeld, out: Recorded) -> None:
        self._timeline(db, e.call_id, e.at, "hold", "Customer put on hold", out)

    def _on_CallResumed(self, db: Session, e: ev.CallResumed, out: Recorded) -> None:
        self._timeline(db, e.call_id, e.at, "resume", "Call resumed", out)

    def _on_ConsultationStarted(
        self, db: Session, e: ev.ConsultationStarted, out: Recorded
    ) -> None:
        target = e.target_number or self._agent_name(db, e.target_agent_id)
        self._timeline(db, e.call_id, e.at, "consultation", f"Consultation call to {target}", out)

    def _on_ConsultationAnswered(
        self, db: Session, e: ev.ConsultationAnswered, out: Recorded
    ) -> None:
        self._timeline(db, e.call_id, e.at, "consultation_answered", "Consultation answered", out)

    def _on_ConsultationEnded(self, db: Session, e: ev.ConsultationEnded, out: Recorded) -> None:
        detail = f"Consultation ended ({e.reason.replace('_', ' ')})"
        self._timeline(db, e.call_id, e.at, "consultation_ended", detail, out)

    def _on_CallTransferred(self, db: Session, e: ev.CallTransferred, out: Recorded) -> None:
        target = e.to_number or self._agent_name(db, e.to_agent_id)
        self._timeline(db, e.call_id, e.at, "transferred", f"Transferred to {target}", out)
        if e.to_agent_id is not None:
            record = self._record(db, e.call_id)
            if record is not None:
                record.agent_id = e.to_agent_id
            ticket = ticket_for_call(db, e.call_id)
            if ticket is not None:
                ticket.agent_id = e.to_agent_id
                # The new agent's widget opens the ticket, as for a call they answered.
                out.tickets_opened.append((ticket.id, e.to_agent_id))

    def _on_CallEnded(self, db: Session, e: ev.CallEnded, out: Recorded) -> None:
        record = self._record(db, e.call_id)
        if record is None:
            record = m.CallRecord(
                call_id=e.call_id,
                service_id=e.service_id,
                direction=str(e.direction),
                customer_number="",
                arrived_at=e.at - e.wait_seconds - e.talk_seconds,
            )
            db.add(record)
        if e.agent_id is not None:
            record.agent_id = e.agent_id
        record.ended_at = e.at
        record.outcome = str(e.outcome)
        record.ended_by = e.ended_by
        record.wait_seconds = e.wait_seconds
        record.talk_seconds = e.talk_seconds
        if e.agent_id is not None and record.connected_at is not None:
            self._wrapping[e.agent_id] = (e.call_id, e.at)
        ticket = ticket_for_call(db, e.call_id)
        if ticket is not None:
            ticket.ended_at = e.at
            ticket.duration_seconds = e.talk_seconds
            ticket.outcome = str(e.outcome)
            by = {"customer": "the customer", "agent": "the agent"}.get(e.ended_by, "the system")
            detail = f"Call ended by {by} ({str(e.outcome).replace('_', ' ')})"
            db.add(m.TicketEvent(ticket_id=ticket.id, at=e.at, kind="ended", detail=detail))
            out.tickets_updated.add(ticket.id)

    def _on_CallFailed(self, db: Session, e: Any, out: Recorded) -> None:
        reason = str(getattr(e, "reason", "failed"))
        message = FAILURE_MESSAGES.get(reason, "The call could not be connected.")
        self._timeline(db, e.call_id, e.at, "failed", message, out)
        out.call_failures.append(
            (e.agent_id, {"call_id": e.call_id, "reason": reason, "message": message})
        )


FAILURE_MESSAGES = {
    "busy": "The number is busy.",
    "no_answer": "Nobody answered.",
    "rejected": "The call was rejected.",
    "unreachable": "The number could not be reached.",
    "not_registered": "Your phone is not registered.",
}
