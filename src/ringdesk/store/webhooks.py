"""Webhooks (docs/guide/webhooks.md): the URLs an admin registered, the outbox of deliveries,
and the pure parts of sending them (signature, backoff).

An event a webhook subscribes to becomes one `webhook_deliveries` row per webhook, written in
the transaction that stores the event (the writer's batch, or an agent's ticket edit), so a
crash loses none and a rollback sends none. `runtime/webhooks.py` sends them. Which webhooks
want which event is cached in an `Outbox` (refreshed after every admin change): with no
enabled webhook the writer's hot path pays one attribute check per batch and no SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from ringdesk.core import events as ev
from ringdesk.store import models as m
from ringdesk.store.recorder import Recorded

# The event names: stable, part of the API (docs/guide/webhooks.md). "ping" is sent only by
# an admin's "send test event" and needs no subscription.
EVENTS = (
    "call.offered",
    "call.answered",
    "call.ended",
    "ticket.opened",
    "ticket.updated",
    "agent.status",
)
PING = "ping"

FIRST_RETRY = 5.0  # seconds after the first failed attempt; doubling
MAX_RETRY = 600.0  # the longest wait between two attempts
GIVE_UP_AFTER = 24 * 3600.0  # a delivery not through a day after its event is failed
KEEP = 7 * 24 * 3600.0  # delivered and failed deliveries are pruned after a week
STATUSES = ("pending", "delivered", "failed")


# ---- pure parts -------------------------------------------------------------------------------
def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Ringdesk-Signature header: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: float
) -> bool:
    """What a receiver does (docs/guide/webhooks.md): a fresh timestamp, the same signature."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


def retry_delay(attempts: int, rand: Callable[[], float] = random.random) -> float:
    """The wait after `attempts` failed attempts: 5 s doubling, capped at 10 min, +-10 %."""
    base: float = min(FIRST_RETRY * 2.0 ** min(max(attempts - 1, 0), 20), MAX_RETRY)
    return base * (0.9 + 0.2 * rand())


def next_try(
    attempts: int, created_at: float, now: float, rand: Callable[[], float]
) -> float | None:
    """When to try again after `attempts` failures, or None: given up (a day has passed)."""
    at = now + retry_delay(attempts, rand)
    return None if at - created_at > GIVE_UP_AFTER else at


