"""The recorder's per-call statements, run on the DBAPI cursor of the caller's transaction.

A call costs about twenty small writes. Through SQLAlchemy Core each one spent ~60 us in
statement caching, parameter processing and result set-up around a ~15 us SQLite execution
(bench/store.py), which made the store the largest cost of a call in the switch. These
statements are fixed text, so they are written here once, in `:name` style, and translated to
the driver's parameter style; the schema stays defined by the models and the migrations, and
everything that is not per call keeps using SQLAlchemy.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

_SQL = {
    "update_agent_state": (
        "UPDATE agent_states SET status = :status, chosen = :chosen, logged_in = :logged_in, "
        "since = :since WHERE user_id = :uid"
    ),
    "insert_agent_state": (
        "INSERT INTO agent_states (user_id, status, chosen, logged_in, since) "
        "VALUES (:uid, :status, :chosen, :logged_in, :since)"
    ),
    "insert_call": (
        "INSERT INTO call_records (call_id, service_id, direction, customer_number, "
        "called_number, calling_number, agent_id, ticket_id, arrived_at) VALUES (:call_id, "
        ":service_id, :direction, :customer_number, :called_number, :calling_number, "
        ":agent_id, :ticket_id, :arrived_at) RETURNING id"
    ),
    "find_call": "SELECT id, ticket_id, connected_at FROM call_records WHERE call_id = :call_id",
    "find_ticket": "SELECT id FROM tickets WHERE call_id = :call_id",
    "call_offered": (
        "UPDATE call_records SET offered_at = :at WHERE id = :rid AND offered_at IS NULL"
    ),
    "call_connected": (
        "UPDATE call_records SET agent_id = :agent_id, connected_at = :at, "
        "wait_seconds = :wait WHERE id = :rid"
    ),
    "call_ticket": "UPDATE call_records SET ticket_id = :tid WHERE id = :rid",
    "call_route": (
        "UPDATE call_records SET route = CASE WHEN route IS NULL THEN :step "
        "ELSE route || ' > ' || :step END WHERE id = :rid"
    ),
    "call_agent": "UPDATE call_records SET agent_id = :agent_id WHERE id = :rid",
    "call_ended": (
        "UPDATE call_records SET ended_at = :at, outcome = :outcome, ended_by = :ended_by, "
        "wait_seconds = :wait, talk_seconds = :talk, agent_id = COALESCE(:agent_id, agent_id) "
        "WHERE id = :rid"
    ),
    "call_wrap_up": (
        "UPDATE call_records SET wrap_up_seconds = :seconds "
        "WHERE id = :rid AND wrap_up_seconds IS NULL"
    ),
    "insert_ticket": (
        "INSERT INTO tickets (call_id, service_id, direction, customer_number, customer_id, "
        "agent_id, subject, notes, status, created_at, connected_at) VALUES (:call_id, "
        ":service_id, :direction, :customer_number, :customer_id, :agent_id, '', '', 'open', "
        ":at, :connected_at) RETURNING id"
    ),
    "insert_recording": (
        "INSERT INTO recordings (ticket_id, kind, path, seconds, created_at) "
        "VALUES (:tid, 'voicemail', :path, :seconds, :at)"
    ),
    "insert_callback": (
        "INSERT INTO callbacks (call_id, service_id, ticket_id, caller, called, number, "
        "arrived_at, requested_at, attempts, status) VALUES (:call_id, :service_id, :tid, "
        ":caller, :called, :number, :arrived_at, :at, 0, 'waiting')"
    ),
    "callback_attempt": (
        "UPDATE callbacks SET attempts = :attempts, next_try_at = NULL WHERE call_id = :call_id"
    ),
    "callback_failed_try": (
        "UPDATE callbacks SET attempts = :attempts, next_try_at = :next_try, "
        "last_reason = :reason WHERE call_id = :call_id"
    ),
    "callback_closed": (
        "UPDATE callbacks SET status = :status, ended_at = :at, next_try_at = NULL "
        "WHERE call_id = :call_id"
    ),
    "insert_call_recording": (
        "INSERT INTO recordings (ticket_id, kind, path, seconds, created_at) "
        "SELECT :tid, 'call', :path, 0, :at WHERE NOT EXISTS "
        "(SELECT 1 FROM recordings WHERE ticket_id = :tid AND path = :path)"
    ),
    "call_recording_seconds": (
        "UPDATE recordings SET seconds = :seconds "
        "WHERE ticket_id = :tid AND kind = 'call' AND seconds = 0"
    ),
    "ticket_connected": (
        "UPDATE tickets SET connected_at = :at, agent_id = :agent_id WHERE id = :tid"
    ),
    "ticket_agent": "UPDATE tickets SET agent_id = :agent_id WHERE id = :tid",
    "ticket_ended": (
        "UPDATE tickets SET ended_at = :at, duration_seconds = :duration, outcome = :outcome "
        "WHERE id = :tid"
    ),
    "insert_event": (
        "INSERT INTO ticket_events (ticket_id, at, kind, detail) VALUES (:tid, :at, :kind, :detail)"
    ),
    "customers_by_phone": (
        "SELECT id FROM customers WHERE phone IN (:p1, :p2, :p3) ORDER BY id LIMIT 2"
    ),
    "user_name": "SELECT name FROM users WHERE id = :uid",
    # Per-agent reports (call_agents: one agent's part in a call; agent_status_log).
    "insert_part": (
        "INSERT INTO call_agents (call_id, agent_id, service_id, kind, offered_at, answered_at, "
        "from_agent_id) VALUES (:call_id, :agent_id, :service_id, :kind, :at, :answered_at, "
        ":from_agent_id) RETURNING id"
    ),
    "part_answered": "UPDATE call_agents SET answered_at = :at WHERE id = :pid",
    "part_withdrawn": (
        "UPDATE call_agents SET ended_at = :at, result = :result, reason = :reason "
        "WHERE id = :pid AND ended_at IS NULL"
    ),
    "part_transferred": (
        "UPDATE call_agents SET ended_at = :at, result = 'transferred', to_agent_id = :to_agent, "
        "to_number = :to_number WHERE id = :pid AND ended_at IS NULL"
    ),
    # The call's end closes every part still open (a part the recorder forgot after a restart
    # too): talked to the end, or an offer that ended with the call.
    "parts_ended": (
        "UPDATE call_agents SET ended_at = :at, result = CASE WHEN answered_at IS NULL "
        "THEN 'withdrawn' ELSE 'answered' END, reason = CASE WHEN answered_at IS NULL "
        "THEN :reason ELSE reason END WHERE call_id = :call_id AND ended_at IS NULL"
    ),
    "insert_status_log": (
        "INSERT INTO agent_status_log (agent_id, status, reason, started_at) "
        "VALUES (:uid, :status, :reason, :at) RETURNING id"
    ),
    "status_log_ended": (
        "UPDATE agent_status_log SET ended_at = :at WHERE id = :lid AND ended_at IS NULL"
    ),
    # A wrap-up code picked (again: it replaces the agent's earlier one for the call).
    "disposition_cleared": (
        "DELETE FROM call_dispositions WHERE call_id = :call_id AND agent_id = :agent_id"
    ),
    "insert_disposition": (
        "INSERT INTO call_dispositions (call_id, agent_id, service_id, code_id, label, at) "
        "VALUES (:call_id, :agent_id, :service_id, :code_id, :label, :at)"
    ),
    # After a restart the recorder does not know the open row: the agent's, whichever it is.
    "status_log_ended_of_agent": (
        "UPDATE agent_status_log SET ended_at = :at WHERE agent_id = :uid AND ended_at IS NULL"
    ),
}

_NAMED = re.compile(r":(\w+)")


def _translate(sql: str, paramstyle: str) -> str:
    if paramstyle == "named":
        return sql
    if paramstyle in ("pyformat", "format"):
        return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
    raise ValueError(f"unsupported DBAPI parameter style {paramstyle!r}")


class HotSql:
    """Runs the statements above; `conn` must be inside a transaction the caller commits."""

    def __init__(self) -> None:
        self._text: dict[str, str] | None = None
        self.executed = 0  # statements run, for bench/store.py

    def _statements(self, conn: Connection) -> dict[str, str]:
        if self._text is None:
            # SQLAlchemy may bind with another style (qmark for pysqlite), but the DBAPI
            # module's own style is what a raw cursor takes; sqlite3 also takes named.
            dialect = conn.dialect
            style = "named" if dialect.name == "sqlite" else dialect.loaded_dbapi.paramstyle
            self._text = {name: _translate(sql, style) for name, sql in _SQL.items()}
        return self._text

    def run(self, conn: Connection, name: str, params: dict[str, Any]) -> int:
        """Execute; the number of rows changed."""
        cursor = self._execute(conn, name, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def rows(self, conn: Connection, name: str, params: dict[str, Any]) -> list[Any]:
        """Execute; every row it returns (also the id an INSERT ... RETURNING gives)."""
        cursor = self._execute(conn, name, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _execute(self, conn: Connection, name: str, params: dict[str, Any]) -> Any:
        # Plain calls, no context manager: a menu key's route step is one statement, and this
        # wrapper was half its cost (about 4 us of 8.5).
        self.executed += 1
        text = self._text or self._statements(conn)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(text[name], params)
        except BaseException:
            cursor.close()
            raise
        return cursor
