"""A phone gone silent mid-call (the switch ends its leg for lost media): the call ends by the
system, with the cause recorded, and the agent goes on to wrap-up as after any call."""

from __future__ import annotations

from ringdesk.core.events import CallEnded
from ringdesk.core.model import CallOutcome
from ringdesk.core.telephony import MEDIA_TIMEOUT, SESSION_TIMER_EXPIRED, HangUp, LegHungUp

from .harness import ALICE, Desk


def _talking(desk: Desk) -> tuple[str, str, str]:
    desk.ready(ALICE)
    call, customer_leg = desk.arrive()
    return call, customer_leg, desk.connect(ALICE, call)


def test_a_silent_customer_ends_the_call_by_the_system_with_the_cause() -> None:
    desk = Desk()
    call, customer_leg, agent_leg = _talking(desk)
    desk.tel(LegHungUp(customer_leg, MEDIA_TIMEOUT))
    ended = desk.of(CallEnded)[-1]
    assert (ended.call_id, ended.outcome, ended.ended_by) == (call, CallOutcome.ANSWERED, "system")
    assert ended.cause == MEDIA_TIMEOUT
    assert any(isinstance(a, HangUp) and a.leg_id == agent_leg for a in desk.phone.actions)
    assert desk.status(ALICE) == "ticket_processing"


def test_a_silent_agent_phone_ends_the_call_by_the_system_too() -> None:
    desk = Desk()
    _, customer_leg, agent_leg = _talking(desk)
    desk.tel(LegHungUp(agent_leg, MEDIA_TIMEOUT))
    ended = desk.of(CallEnded)[-1]
    assert (ended.ended_by, ended.cause) == ("system", MEDIA_TIMEOUT)
    assert any(isinstance(a, HangUp) and a.leg_id == customer_leg for a in desk.phone.actions)


def test_an_ordinary_hang_up_keeps_who_hung_up_and_no_cause() -> None:
    desk = Desk()
    _, customer_leg, _ = _talking(desk)
    desk.tel(LegHungUp(customer_leg))
    ended = desk.of(CallEnded)[-1]
    assert (ended.ended_by, ended.cause) == ("customer", "")


def test_a_session_not_refreshed_ends_the_call_by_the_system_with_its_cause() -> None:
    desk = Desk()
    _, customer_leg, agent_leg = _talking(desk)
    desk.tel(LegHungUp(customer_leg, SESSION_TIMER_EXPIRED))
    ended = desk.of(CallEnded)[-1]
    assert (ended.ended_by, ended.cause) == ("system", SESSION_TIMER_EXPIRED)
    assert any(isinstance(a, HangUp) and a.leg_id == agent_leg for a in desk.phone.actions)
    assert desk.status(ALICE) == "ticket_processing"