def iso(at: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds: 2026-12-02T04:05:06.789Z."""
    text = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def body(event: str, event_id: str, at: float, data: dict[str, Any]) -> str:
    """The JSON body sent, compact: {"event", "id", "at", "data"}."""
    return json.dumps(
        {"event": event, "id": event_id, "at": iso(at), "data": data}, separators=(",", ":")
    )


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def parse_events(text: str) -> list[str]:
    return [name for name in text.split(",") if name]


# ---- the outbox -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Item:
    """One event to send: to every enabled webhook subscribed to its name."""

    event: str
    at: float
    data: dict[str, Any]


class Outbox:
    """The enabled webhooks' subscriptions in memory, and the writes of deliveries.

    `refresh` after every admin change; `on_written` is called after a commit that queued
    deliveries (the worker's wake-up)."""

    LIVE_LIMIT = 100_000  # numbers of calls not yet ended kept for call.ended; a guard

    def __init__(self) -> None:
        self._subs: dict[str, tuple[int, ...]] = {}  # event -> webhook ids
        self.active = False  # an enabled webhook subscribes to something
        self.on_written: Callable[[], None] | None = None
        self._numbers: dict[str, str] = {}  # call id -> customer number, for call.ended
        self._insert: str | None = None  # _INSERT in the driver's parameter style

    def refresh(self, db: Session) -> None:
        subs: dict[str, list[int]] = {}
        rows = db.execute(select(m.Webhook.id, m.Webhook.events).where(m.Webhook.enabled))
        for webhook_id, names in rows:
            for name in parse_events(names):
                subs.setdefault(name, []).append(webhook_id)
        self._subs = {name: tuple(ids) for name, ids in subs.items()}
        self.active = bool(self._subs)
        if not self.active:
            self._numbers.clear()

    def wants(self, event: str) -> tuple[int, ...]:
        return self._subs.get(event, ())

    def written(self) -> None:
        if self.on_written is not None:
            self.on_written()

    # The engine's events as webhook items (the writer calls this only while `active`).
    def items(
        self,
        events: Sequence[ev.DomainEvent],
        recorded: Recorded,
        conn: Connection | None = None,
    ) -> list[Item]:
        """`conn`: the writer's transaction, to find the ticket of a voicemail or a callback
        asked for (one SELECT each, only while a webhook wants ticket.opened)."""
        out: list[Item] = []
        opened = list(recorded.tickets_opened)
        subs = self._subs
        for e in events:
            match e:
                case ev.CallQueued() | ev.CallRouted():
                    self._number(e.call_id, e.caller)
                case ev.CallDialed():
                    self._number(e.call_id, e.number)
                case ev.CallOffered():
                    self._number(e.call_id, e.caller)
                    if "call.offered" in subs:
                        data = {
                            "call_id": e.call_id,
                            "service_id": e.service_id,
                            "agent_id": e.agent_id,
                            "customer_number": e.caller,
                            "callback": e.callback,
                            "expires_at": iso(e.expires_at),
                        }
                        out.append(Item("call.offered", e.at, data))
                case ev.CallConnected():
                    self._number(e.call_id, e.customer_number)
                    if "call.answered" in subs:
                        data = {
                            "call_id": e.call_id,
                            "service_id": e.service_id,
                            "agent_id": e.agent_id,
                            "direction": str(e.direction),
                            "customer_number": e.customer_number,
                            "wait_seconds": round(e.wait_seconds, 3),
                        }
                        out.append(Item("call.answered", e.at, data))
                case ev.CallEnded():
                    number = self._numbers.pop(e.call_id, "") or e.customer_number
                    if "call.ended" in subs:
                        data = {
                            "call_id": e.call_id,
                            "service_id": e.service_id,
                            "agent_id": e.agent_id,
                            "direction": str(e.direction),
                            "customer_number": number,
                            "outcome": str(e.outcome),
                            "ended_by": e.ended_by,
                            "cause": e.cause,
                            "wait_seconds": round(e.wait_seconds, 3),
                            "talk_seconds": round(e.talk_seconds, 3),
                        }
                        out.append(Item("call.ended", e.at, data))
                case ev.TicketOpened():
                    ticket_id = _take(opened, e.agent_id)
                    if ticket_id is not None and "ticket.opened" in subs:
                        data = {
                            "ticket_id": ticket_id,
                            "call_id": e.call_id,
                            "service_id": e.service_id,
                            "agent_id": e.agent_id,
                            "direction": str(e.direction),
                            "customer_number": e.customer_number,
                            "kind": "call",
                        }
                        out.append(Item("ticket.opened", e.at, data))
                case ev.VoicemailLeft() | ev.CallbackRequested():
                    if conn is not None and "ticket.opened" in subs:
                        kind = "voicemail" if isinstance(e, ev.VoicemailLeft) else "callback"
                        number = e.customer_number if isinstance(e, ev.VoicemailLeft) else e.caller
                        found = _service_ticket(conn, e.call_id)
                        if found is not None:
                            data = {
                                "ticket_id": found,
                                "call_id": e.call_id,
                                "service_id": e.service_id,
                                "agent_id": None,
                                "direction": "inbound",
                                "customer_number": number,
                                "kind": kind,
                            }
                            if isinstance(e, ev.CallbackRequested):
                                data["callback_number"] = e.number
                            out.append(Item("ticket.opened", e.at, data))
                case ev.AgentStatusChanged():
                    if "agent.status" in subs:
                        data = {
                            "agent_id": e.agent_id,
                            "status": str(e.status),
                            "chosen": str(e.chosen),
                            "reason": e.reason,
                        }
                        out.append(Item("agent.status", e.at, data))
                case _:
                    pass
        return out

    def _number(self, call_id: str, number: str) -> None:
        if number and (call_id in self._numbers or len(self._numbers) < self.LIVE_LIMIT):
            self._numbers[call_id] = number

    def rows(self, items: Iterable[Item], now: float) -> list[dict[str, Any]]:
        """The deliveries' rows: one per item and subscribed webhook."""
        rows = []
        for item in items:
            ids = self._subs.get(item.event, ())
            if not ids:
                continue
            payload = body(item.event, os.urandom(16).hex(), item.at, item.data)
            for webhook_id in ids:
                rows.append(
                    {
                        "webhook_id": webhook_id,
                        "event": item.event,
                        "payload": payload,
                        "created_at": now,
                        "attempts": 0,
                        "next_try_at": now,
                        "status": "pending",
                    }
                )
        return rows

    def write(self, conn: Connection, items: Iterable[Item], now: float) -> int:
        """Queue the items on the writer's transaction: one fixed INSERT for the batch, on
        its DBAPI cursor as store/hot.py does (Core's statement set-up cost more than the
        write)."""
        rows = self.rows(items, now)
        if rows:
            if self._insert is None:
                dialect = conn.dialect
                style = "named" if dialect.name == "sqlite" else dialect.loaded_dbapi.paramstyle
                self._insert = _translate(_INSERT, style)
            cursor = conn.connection.cursor()
            try:
                cursor.executemany(self._insert, rows)
            finally:
                cursor.close()
        return len(rows)

    def add(self, db: Session, item: Item, now: float) -> int:
        """Queue an item in an ORM session's transaction (committed by the caller's commit)."""
        rows = self.rows([item], now)
        db.add_all(m.WebhookDelivery(**row) for row in rows)
        return len(rows)


_INSERT = (
    "INSERT INTO webhook_deliveries (webhook_id, event, payload, created_at, attempts, "
    "next_try_at, status) VALUES (:webhook_id, :event, :payload, :created_at, 0, "
    ":next_try_at, 'pending')"
)


def _service_ticket(conn: Connection, call_id: str) -> int | None:
    """The ticket the recorder opened for this call in this transaction (nobody's yet)."""
    row = conn.execute(select(m.Ticket.id).where(m.Ticket.call_id == call_id)).first()
    return int(row[0]) if row is not None else None


def _translate(sql: str, paramstyle: str) -> str:
    """`:name` parameters in the DBAPI's own style (sqlite3 takes named, psycopg pyformat)."""
    if paramstyle == "named":
        return sql
    if paramstyle in ("pyformat", "format"):
        return re.sub(r":(\w+)", r"%(\1)s", sql.replace("%", "%%"))
    raise ValueError(f"unsupported DBAPI parameter style {paramstyle!r}")


def _take(opened: list[tuple[int, int]], agent_id: int) -> int | None:
    """The ticket the recorder opened for this agent (first unused entry), or None."""
    for index, (ticket_id, agent) in enumerate(opened):
        if agent == agent_id:
            del opened[index]
            return ticket_id
    return None


def queue_ticket_updated(
    db: Session, outbox: Outbox, *, ticket: m.Ticket, changes: dict[str, Any], by: int, at: float
) -> int:
    """An agent's (or an admin's) edit of a ticket, queued in the edit's own transaction (the
    caller's commit); nothing to do, and no SQL, when no webhook wants ticket.updated."""
    if not outbox.wants("ticket.updated"):
        return 0
    return outbox.add(db, ticket_updated(ticket, changes, by, at), at)


def ticket_updated(ticket: m.Ticket, changes: dict[str, Any], by: int, at: float) -> Item:
    """The ticket.updated item of an edit (before it is applied to the row)."""
    data = {
        "ticket_id": ticket.id,
        "call_id": ticket.call_id,
        "service_id": ticket.service_id,
        "status": changes.get("status", ticket.status),
        "subject": changes.get("subject", ticket.subject),
        "customer_number": ticket.customer_number,
        "changes": dict(changes),
        "by_user_id": by,
    }
    return Item("ticket.updated", at, data)


# ---- the admin's webhooks ---------------------------------------------------------------------
def list_(db: Session) -> Sequence[m.Webhook]:
    return db.scalars(select(m.Webhook).order_by(m.Webhook.id)).all()


def get(db: Session, *, webhook_id: int) -> m.Webhook | None:
    return db.get(m.Webhook, webhook_id)


def create(
    db: Session, *, url: str, events: Sequence[str], description: str, enabled: bool, now: float
) -> m.Webhook:
    row = m.Webhook(
        url=url,
        events=",".join(dict.fromkeys(events)),
        secret=new_secret(),
        enabled=enabled,
        description=description,
        created_at=now,
    )
    db.add(row)
    db.commit()
    return row


def update(
    db: Session,
    *,
    webhook: m.Webhook,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> m.Webhook:
    """Set what is given."""
    if url is not None:
        webhook.url = url
    if events is not None:
        webhook.events = ",".join(dict.fromkeys(events))
    if description is not None:
        webhook.description = description
    if enabled is not None:
        webhook.enabled = enabled
    db.commit()
    return webhook


def rotate_secret(db: Session, *, webhook: m.Webhook) -> str:
    webhook.secret = new_secret()
    db.commit()
    return webhook.secret


def delete(db: Session, *, webhook: m.Webhook) -> None:
    """The webhook and its deliveries (ON DELETE CASCADE, and explicitly for old SQLite)."""
    db.execute(sql_delete(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == webhook.id))
    db.delete(webhook)
    db.commit()


# ---- the deliveries' log ----------------------------------------------------------------------
def deliveries(
    db: Session, *, webhook_id: int, limit: int, offset: int, status: str | None = None
) -> tuple[Sequence[m.WebhookDelivery], int]:
    """One page of a webhook's deliveries, newest first, and how many there are."""
    query = select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        query = query.where(m.WebhookDelivery.status == status)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(m.WebhookDelivery.id.desc()).limit(limit).offset(offset))
    return rows.all(), total


def delivery(db: Session, *, webhook_id: int, delivery_id: int) -> m.WebhookDelivery | None:
    row = db.get(m.WebhookDelivery, delivery_id)
    return row if row is not None and row.webhook_id == webhook_id else None


def ping(db: Session, *, webhook: m.Webhook, now: float) -> m.WebhookDelivery:
    """A test event for this webhook alone, queued behind its other deliveries."""
    data = {"webhook_id": webhook.id, "message": "A test event from Ringdesk."}
    return _queue(db, webhook.id, PING, body(PING, os.urandom(16).hex(), now, data), now)


def resend(db: Session, *, original: m.WebhookDelivery, now: float) -> m.WebhookDelivery:
    """A failed delivery queued again, as a new delivery at the end of the webhook's queue
    (the same body: the same event id, so a receiver can tell it has seen it)."""
    return _queue(db, original.webhook_id, original.event, original.payload, now)


def _queue(db: Session, webhook_id: int, event: str, payload: str, now: float) -> m.WebhookDelivery:
    row = m.WebhookDelivery(
        webhook_id=webhook_id,
        event=event,
        payload=payload,
        created_at=now,
        attempts=0,
        next_try_at=now,
        status="pending",
    )
    db.add(row)
    db.commit()
    return row


# ---- what the worker asks ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Due:
    """The oldest pending delivery of an enabled webhook: the only one of it that may be sent
    (a webhook's deliveries go in order)."""

    delivery_id: int
    webhook_id: int
    url: str
    secret: str
    event: str
    payload: str
    attempts: int
    created_at: float
    next_try_at: float


def heads(db: Session) -> list[Due]:
    """Each enabled webhook's oldest pending delivery (due or not)."""
    first = (
        select(func.min(m.WebhookDelivery.id))
        .where(m.WebhookDelivery.status == "pending")
        .group_by(m.WebhookDelivery.webhook_id)
    )
    query = (
        select(m.WebhookDelivery, m.Webhook)
        .join(m.Webhook, m.Webhook.id == m.WebhookDelivery.webhook_id)
        .where(m.WebhookDelivery.id.in_(first), m.Webhook.enabled)
    )
    return [
        Due(
            delivery_id=d.id,
            webhook_id=w.id,
            url=w.url,
            secret=w.secret,
            event=d.event,
            payload=d.payload,
            attempts=d.attempts,
            created_at=d.created_at,
            next_try_at=d.next_try_at,
        )
        for d, w in db.execute(query)
    ]


def mark(
    db: Session,
    *,
    due: Due,
    status_code: int | None,
    error: str | None,
    now: float,
    rand: Callable[[], float] = random.random,
) -> str:
    """The attempt's result: delivered (a 2xx), or tried again later, or failed for good."""
    attempts = due.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error[:300] if error else None,
    }
    if status_code is not None and 200 <= status_code < 300:
        values.update(status="delivered", delivered_at=now)
    else:
        at = next_try(attempts, due.created_at, now, rand)
        if at is None:
            values.update(status="failed")
        else:
            values.update(next_try_at=at)
    status = values.get("status", "pending")
    db.execute(
        sql_update(m.WebhookDelivery)
        .where(m.WebhookDelivery.id == due.delivery_id, m.WebhookDelivery.status == "pending")
        .values(**values)
    )
    db.commit()
    return str(status)


def prune(db: Session, *, now: float) -> int:
    """Forget delivered and failed deliveries older than a week."""
    result = db.execute(
        sql_delete(m.WebhookDelivery).where(
            m.WebhookDelivery.status.in_(("delivered", "failed")),
            m.WebhookDelivery.created_at < now - KEEP,
        )
    )
    db.commit()
    return int(getattr(result, "rowcount", 0) or 0)
