"""Webhooks' store parts: the signature a receiver checks, the backoff, and the outbox the
writer fills in its own transaction (none while no webhook is enabled; nothing when the
batch rolls back); a webhook's deliveries go in order."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ringdesk.core import events as ev
from ringdesk.core.model import AgentStatus, CallOutcome, Direction
from ringdesk.store import models as m
from ringdesk.store import webhooks as store
from ringdesk.store.db import make_engine
from ringdesk.store.recorder import Recorder
from ringdesk.store.secrets import load_box
from ringdesk.store.writer import EventWriter

SECRET = "s3cret-of-the-crm"


# ---- signature --------------------------------------------------------------------------------
def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"event":"ping"}'
    expected = hmac.new(SECRET.encode(), b"1764648000." + body, hashlib.sha256).hexdigest()
    assert store.sign(SECRET, 1764648000, body) == f"v1={expected}"


def test_verify_refuses_a_changed_body_another_secret_and_an_old_or_future_timestamp() -> None:
    body = b'{"event":"call.ended"}'
    signature = store.sign(SECRET, 1000, body)
    assert store.verify(SECRET, "1000", body, signature, now=1100, tolerance=300)
    assert not store.verify(SECRET, "1000", body + b" ", signature, now=1100, tolerance=300)
    assert not store.verify("other", "1000", body, signature, now=1100, tolerance=300)
    assert not store.verify(SECRET, "1001", body, signature, now=1100, tolerance=300)
    assert not store.verify(SECRET, "1000", body, signature, now=1301, tolerance=300)
    assert not store.verify(SECRET, "1000", body, signature, now=699, tolerance=300)
    assert not store.verify(SECRET, "soon", body, signature, now=1000, tolerance=300)


# ---- backoff ----------------------------------------------------------------------------------
def test_the_retry_delay_doubles_from_5_s_and_stops_at_10_min() -> None:
    middle = [store.retry_delay(n, lambda: 0.5) for n in range(1, 11)]
    assert middle == [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]
    assert store.retry_delay(1, lambda: 0.0) == pytest.approx(4.5)
    assert store.retry_delay(1, lambda: 1.0) == pytest.approx(5.5)
    assert store.retry_delay(10_000, lambda: 1.0) == pytest.approx(660)


def test_a_delivery_is_given_up_a_day_after_its_event() -> None:
    attempts, now = 0, 0.0
    while True:
        attempts += 1
        at = store.next_try(attempts, 0.0, now, lambda: 0.5)
        if at is None:
            break
        now = at
    assert store.GIVE_UP_AFTER - 600 <= now <= store.GIVE_UP_AFTER
    assert 140 <= attempts <= 150  # 8 in the first 21 minutes, then every 10 minutes


def test_the_body_is_compact_json_with_an_iso_utc_time() -> None:
    text = store.body("ping", "abc", 1764648306.789, {"x": 1})
    assert text == '{"event":"ping","id":"abc","at":"2025-12-02T04:05:06.789Z","data":{"x":1}}'


# ---- the outbox in the writer's transaction ---------------------------------------------------
@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", load_box(tmp_path))
    m.Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as db:
        db.add(m.Service(id=1, name="Support"))
        db.add(
            m.User(
                id=7, username="alice", name="Alice", role="agent", password_hash="x", created_at=0
            )
        )
        db.commit()
    yield engine
    engine.dispose()


CALL = "c-1"
CALL_EVENTS: list[ev.DomainEvent] = [
    ev.CallQueued(CALL, 1, "5551234", "5550100", 1, at=100.0),
    ev.CallOffered(CALL, 7, 1, "5551234", expires_at=115.0, at=101.0),
    ev.CallConnected(CALL, 7, 1, Direction.INBOUND, "5551234", wait_seconds=3.0, at=103.0),
    ev.TicketOpened(CALL, 7, 1, Direction.INBOUND, "5551234", at=103.0),
    ev.AgentStatusChanged(7, AgentStatus.ON_CALL, AgentStatus.READY, at=103.0),
]
END = ev.CallEnded(
    CALL, 1, Direction.INBOUND, 7, CallOutcome.ANSWERED, 3.0, 60.0, "customer", at=163.0
)


def deliveries(engine: Engine) -> list[m.WebhookDelivery]:
    with Session(engine, expire_on_commit=False) as db:
        return list(db.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id)))


def test_no_delivery_and_no_item_while_no_webhook_is_enabled(engine: Engine) -> None:
    outbox = store.Outbox()
    with Session(engine, expire_on_commit=False) as db:
        store.create(
            db, url="http://crm/", events=["call.ended"], description="", enabled=False, now=1.0
        )
        outbox.refresh(db)
    assert not outbox.active
    writer = EventWriter(engine, Recorder(), outbox)
    writer.commit([CALL_EVENTS, [END]], raise_errors=True)
    assert deliveries(engine) == []


def test_the_writer_queues_what_each_webhook_subscribes_to_in_event_order(engine: Engine) -> None:
    outbox = store.Outbox()
    woken: list[int] = []
    outbox.on_written = lambda: woken.append(1)
    with Session(engine, expire_on_commit=False) as db:
        calls = store.create(
            db, url="http://crm/", events=list(store.EVENTS), description="", enabled=True, now=1
        )
        agents = store.create(
            db, url="http://hr/", events=["agent.status"], description="", enabled=True, now=1
        )
        outbox.refresh(db)
    writer = EventWriter(engine, Recorder(), outbox)
    writer.commit([CALL_EVENTS], raise_errors=True)
    writer.commit([[END]], raise_errors=True)
    assert len(woken) == 2
    rows = deliveries(engine)
    mine = [(d.event, json.loads(d.payload)) for d in rows if d.webhook_id == calls.id]
    assert [e for e, _ in mine] == [
        "call.offered",
        "call.answered",
        "ticket.opened",
        "agent.status",
        "call.ended",
    ]
    payloads = dict(mine)
    with Session(engine, expire_on_commit=False) as db:
        ticket = db.scalars(select(m.Ticket)).one()
    assert payloads["ticket.opened"]["data"] == {
        "ticket_id": ticket.id,
        "call_id": CALL,
        "service_id": 1,
        "agent_id": 7,
        "direction": "inbound",
        "customer_number": "5551234",
        "kind": "call",
    }
    ended = payloads["call.ended"]["data"]
    assert ended["outcome"] == "answered" and ended["customer_number"] == "5551234"
    assert ended["talk_seconds"] == 60.0 and ended["ended_by"] == "customer"
    assert payloads["call.offered"]["at"] == "1970-01-01T00:01:41.000Z"
    assert [d.event for d in rows if d.webhook_id == agents.id] == ["agent.status"]
    # one event, one id: the same body to both webhooks
    status = [d.payload for d in rows if d.event == "agent.status"]
    assert len(status) == 2 and status[0] == status[1]
    assert all(d.status == "pending" and d.attempts == 0 for d in rows)


def test_a_voicemail_and_a_callback_asked_for_open_the_services_ticket(engine: Engine) -> None:
    outbox = store.Outbox()
    with Session(engine, expire_on_commit=False) as db:
        store.create(
            db, url="http://crm/", events=["ticket.opened"], description="", enabled=True, now=1
        )
        outbox.refresh(db)
    writer = EventWriter(engine, Recorder(), outbox)
    voicemail = ev.VoicemailLeft("v-1", 1, "5551234", "voicemail/v-1.wav", 12.0, at=50.0)
    callback = ev.CallbackRequested("b-1", 1, "5554321", "5550100", "5559999", 40.0, at=60.0)
    writer.commit(
        [[ev.CallQueued("v-1", 1, "5551234", "5550100", 1, at=30.0), voicemail]], raise_errors=True
    )
    writer.commit(
        [[ev.CallQueued("b-1", 1, "5554321", "5550100", 1, at=40.0), callback]], raise_errors=True
    )
    with Session(engine) as db:
        tickets = {t.call_id: t.id for t in db.scalars(select(m.Ticket))}
    data = [json.loads(d.payload)["data"] for d in deliveries(engine)]
    assert data == [
        {
            "ticket_id": tickets["v-1"],
            "call_id": "v-1",
            "service_id": 1,
            "agent_id": None,
            "direction": "inbound",
            "customer_number": "5551234",
            "kind": "voicemail",
        },
        {
            "ticket_id": tickets["b-1"],
            "call_id": "b-1",
            "service_id": 1,
            "agent_id": None,
            "direction": "inbound",
            "customer_number": "5554321",
            "kind": "callback",
            "callback_number": "5559999",
        },
    ]


def test_a_rolled_back_batch_queues_nothing(engine: Engine) -> None:
    outbox = store.Outbox()
    with Session(engine, expire_on_commit=False) as db:
        store.create(
            db, url="http://crm/", events=["agent.status"], description="", enabled=True, now=1
        )
        outbox.refresh(db)
    writer = EventWriter(engine, Recorder(), outbox)
    bad = ev.AgentStatusChanged(999_999, AgentStatus.READY, AgentStatus.READY, at=5.0)  # no user
    with pytest.raises(Exception):  # noqa: B017 - the database's own error
        writer.commit([[bad]], raise_errors=True)
    assert deliveries(engine) == []


def test_heads_are_each_webhooks_oldest_pending_delivery_and_mark_backs_off(
    engine: Engine,
) -> None:
    outbox = store.Outbox()
    with Session(engine, expire_on_commit=False) as db:
        one = store.create(
            db, url="http://a/", events=["agent.status"], description="", enabled=True, now=1
        )
        two = store.create(
            db, url="http://b/", events=["agent.status"], description="", enabled=True, now=1
        )
        off = store.create(
            db, url="http://c/", events=["agent.status"], description="", enabled=True, now=1
        )
        outbox.refresh(db)
    writer = EventWriter(engine, Recorder(), outbox)
    for at in (10.0, 11.0):
        writer.commit(
            [[ev.AgentStatusChanged(7, AgentStatus.READY, AgentStatus.READY, at)]],
            raise_errors=True,
        )
    with Session(engine, expire_on_commit=False) as db:
        store.update(db, webhook=store.get(db, webhook_id=off.id), enabled=False)  # type: ignore[arg-type]
        heads = {h.webhook_id: h for h in store.heads(db)}
        assert set(heads) == {one.id, two.id}  # the disabled one waits
        first = heads[one.id]
        assert len(first.secret) >= 40 and first.url == "http://a/"
        # a failure keeps it at the head, due again 5 s later
        assert (
            store.mark(db, due=first, status_code=500, error="HTTP 500", now=20.0, rand=lambda: 0.5)
            == "pending"
        )
        again = {h.webhook_id: h for h in store.heads(db)}[one.id]
        assert again.delivery_id == first.delivery_id and again.next_try_at == 25.0
        assert again.attempts == 1
        assert store.mark(db, due=again, status_code=204, error=None, now=26.0) == "delivered"
        after = {h.webhook_id: h for h in store.heads(db)}[one.id]
        assert after.delivery_id > first.delivery_id  # the next one, only now
        # a day after its event: failed
        assert (
            store.mark(
                db, due=after, status_code=None, error="refused", now=11.0 + store.GIVE_UP_AFTER
            )
            == "failed"
        )
        assert one.id not in {h.webhook_id for h in store.heads(db)}
        page, total = store.deliveries(db, webhook_id=one.id, limit=10, offset=0)
        assert total == 2 and [d.status for d in page] == ["failed", "delivered"]
        # a week later both are pruned; the other webhooks' pending ones stay
        assert store.prune(db, now=26.0 + store.KEEP + 1) == 2
        assert store.deliveries(db, webhook_id=two.id, limit=10, offset=0)[1] == 2
