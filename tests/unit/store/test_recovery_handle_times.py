"""After a restart the expected wait is known at once: recovery gives the engine each
service's last answered talk times from the call records."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from ringdesk.core.engine import Engine
from ringdesk.core.model import CtiSettings
from ringdesk.core.telephony import CallArrived, PlayPrompt
from ringdesk.store import models as m
from ringdesk.store.recorder import Recorder
from ringdesk.store.recovery import recover
from tests.unit.store.test_callback_recovery import SERVICE


def _record(db: Session, n: int, outcome: str, talk: float | None) -> None:
    db.add(
        m.CallRecord(
            call_id=f"old-{n}",
            service_id=1,
            direction="inbound",
            customer_number="5551234",
            arrived_at=float(n),
            ended_at=float(n) + 1,
            outcome=outcome,
            talk_seconds=talk,
        )
    )


def test_the_first_callers_after_a_restart_hear_an_expected_wait(db: Session) -> None:
    for n in range(30):  # the oldest ten are beyond the last twenty: not averaged
        _record(db, n, "answered", 600.0 if n < 10 else 120.0)
    _record(db, 40, "abandoned", None)
    db.commit()
    engine = Engine(CtiSettings(), [replace(SERVICE, announce_position=True)], [])
    recover(db, engine, Recorder(), 1000.0)
    engine.on_telephony(CallArrived("a", "a-leg", 1, "5551111", "5550100"), 1000.0)
    out = engine.on_telephony(CallArrived("b", "b-leg", 1, "5552222", "5550100"), 1000.0)
    (said,) = [a for a in out.actions if isinstance(a, PlayPrompt)]
    # Nobody staffed: counted as one agent, so position 2 waits two average calls (2 min each).
    assert said.prompt[0].text == (  # type: ignore[union-attr]
        "You are number 2 in the queue. The expected wait is about 4 minutes."
    )
