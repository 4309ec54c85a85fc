"""Persist the engine's domain events: call records, tickets and their timelines, agent states.

Runs inside the caller's transaction (one per batch of engine outcomes); the caller commits,
then publishes what `Recorded` lists, so nothing is broadcast that is not stored. The writes
are the fixed statements of `ringdesk.store.hot`, on ids remembered for live calls: no ORM and
no SELECT to find a call's rows again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

from sqlalchemy import Connection

from ringdesk.core import events as ev
from ringdesk.core.model import AgentStatus
from ringdesk.core.telephony import MEDIA_TIMEOUT, SESSION_TIMER_EXPIRED
from ringdesk.store.customers import phone_forms
from ringdesk.store.hot import HotSql


@dataclass(slots=True)
class Recorded:
    """What the feed must announce once the transaction is committed."""

    tickets_opened: list[tuple[int, int]] = field(default_factory=list)  # (ticket id, agent id)
    tickets_updated: set[int] = field(default_factory=set)
    call_failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    agents: set[int] = field(default_factory=set)  # agents whose state changed
    calls_changed: bool = False  # a call record changed: today's statistics are stale

    def merge(self, other: Recorded) -> None:
        self.tickets_opened.extend(other.tickets_opened)
        self.tickets_updated |= other.tickets_updated
        self.call_failures.extend(other.call_failures)
        self.agents |= other.agents
        self.calls_changed = self.calls_changed or other.calls_changed


@dataclass(slots=True)
class _Call:
    """What the recorder remembers of a call it has written, so no write has to look it up."""

    record_id: int | None
    ticket_id: int | None = None
    connected_at: float | None = None
    offered: bool = False
    recorded: bool = False  # a recording of the call is kept with its ticket
    parts: dict[int, int] = field(default_factory=dict)  # agent id -> open call_agents row
    service_id: int | None = None


class Recorder:
    LIVE_LIMIT = 100_000  # far more calls than a switch holds at once; a guard, not a tuning

    def __init__(self) -> None:
        self._sql = HotSql()
        # agent id -> (call record id, call end) while their wrap-up (Ticket Processing) runs
        self._wrapping: dict[int, tuple[int, float]] = {}
        self._calls: dict[str, _Call] = {}  # call id -> ids, for calls not yet ended
        self._names: dict[int, str] = {}  # agent names for timelines; see forget_names
        # agent id -> (open agent_status_log row, its status): the time in each status
        self._status: dict[int, tuple[int, str]] = {}

    @property
    def statements(self) -> int:
        """SQL statements run so far (bench/store.py)."""
        return self._sql.executed

    def forget(self) -> None:
        """Drop the remembered ids (after a rolled-back transaction they may name no row)."""
        self._calls.clear()
        self._wrapping.clear()
        self._names.clear()
        self._status.clear()

    def resume_wrap_up(self, agent_id: int, record_id: int, ended_at: float) -> None:
        """After a restart: the agent is still wrapping up the call of this record."""
        self._wrapping[agent_id] = (record_id, ended_at)

    def forget_names(self) -> None:
        """An agent was renamed or removed: timelines must not show the old name."""
        self._names.clear()

    def apply(self, conn: Connection, events: list[ev.DomainEvent]) -> Recorded:
        out = Recorded()
        for event in events:
            self._store(conn, event, out)
            out.agents.update(_agents_named(event))
        return out

    def _store(self, conn: Connection, event: ev.DomainEvent, out: Recorded) -> None:
        """One event's writes. Exhaustive (mypy checks it): a new event must say what it
        stores, or that it stores nothing."""
        match event:
            case ev.AgentStatusChanged():
                self._on_agent_status(conn, event)
                return  # statuses are not call records: today's figures stay
            case ev.CallQueued():
                self._on_queued(conn, event)
            case ev.CallRouted():
                self._on_routed(conn, event, out)
            case ev.CallOffered():
                self._on_offered(conn, event)
            case ev.CallDialed():
                self._on_dialed(conn, event, out)
            case ev.CallConnected():
                self._on_connected(conn, event, out)
            case ev.TicketOpened():
                self._on_ticket_opened(conn, event, out)
            case ev.VoicemailLeft():
                self._on_voicemail(conn, event, out)
            case ev.RecordingStarted():
                self._on_recording(conn, event, out)
            case ev.CallbackRequested():
                self._on_callback_requested(conn, event, out)
            case ev.CallbackAttempted():
                self._on_callback_attempted(conn, event, out)
            case ev.CallbackAttemptFailed():
                self._on_callback_attempt_failed(conn, event, out)
            case ev.CallbackClosed():
                status = "done" if event.outcome == "answered" else "failed"
                params = {"call_id": event.call_id, "status": status, "at": event.at}
                self._sql.run(conn, "callback_closed", params)
            case ev.CallHeld():
                self._timeline(conn, event.call_id, event.at, "hold", "Customer put on hold", out)
            case ev.CallResumed():
                self._timeline(conn, event.call_id, event.at, "resume", "Call resumed", out)
            case ev.ConsultationStarted():
                self._on_consultation_started(conn, event, out)
            case ev.ConsultationAnswered():
                detail = "Consultation answered"
                self._timeline(conn, event.call_id, event.at, "consultation_answered", detail, out)
            case ev.ConsultationHeld() | ev.ConsultationResumed():
                self._on_consultation_held(conn, event, out)
            case ev.ConsultationEnded():
                self._on_consultation_ended(conn, event, out)
            case ev.CallTransferred():
                self._on_transferred(conn, event, out)
            case ev.CallEnded():
                self._on_ended(conn, event, out)
            case ev.CallFailed():
                self._on_failed(conn, event, out)
            case ev.DispositionPicked():
                self._on_disposition(conn, event, out)
            case ev.OfferWithdrawn():
                self._on_offer_withdrawn(conn, event)
                return  # no call record changed: the agent's state is republished
            case ev.AgentPaused() | ev.PhoneReachabilityChanged():
                return  # nothing stored: the agent's state is republished (see _agents_named)
            case ev.MonitorChanged():
                self._on_monitor(conn, event, out)
                return  # the call's record is the same; the agents' states are republished
            case _:
                assert_never(event)
        out.calls_changed = True

    # ---- helpers ------------------------------------------------------------------------------
    def _call(self, conn: Connection, call_id: str) -> _Call | None:
        known = self._calls.get(call_id)
        if known is not None:
            return known
        rows = self._sql.rows(conn, "find_call", {"call_id": call_id})
        if rows:
            record_id, ticket_id, connected_at = rows[0]
            return _Call(record_id=record_id, ticket_id=ticket_id, connected_at=connected_at)
        tickets = self._sql.rows(conn, "find_ticket", {"call_id": call_id})
        return _Call(record_id=None, ticket_id=tickets[0][0]) if tickets else None

    def _remember(self, call_id: str, call: _Call) -> _Call:
        if len(self._calls) >= self.LIVE_LIMIT:
            self._calls.pop(next(iter(self._calls)))  # the oldest; it falls back to a SELECT
        self._calls[call_id] = call
        return call

    def _new_record(self, conn: Connection, call_id: str, **values: Any) -> _Call:
        params = {
            "call_id": call_id,
            "called_number": None,
            "calling_number": None,
            "agent_id": None,
            "ticket_id": None,
            **values,
        }
        record_id = self._sql.rows(conn, "insert_call", params)[0][0]
        call = _Call(record_id=record_id, ticket_id=params["ticket_id"])
        call.service_id = values.get("service_id")
        return self._remember(call_id, call)

    def _event(self, conn: Connection, ticket_id: int, at: float, kind: str, detail: str) -> None:
        params = {"tid": ticket_id, "at": at, "kind": kind, "detail": detail[:500]}
        self._sql.run(conn, "insert_event", params)

    def _timeline(
        self, conn: Connection, call_id: str, at: float, kind: str, detail: str, out: Recorded
    ) -> None:
        call = self._call(conn, call_id)
        if call is not None and call.ticket_id is not None:
            self._event(conn, call.ticket_id, at, kind, detail)
            out.tickets_updated.add(call.ticket_id)

    def _on_monitor(self, conn: Connection, event: ev.MonitorChanged, out: Recorded) -> None:
        """The ticket's timeline says who listened, whispered or barged in, and when they
        left: a line when the supervisor's phone answers, at each new mode, and at the end."""
        if event.mode is not None and not event.connected:
            return  # their phone rings: nothing happened on the call yet
        name = self._agent_name(conn, event.supervisor_id)
        if event.mode is None:
            detail = f"{name} stopped monitoring"
        else:
            detail = f"{name} {MONITOR_WORDS.get(event.mode, event.mode)}"
        self._timeline(conn, event.call_id, event.at, "monitor", detail, out)

    def _agent_name(self, conn: Connection, agent_id: int | None) -> str:
        if agent_id is None:
            return "an agent"
        name = self._names.get(agent_id)
        if name is None:
            rows = self._sql.rows(conn, "user_name", {"uid": agent_id})
            name = str(rows[0][0]) if rows and rows[0][0] else "an agent"
            self._names[agent_id] = name
        return name

    # ---- agents -------------------------------------------------------------------------------
    def _on_agent_status(self, conn: Connection, e: ev.AgentStatusChanged) -> None:
        # The hottest write (every status click): one UPDATE, no SELECT.
        values = {
            "uid": e.agent_id,
            "status": str(e.status),
            "chosen": str(e.chosen),
            "logged_in": e.status != AgentStatus.LOGGED_OUT,
            "since": e.at,
        }
        wrapping = self._wrapping.get(e.agent_id)
        if wrapping is not None and e.status != AgentStatus.TICKET_PROCESSING:
            # Wrap-up time: from the end of the call to leaving Business (Ticket Processing).
            del self._wrapping[e.agent_id]
            seconds = max(0.0, e.at - wrapping[1])
            self._sql.run(conn, "call_wrap_up", {"rid": wrapping[0], "seconds": seconds})
        if self._sql.run(conn, "update_agent_state", values) == 0:
            self._sql.run(conn, "insert_agent_state", values)
        self._status_log(conn, e)

    def _status_log(self, conn: Connection, e: ev.AgentStatusChanged) -> None:
        """The time in each status: the open row ends, the new status's row begins (none for
        logged out). A change of the chosen status alone keeps the row."""
        status = str(e.status)
        known = self._status.get(e.agent_id)
        if known is not None and known[1] == status:
            return
        if known is not None:
            self._sql.run(conn, "status_log_ended", {"lid": known[0], "at": e.at})
        else:  # first change since the start: whatever row a previous run left open
            self._sql.run(conn, "status_log_ended_of_agent", {"uid": e.agent_id, "at": e.at})
        if e.status == AgentStatus.LOGGED_OUT:
            self._status.pop(e.agent_id, None)
            return
        params = {"uid": e.agent_id, "status": status, "reason": e.reason[:32], "at": e.at}
        row = self._sql.rows(conn, "insert_status_log", params)[0][0]
        self._status[e.agent_id] = (int(row), status)

    # ---- an agent's part in a call (call_agents) ----------------------------------------------
    def _new_part(
        self,
        conn: Connection,
        call: _Call,
        call_id: str,
        agent_id: int,
        service_id: int | None,
        kind: str,
        at: float,
        *,
        answered_at: float | None = None,
        from_agent_id: int | None = None,
    ) -> None:
        params = {
            "call_id": call_id,
            "agent_id": agent_id,
            "service_id": service_id,
            "kind": kind,
            "at": at,
            "answered_at": answered_at,
            "from_agent_id": from_agent_id,
        }
        call.parts[agent_id] = int(self._sql.rows(conn, "insert_part", params)[0][0])

    def _end_part(
        self, conn: Connection, call_id: str, agent_id: int, at: float, result: str, reason: str
    ) -> None:
        call = self._calls.get(call_id)
        part = call.parts.pop(agent_id, None) if call is not None else None
        if part is not None:
            params = {"pid": part, "at": at, "result": result, "reason": reason[:32]}
            self._sql.run(conn, "part_withdrawn", params)

    def _on_disposition(self, conn: Connection, e: ev.DispositionPicked, out: Recorded) -> None:
        """The agent's wrap-up code for the call (one per agent and call), in the ticket's
        timeline too."""
        params = {"call_id": e.call_id, "agent_id": e.agent_id}
        self._sql.run(conn, "disposition_cleared", params)
        params = {
            **params,
            "service_id": e.service_id,
            "code_id": e.code_id,
            "label": e.label[:100],
            "at": e.at,
        }
        self._sql.run(conn, "insert_disposition", params)
        name = self._agent_name(conn, e.agent_id)
        self._timeline(
            conn, e.call_id, e.at, "disposition", f"Wrap-up code: {e.label} ({name})", out
        )

    def _on_offer_withdrawn(self, conn: Connection, e: ev.OfferWithdrawn) -> None:
        """An offer ended without the agent talking: missed (the pickup time passed, or the
        phone did not pick up after Answer), declined (the agent changed status), withdrawn."""
        self._end_part(
            conn, e.call_id, e.agent_id, e.at, _OFFER_RESULTS.get(e.reason, "withdrawn"), e.reason
        )

    # ---- calls --------------------------------------------------------------------------------
    def _on_queued(self, conn: Connection, e: ev.CallQueued) -> None:
        if self._call(conn, e.call_id) is None:
            self._new_record(
                conn,
                e.call_id,
                service_id=e.service_id,
                direction="inbound",
                customer_number=e.caller[:32],
                called_number=e.called[:32],
                arrived_at=e.at,
            )

    def _on_routed(self, conn: Connection, e: ev.CallRouted, out: Recorded) -> None:
        """A step of the caller's way (menus, keys, closed): on the record, and in the ticket's
        timeline once there is one (TicketOpened brings the steps before it)."""
        call = self._call(conn, e.call_id)
        if call is None or call.record_id is None:
            call = self._new_record(
                conn,
                e.call_id,
                service_id=e.service_id,
                direction="inbound",
                customer_number=e.caller[:32],
                called_number=e.called[:32],
                arrived_at=e.at,
                ticket_id=call.ticket_id if call else None,
            )
        self._sql.run(conn, "call_route", {"rid": call.record_id, "step": e.detail[:200]})
        if call.ticket_id is not None:
            self._event(conn, call.ticket_id, e.at, "route", e.detail)
            out.tickets_updated.add(call.ticket_id)

    def _on_offered(self, conn: Connection, e: ev.CallOffered) -> None:
        call = self._call(conn, e.call_id)
        if call is not None and call.record_id is not None and not call.offered:
            # Only the first offer counts (a re-offer after a pickup timeout keeps it).
            self._sql.run(conn, "call_offered", {"rid": call.record_id, "at": e.at})
            call.offered = True
        # For the agent every offer counts: a row of its own.
        call = self._remember(e.call_id, call or _Call(record_id=None))
        call.service_id = e.service_id
        self._new_part(conn, call, e.call_id, e.agent_id, e.service_id, "offer", e.at)

    def _on_dialed(self, conn: Connection, e: ev.CallDialed, out: Recorded) -> None:
        if self._call(conn, e.call_id) is None:
            self._new_record(
                conn,
                e.call_id,
                service_id=e.service_id,
                direction="outbound",
                customer_number=e.number[:32],
                calling_number=e.calling_number[:32],
                agent_id=e.agent_id,
                arrived_at=e.at,
            )
        call = self._calls.get(e.call_id)
        if call is not None:
            self._new_part(conn, call, e.call_id, e.agent_id, e.service_id, "dial", e.at)
        self._timeline(conn, e.call_id, e.at, "dialed", f"Dialed {e.number}", out)

    def _on_connected(self, conn: Connection, e: ev.CallConnected, out: Recorded) -> None:
        call = self._call(conn, e.call_id)
        if call is None or call.record_id is None:
            call = self._new_record(
                conn,
                e.call_id,
                service_id=e.service_id,
                direction=str(e.direction),
                customer_number=e.customer_number[:32],
                arrived_at=e.at - e.wait_seconds,
                ticket_id=call.ticket_id if call else None,
            )
        else:
            self._remember(e.call_id, call)
        params = {"rid": call.record_id, "agent_id": e.agent_id, "at": e.at, "wait": e.wait_seconds}
        self._sql.run(conn, "call_connected", params)
        call.connected_at = e.at
        part = call.parts.get(e.agent_id)
        if part is None:  # no offer seen (a restart between): the part starts here
            self._new_part(
                conn, call, e.call_id, e.agent_id, e.service_id, "offer", e.at, answered_at=e.at
            )
        else:
            self._sql.run(conn, "part_answered", {"pid": part, "at": e.at})
        if call.ticket_id is not None:
            params = {"tid": call.ticket_id, "at": e.at, "agent_id": e.agent_id}
            self._sql.run(conn, "ticket_connected", params)
            self._event(conn, call.ticket_id, e.at, "connected", "Call connected")
            out.tickets_updated.add(call.ticket_id)

    def _on_ticket_opened(self, conn: Connection, e: ev.TicketOpened, out: Recorded) -> None:
        call = self._call(conn, e.call_id)
        if call is not None and call.ticket_id is not None:
            # A callback's ticket, opened when it was asked for: its agent's widget opens it.
            out.tickets_opened.append((call.ticket_id, e.agent_id))
            return
        connected_at = call.connected_at if call else None
        ticket_id = self._insert_ticket(
            conn,
            call,
            e.call_id,
            e.service_id,
            str(e.direction),
            e.customer_number,
            e.agent_id,
            e.at,
            connected_at,
            e.path,
        )
        verb = "Inbound call from" if e.direction == "inbound" else "Outbound call to"
        self._event(conn, ticket_id, e.at, "opened", f"{verb} {e.customer_number}")
        if connected_at is not None:
            name = self._agent_name(conn, e.agent_id)
            self._event(conn, ticket_id, connected_at, "connected", f"Connected with {name}")
        out.tickets_opened.append((ticket_id, e.agent_id))

    def _insert_ticket(
        self,
        conn: Connection,
        call: _Call | None,
        call_id: str,
        service_id: int,
        direction: str,
        number: str,
        agent_id: int | None,
        at: float,
        connected_at: float | None,
        path: tuple[tuple[float, str], ...],
    ) -> int:
        """The ticket's row (its customer matched by number), linked to the call record, with
        the caller's way here (menus heard, keys chosen) at the head of its timeline."""
        phones = dict(zip(("p1", "p2", "p3"), phone_forms(number), strict=True))
        customers = self._sql.rows(conn, "customers_by_phone", phones)
        params = {
            "call_id": call_id,
            "service_id": service_id,
            "direction": direction,
            "customer_number": number[:32],
            "customer_id": customers[0][0] if len(customers) == 1 else None,
            "agent_id": agent_id,
            "at": at,
            "connected_at": connected_at,
        }
        ticket_id = int(self._sql.rows(conn, "insert_ticket", params)[0][0])
        if call is None:
            call = self._remember(call_id, _Call(record_id=None))
        call.ticket_id = ticket_id
        if call.record_id is not None:
            self._sql.run(conn, "call_ticket", {"rid": call.record_id, "tid": ticket_id})
        for step_at, step in path:
            self._event(conn, ticket_id, step_at, "route", step)
        return ticket_id

    def _service_ticket(
        self,
        conn: Connection,
        call_id: str,
        service_id: int,
        number: str,
        at: float,
        path: tuple[tuple[float, str], ...],
    ) -> int | None:
        """A new inbound ticket for the service's agents (nobody's yet: a voicemail, a callback
        asked for), with the caller's way; None when the call has its ticket already."""
        call = self._call(conn, call_id)
        if call is not None and call.ticket_id is not None:
            return None
        return self._insert_ticket(
            conn, call, call_id, service_id, "inbound", number, None, at, None, path
        )

    def _on_voicemail(self, conn: Connection, e: ev.VoicemailLeft, out: Recorded) -> None:
        """The service's ticket, with the message and its recording."""
        ticket_id = self._service_ticket(
            conn, e.call_id, e.service_id, e.customer_number, e.at, e.path_steps
        )
        if ticket_id is None:
            return
        detail = f"Voicemail from {e.customer_number} ({round(e.seconds)} s)"
        self._event(conn, ticket_id, e.at, "voicemail", detail)
        params = {"tid": ticket_id, "path": e.path[:300], "seconds": e.seconds, "at": e.at}
        self._sql.run(conn, "insert_recording", params)
        out.tickets_updated.add(ticket_id)  # the service's agents see it in their lists

    def _on_recording(self, conn: Connection, e: ev.RecordingStarted, out: Recorded) -> None:
        """A call recording, listed with the call's ticket (once per file: a pair bridged
        again after a hold goes on in the same file). Its length is set when the call ends."""
        call = self._call(conn, e.call_id)
        if call is None or call.ticket_id is None:
            return  # no ticket (an unanswered call): the file stays for the retention sweep
        params = {"tid": call.ticket_id, "path": e.path[:300], "at": e.at}
        if self._sql.run(conn, "insert_call_recording", params):
            out.tickets_updated.add(call.ticket_id)
        call.recorded = True

    def _on_callback_requested(
        self, conn: Connection, e: ev.CallbackRequested, out: Recorded
    ) -> None:
        """The service's ticket (nobody's until one calls back), and the callback's row (what
        a restart restores)."""
        ticket_id = self._service_ticket(conn, e.call_id, e.service_id, e.caller, e.at, e.path)
        if ticket_id is None:
            return
        params = {
            "call_id": e.call_id,
            "service_id": e.service_id,
            "tid": ticket_id,
            "caller": e.caller[:32],
            "called": e.called[:32],
            "number": e.number[:32],
            "arrived_at": e.arrived_at,
            "at": e.at,
        }
        self._sql.run(conn, "insert_callback", params)
        self._event(conn, ticket_id, e.at, "callback", f"Callback requested to {e.number}")
        out.tickets_updated.add(ticket_id)  # the service's agents see it in their lists

    def _on_callback_attempted(
        self, conn: Connection, e: ev.CallbackAttempted, out: Recorded
    ) -> None:
        params = {"call_id": e.call_id, "attempts": e.attempt}
        self._sql.run(conn, "callback_attempt", params)
        name = self._agent_name(conn, e.agent_id)
        detail = f"{name} calls {e.number} back (attempt {e.attempt})"
        self._timeline(conn, e.call_id, e.at, "callback_attempt", detail, out)

    def _on_callback_attempt_failed(
        self, conn: Connection, e: ev.CallbackAttemptFailed, out: Recorded
    ) -> None:
        params = {
            "call_id": e.call_id,
            "attempts": e.attempt,
            "next_try": e.next_try_at,
            "reason": e.reason[:32],
        }
        self._sql.run(conn, "callback_failed_try", params)
        if e.agent_id:  # the agent who took it is free again: their part ends unanswered
            self._end_part(conn, e.call_id, e.agent_id, e.at, "withdrawn", f"callback_{e.reason}")
        why = CALLBACK_REASONS.get(e.reason, e.reason.replace("_", " "))
        if e.next_try_at is None:
            detail = f"Attempt {e.attempt}: {why}. No more attempts."
        else:
            minutes = max(1, round((e.next_try_at - e.at) / 60))
            detail = f"Attempt {e.attempt}: {why}. Tried again in {minutes} min."
        self._timeline(conn, e.call_id, e.at, "callback_failed", detail, out)

    def _on_consultation_started(
        self, conn: Connection, e: ev.ConsultationStarted, out: Recorded
    ) -> None:
        target = self._target(conn, e.target_number, e.target_agent_id)
        self._timeline(conn, e.call_id, e.at, "consultation", f"Consultation call to {target}", out)

    def _target(self, conn: Connection, number: str | None, agent_id: int | None) -> str:
        """A transfer's target as people read it: the agent's name (with the number typed),
        or the outside number."""
        if agent_id is None:
            return number or "?"
        name = self._agent_name(conn, agent_id)
        return f"{name} ({number})" if number else name

    def _on_consultation_held(
        self, conn: Connection, e: ev.ConsultationHeld | ev.ConsultationResumed, out: Recorded
    ) -> None:
        name = self._agent_name(conn, e.target_agent_id)
        if isinstance(e, ev.ConsultationHeld):
            kind, detail = "consultation_held", f"{name} put the consultation on hold"
        else:
            kind, detail = "consultation_resumed", f"{name} resumed the consultation"
        self._timeline(conn, e.call_id, e.at, kind, detail, out)

    def _on_consultation_ended(
        self, conn: Connection, e: ev.ConsultationEnded, out: Recorded
    ) -> None:
        detail = f"Consultation ended ({e.reason.replace('_', ' ')})"
        self._timeline(conn, e.call_id, e.at, "consultation_ended", detail, out)

    def _on_transferred(self, conn: Connection, e: ev.CallTransferred, out: Recorded) -> None:
        target = self._target(conn, e.to_number, e.to_agent_id)
        self._timeline(conn, e.call_id, e.at, "transferred", f"Transferred to {target}", out)
        call = self._call(conn, e.call_id)
        if call is not None:
            self._transfer_parts(conn, call, e)
        if e.to_agent_id is not None and call is not None:
            if call.record_id is not None:
                params = {"rid": call.record_id, "agent_id": e.to_agent_id}
                self._sql.run(conn, "call_agent", params)
            if call.ticket_id is not None:
                params = {"tid": call.ticket_id, "agent_id": e.to_agent_id}
                self._sql.run(conn, "ticket_agent", params)
                # The new agent's widget opens the ticket, as for a call they answered.
                out.tickets_opened.append((call.ticket_id, e.to_agent_id))

    def _transfer_parts(self, conn: Connection, call: _Call, e: ev.CallTransferred) -> None:
        """The transferring agent's part ends (a transfer made); the receiving agent's begins,
        talking from now (a transfer received)."""
        part = call.parts.pop(e.from_agent_id, None)
        if part is not None:
            params = {
                "pid": part,
                "at": e.at,
                "to_agent": e.to_agent_id,
                "to_number": (e.to_number or "")[:32] or None,
            }
            self._sql.run(conn, "part_transferred", params)
        if e.to_agent_id is not None:
            self._new_part(
                conn,
                call,
                e.call_id,
                e.to_agent_id,
                call.service_id,
                "transfer",
                e.at,
                answered_at=e.at,
                from_agent_id=e.from_agent_id,
            )

    def _on_ended(self, conn: Connection, e: ev.CallEnded, out: Recorded) -> None:
        call = self._call(conn, e.call_id)
        if call is None or call.record_id is None:
            call = self._new_record(
                conn,
                e.call_id,
                service_id=e.service_id,
                direction=str(e.direction),
                customer_number=e.customer_number[:32],
                arrived_at=e.at - e.wait_seconds - e.talk_seconds,
                ticket_id=call.ticket_id if call else None,
            )
        params = {
            "rid": call.record_id,
            "at": e.at,
            "outcome": str(e.outcome),
            "ended_by": e.ended_by,
            "wait": e.wait_seconds,
            "talk": e.talk_seconds,
            "agent_id": e.agent_id,
        }
        self._sql.run(conn, "call_ended", params)
        # Every part still open ends with the call (one statement by call id, no SELECT).
        params = {"call_id": e.call_id, "at": e.at, "reason": str(e.outcome)[:32]}
        self._sql.run(conn, "parts_ended", params)
        if e.agent_id is not None and call.connected_at is not None and call.record_id:
            self._wrapping[e.agent_id] = (call.record_id, e.at)
        if call.ticket_id is not None:
            params = {
                "tid": call.ticket_id,
                "at": e.at,
                "duration": e.talk_seconds,
                "outcome": str(e.outcome),
            }
            self._sql.run(conn, "ticket_ended", params)
            if call.recorded:
                params = {"tid": call.ticket_id, "seconds": e.talk_seconds}
                self._sql.run(conn, "call_recording_seconds", params)
            by = {"customer": "the customer", "agent": "the agent"}.get(e.ended_by, "the system")
            detail = f"Call ended by {by} ({str(e.outcome).replace('_', ' ')})"
            lost = _LOST_DETAILS.get(e.cause)
            if lost is not None:
                detail = f"Call ended by {by}: the connection was lost ({lost})"
            self._event(conn, call.ticket_id, e.at, "ended", detail)
            out.tickets_updated.add(call.ticket_id)
        self._calls.pop(e.call_id, None)

    def _on_failed(self, conn: Connection, e: ev.CallFailed, out: Recorded) -> None:
        reason = e.reason
        message = FAILURE_MESSAGES.get(reason, "The call could not be connected.")
        self._timeline(conn, e.call_id, e.at, "failed", message, out)
        out.call_failures.append(
            (e.agent_id, {"call_id": e.call_id, "reason": reason, "message": message})
        )


