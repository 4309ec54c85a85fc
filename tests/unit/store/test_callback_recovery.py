"""Callbacks survive a restart: what the recorder wrote is what recovery puts back in the
engine, in the callers' order; a callback cut while its agent talked is over, not dialled
again; one whose service is gone fails."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.core.commands import Answer, CtiLogin, SetStatus
from ringdesk.core.engine import Engine
from ringdesk.core.model import AgentConfig, AgentStatus, CtiSettings, ServiceConfig
from ringdesk.core.snapshots import Outcome
from ringdesk.core.telephony import (
    CallArrived,
    DigitPressed,
    LegAnswered,
    Originate,
    PlayPrompt,
    RingAgent,
)
from ringdesk.store import models as m
from ringdesk.store.recorder import Recorder
from ringdesk.store.recovery import recover

SERVICE = ServiceConfig(
    id=1, name="Support", calling_numbers=frozenset({"5550100"}), callback_enabled=True
)
ALICE = AgentConfig(id=7, name="Alice", cti_id="1001", cti_number="1001", services=frozenset({1}))


class Desk:
    """One engine whose outcomes the recorder writes, as the runtime's pipeline does."""

    def __init__(self, db: Session, now: float = 1000.0) -> None:
        self.db = db
        self.now = now
        self.recorder = Recorder()
        self.engine = Engine(CtiSettings(), [SERVICE], [])

    def write(self, out: Outcome) -> Outcome:
        self.recorder.apply(self.db.connection(), out.events)
        self.db.commit()
        return out

    def book(self, call_id: str, caller: str) -> None:
        """A caller joins the queue, presses 1 and confirms their own number."""
        self.now += 1
        leg = f"{call_id}-leg"
        self.write(
            self.engine.on_telephony(CallArrived(call_id, leg, 1, caller, "5550100"), self.now)
        )
        for key in ("1", "1"):
            out = self.write(self.engine.on_telephony(DigitPressed(leg, key), self.now))
        assert any(isinstance(a, PlayPrompt) for a in out.actions)


def _callbacks(db: Session) -> dict[str, str]:
    return {row.call_id: row.status for row in db.scalars(select(m.Callback))}


def test_waiting_callbacks_come_back_in_their_order_with_their_tickets(db: Session) -> None:
    desk = Desk(db)
    desk.book("a", "5551111")
    desk.book("b", "5552222")
    assert _callbacks(db) == {"a": "waiting", "b": "waiting"}
    tickets = {t.call_id: t for t in db.scalars(select(m.Ticket))}
    assert tickets["a"].agent_id is None and tickets["b"].customer_number == "5552222"

    after = Engine(CtiSettings(), [SERVICE], [])
    recover(db, after, Recorder(), desk.now + 60)
    (queue,) = after.queues()
    assert [c.callback_number for c in queue.waiting] == ["5551111", "5552222"]
    assert queue.callbacks == 2
    records = {r.call_id: r for r in db.scalars(select(m.CallRecord))}
    assert records["a"].ended_at is None and records["a"].outcome is None  # still going
    assert _callbacks(db) == {"a": "waiting", "b": "waiting"}


def test_a_callback_cut_while_talking_is_done_and_one_of_a_deleted_service_failed(
    db: Session,
) -> None:
    desk = Desk(db)
    desk.engine.upsert_agent(ALICE, desk.now)
    desk.book("talked", "5551111")
    # An agent takes it; the customer answers: they talk when the server dies.
    desk.write(desk.engine.handle(CtiLogin(7), desk.now))
    desk.write(desk.engine.set_phone_reachable(7, True, desk.now))
    desk.write(desk.engine.handle(SetStatus(7, AgentStatus.READY), desk.now))
    offered = desk.engine.agent(7).offer
    assert offered is not None and offered.callback
    out = desk.write(desk.engine.handle(Answer(7, offered.call_id), desk.now))
    ring = next(a for a in out.actions if isinstance(a, RingAgent))
    out = desk.write(desk.engine.on_telephony(LegAnswered(ring.leg_id), desk.now))
    dial = next(a for a in out.actions if isinstance(a, Originate))
    assert dial.number == "5551111" and dial.calling_number == "5550100"
    desk.write(desk.engine.on_telephony(LegAnswered(dial.leg_id), desk.now + 5))

    db.add(
        m.Callback(
            call_id="orphan",
            service_id=None,
            caller="5553333",
            called="5550100",
            number="5553333",
            arrived_at=1.0,
            requested_at=2.0,
            status="waiting",
        )
    )
    db.commit()

    after = Engine(CtiSettings(), [SERVICE], [ALICE])
    recover(db, after, Recorder(), desk.now + 60)
    assert after.queues()[0].waiting == ()  # nothing to call back
    assert _callbacks(db) == {"talked": "done", "orphan": "failed"}
    record = db.scalars(select(m.CallRecord).where(m.CallRecord.call_id == "talked")).one()
    assert record.outcome == "interrupted" and record.connected_at is not None
