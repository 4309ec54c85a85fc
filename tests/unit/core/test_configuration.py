"""Admin changes reach the engine while it runs; ids; the in-memory telephony port."""

from __future__ import annotations

import re
from dataclasses import replace

from ringdesk.core.commands import CtiLogin, Dial
from ringdesk.core.engine import Engine
from ringdesk.core.events import CallDialed, CallEnded
from ringdesk.core.model import CallOutcome, CtiSettings, OverflowAction
from ringdesk.core.telephony import CallArrived, HangUp, Originate, RingAgent
from tests.unit.core.memory_telephony import MemoryTelephony

from .harness import AGENTS, ALICE, SUPPORT, Desk


def test_a_shorter_wrap_up_limit_applies_to_agents_already_in_ticket_processing() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.connect(ALICE, call)
    desk.tel(desk.phone.hung_up(cust))
    desk.now += 40
    desk.settings(wrap_up_seconds=30.0)  # already past: applied at once
    assert desk.status(ALICE) == "ready"


def test_a_max_wait_set_later_applies_to_calls_already_waiting() -> None:
    desk = Desk()
    desk.arrive()
    desk.now += 5
    desk.service(
        replace(SUPPORT, max_wait_seconds=30, overflow_action=OverflowAction.HANG_UP_WITH_MESSAGE)
    )
    assert desk.engine.next_deadline() == desk.now - 5 + 30  # counted from the call's arrival
    desk.tick(25)
    assert desk.of(CallEnded)[-1].outcome == CallOutcome.OVERFLOWED


def test_a_call_to_a_service_the_engine_does_not_know_is_rejected() -> None:
    desk = Desk()
    out = desk.tel(CallArrived("c1", "l1", 42, "5551234", "5550100"))
    assert out.actions == [HangUp("c1", "l1", reason="inbound_disabled")]
    assert desk.of(CallEnded)[-1].outcome == CallOutcome.REJECTED


def test_default_ids_are_random_and_unique() -> None:
    engine = Engine(CtiSettings(), [SUPPORT], list(AGENTS))
    engine.set_phone_reachable(ALICE, True, 0.0)
    engine.handle(CtiLogin(ALICE), 0.0)
    out = engine.handle(Dial(ALICE, 1, "5551234", "5550100"), 0.0)
    dialed = next(e for e in out.events if isinstance(e, CallDialed))
    ring = next(a for a in out.actions if isinstance(a, RingAgent))
    assert re.fullmatch("[0-9a-f]{32}", dialed.call_id)
    assert re.fullmatch("[0-9a-f]{32}", ring.leg_id)
    assert dialed.call_id != ring.leg_id


def test_memory_telephony_records_actions_and_live_legs() -> None:
    seen: list[object] = []
    phone = MemoryTelephony(sink=seen.append)
    phone.registered.add("1001")
    assert phone.is_registered("1001") and not phone.is_registered("1002")
    phone.call_arrives("c1", "cust", 1, "5551234", "5550100")
    phone.execute(Originate("c1", "out", "5557777", "5550100"))
    assert phone.live_legs == {"cust": "c1", "out": "c1"}
    phone.execute(HangUp("c1", "out"))
    phone.hung_up("cust")
    assert phone.live_legs == {}
    assert phone.last(HangUp).leg_id == "out"
    assert [type(e).__name__ for e in seen] == ["CallArrived", "LegHungUp"]
