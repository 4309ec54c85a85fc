"""The browser phone is rung with the offer (prewarm) so its media is up before Answer; Answer
asks the switch for that leg (AnswerLeg) instead of ringing again, and its answer connects."""

from __future__ import annotations

from dataclasses import replace

from ringdesk.core.commands import Answer
from ringdesk.core.events import CallConnected, OfferWithdrawn
from ringdesk.core.model import AgentConfig, FailureReason
from ringdesk.core.telephony import AnswerLeg, Bridge, HangUp, RingAgent

from .harness import AGENTS, ALICE, Desk


def _browsers(*agent_ids: int) -> list[AgentConfig]:
    return [replace(a, prewarm=a.id in agent_ids) for a in AGENTS]


def _offer_leg(desk: Desk, call: str) -> RingAgent:
    rings = [r for r in desk.phone.of_type(RingAgent) if r.call_id == call]
    assert len(rings) == 1, rings
    return rings[0]


def test_the_offer_rings_the_browser_prewarmed_and_answer_asks_for_that_leg() -> None:
    desk = Desk(agents=_browsers(ALICE))
    desk.ready(ALICE)
    call, cust = desk.arrive()
    ring = _offer_leg(desk, call)
    assert (ring.agent_id, ring.auto_answer, ring.prewarm) == (ALICE, False, True)
    offer = desk.engine.agent(ALICE).offer
    assert offer is not None and not offer.phone_ringing  # no "your phone is ringing"
    desk.do(Answer(ALICE, call))
    desk.do(Answer(ALICE, call))  # a double click asks once
    assert desk.phone.of_type(AnswerLeg) == [AnswerLeg(call, ring.leg_id)]
    assert desk.phone.of_type(HangUp) == [] and len(desk.phone.of_type(RingAgent)) == 1
    assert desk.engine.call(call).state == "offered"  # until the switch reports the leg
    desk.now += 0.05
    desk.tel(desk.phone.answered(ring.leg_id))
    assert desk.phone.last(Bridge) == Bridge(call, cust, ring.leg_id)
    assert desk.status(ALICE) == "on_call"
    assert desk.of(CallConnected)[-1].agent_id == ALICE


def test_a_prewarmed_leg_lost_after_answer_rings_the_browser_again() -> None:
    desk = Desk(agents=_browsers(ALICE))
    desk.ready(ALICE)
    call, cust = desk.arrive()
    first = _offer_leg(desk, call).leg_id
    desk.do(Answer(ALICE, call))
    desk.tel(desk.phone.failed(first, FailureReason.UNREACHABLE))
    again = desk.phone.last(RingAgent)
    assert again.leg_id != first and again.auto_answer and not again.prewarm
    desk.tel(desk.phone.answered(again.leg_id))
    assert desk.phone.last(Bridge) == Bridge(call, cust, again.leg_id)
    assert desk.status(ALICE) == "on_call"


def test_without_a_prewarmed_leg_answer_rings_as_before_and_a_timeout_hangs_it_up() -> None:
    desk = Desk(agents=_browsers(ALICE))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    first = _offer_leg(desk, call).leg_id
    desk.tel(desk.phone.failed(first, FailureReason.NOT_REGISTERED))  # before any click
    assert desk.offered(ALICE) == call  # the offer stays
    desk.do(Answer(ALICE, call))
    assert desk.phone.of_type(AnswerLeg) == []
    assert desk.phone.last(RingAgent).auto_answer

    desk2 = Desk(agents=_browsers(ALICE))
    desk2.ready(ALICE)
    call2, _ = desk2.arrive()
    leg = _offer_leg(desk2, call2).leg_id
    desk2.tick(desk2.cti.pickup_seconds + 0.1)
    assert HangUp(call2, leg) in desk2.phone.of_type(HangUp)
    assert desk2.of(OfferWithdrawn)[-1].reason == "pickup_timeout"