# What the ticket says when the switch ended a call whose far end was gone (core/telephony.py).
_LOST_DETAILS = {
    MEDIA_TIMEOUT: "no audio any more",
    SESSION_TIMER_EXPIRED: "the other side stopped confirming the call: session timer expired",
}


# An offer withdrawn, for the agent's figures: missed (the pickup time passed; after Answer
# the phone did not pick up) or declined (the agent chose another status); else withdrawn.
_OFFER_RESULTS = {
    "pickup_timeout": "missed",
    "phone_no_answer": "missed",
    "phone_hung_up": "missed",
    "agent_status_changed": "declined",
}


# A failed callback attempt as the ticket's timeline says it.
CALLBACK_REASONS = {
    "busy": "the number was busy",
    "no_answer": "nobody answered",
    "rejected": "the call was declined",
    "unreachable": "the number could not be reached",
    "cancelled": "the agent hung up before the customer answered",
}


MONITOR_WORDS = {
    "listen": "is listening (supervisor)",
    "whisper": "is whispering to the agent (supervisor)",
    "barge": "joined the call (supervisor)",
}


def _agents_named(event: ev.DomainEvent) -> tuple[int, ...]:
    """The agents whose widget shows this event's consequences (their state is republished)."""
    match event:
        case (
            ev.CallQueued()
            | ev.CallRouted()
            | ev.VoicemailLeft()
            | ev.RecordingStarted()
            | ev.CallbackRequested()
            | ev.CallbackClosed()
        ):
            return ()
        case ev.CallbackAttemptFailed():
            return (event.agent_id,) if event.agent_id else ()
        case ev.CallEnded():
            return () if event.agent_id is None else (event.agent_id,)
        case ev.CallTransferred():
            to = () if event.to_agent_id is None else (event.to_agent_id,)
            return (event.from_agent_id, *to)
        case ev.ConsultationStarted() | ev.ConsultationAnswered() | ev.ConsultationEnded():
            # The consulted agent's widget shows the consultation too.
            target = () if event.target_agent_id is None else (event.target_agent_id,)
            return (event.agent_id, *target)
        case ev.ConsultationHeld() | ev.ConsultationResumed():
            return (event.agent_id, event.target_agent_id)
        case ev.MonitorChanged():
            # The supervisor's own state (On Call while monitoring) and the agent's widget.
            return (
                (event.supervisor_id, event.agent_id) if event.agent_id else (event.supervisor_id,)
            )
        case _:
            return (event.agent_id,)


FAILURE_MESSAGES = {
    "busy": "The number is busy.",
    "no_answer": "Nobody answered.",
    "rejected": "The call was rejected.",
    "unreachable": "The number could not be reached.",
    "not_registered": "Your phone is not registered.",
}
