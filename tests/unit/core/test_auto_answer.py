"""Auto Answer: an offer to a headset agent is answered in the same step, with no click."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from ringdesk.core.commands import Answer, EndCall, SetStatus
from ringdesk.core.errors import IllegalAction
from ringdesk.core.events import (
    AgentStatusChanged,
    CallConnected,
    CallOffered,
    OfferWithdrawn,
    TicketOpened,
)
from ringdesk.core.model import AgentConfig, AgentStatus, CtiSettings, Strategy
from ringdesk.core.telephony import Bridge, RingAgent

from .harness import AGENTS, ALICE, BOB, CAROL, SUPPORT, Desk
from .test_stateful import AGENT_IDS, CallCenter
from .test_stateful import AGENTS as MACHINE_AGENTS


def _auto(*agent_ids: int) -> list[AgentConfig]:
    return [replace(a, auto_answer=a.id in agent_ids) for a in AGENTS]


def test_auto_answer_is_off_by_default() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == call
    assert desk.status(ALICE) == "ringing"
    assert desk.phone.of_type(RingAgent) == []


def test_offer_and_answer_come_in_the_same_outcome() -> None:
    desk = Desk(agents=_auto(ALICE))
    desk.ready(ALICE)
    n = next(desk._calls)
    out = desk.tel(desk.phone.call_arrives(f"call{n}", f"cust{n}", 1, "5551234", "5550100"))
    call = f"call{n}"
    kinds = [type(e) for e in out.events]
    assert CallOffered in kinds
    offered = next(e for e in out.events if isinstance(e, CallOffered))
    assert (offered.call_id, offered.agent_id) == (call, ALICE)
    rings = [a for a in out.actions if isinstance(a, RingAgent)]
    assert len(rings) == 1
    assert (rings[0].agent_id, rings[0].cti_id, rings[0].auto_answer) == (ALICE, "1001", True)
    # The offer came first, then the answer moved Alice on the call.
    statuses = [e.status for e in out.events if isinstance(e, AgentStatusChanged)]
    assert statuses[-1] is AgentStatus.ON_CALL
    assert kinds.index(CallOffered) < max(i for i, k in enumerate(kinds) if k is AgentStatusChanged)
    assert desk.offered(ALICE) is None
    assert desk.engine.call(call).state == "connecting"


def test_auto_answered_call_connects_and_opens_a_ticket_when_the_phone_picks_up() -> None:
    desk = Desk(agents=_auto(ALICE))
    desk.ready(ALICE)
    call, cust = desk.arrive()
    leg = desk.agent_leg(call)
    desk.now += 2
    desk.tel(desk.phone.answered(leg))
    assert desk.phone.last(Bridge) == Bridge(call, cust, leg)
    assert desk.status(ALICE) == "on_call"
    assert desk.of(CallConnected)[-1].agent_id == ALICE
    assert desk.of(TicketOpened)[-1].call_id == call


def test_an_answer_click_after_auto_answer_is_refused() -> None:
    desk = Desk(agents=_auto(ALICE))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    with pytest.raises(IllegalAction, match="connecting"):
        desk.do(Answer(ALICE, call))
    assert len(desk.phone.of_type(RingAgent)) == 1


def test_queued_call_is_auto_answered_when_the_agent_becomes_ready() -> None:
    desk = Desk(agents=_auto(BOB))
    call, _ = desk.arrive()
    assert desk.engine.call(call).state == "queued"
    desk.ready(BOB)
    assert desk.engine.call(call).state == "connecting"
    assert desk.phone.last(RingAgent).agent_id == BOB


def test_ring_all_with_an_auto_answer_agent_goes_to_that_agent_only() -> None:
    desk = Desk(services=[replace(SUPPORT, strategy=Strategy.RING_ALL)], agents=_auto(CAROL))
    desk.ready(ALICE, BOB, CAROL)
    call, _ = desk.arrive()
    assert desk.phone.last(RingAgent).agent_id == CAROL
    assert desk.engine.call(call).state == "connecting"
    assert desk.status(ALICE) == desk.status(BOB) == "ready"
    assert [e.agent_id for e in desk.of(CallOffered)] == [CAROL]


def test_auto_answer_agent_joining_a_ring_all_call_takes_it_from_the_others() -> None:
    desk = Desk(services=[replace(SUPPORT, strategy=Strategy.RING_ALL)], agents=_auto(CAROL))
    desk.ready(ALICE, BOB)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == desk.offered(BOB) == call
    desk.ready(CAROL)
    assert desk.phone.last(RingAgent).agent_id == CAROL
    withdrawn = {(e.agent_id, e.reason) for e in desk.of(OfferWithdrawn)}
    assert withdrawn == {(ALICE, "answered_elsewhere"), (BOB, "answered_elsewhere")}
    assert desk.status(ALICE) == desk.status(BOB) == "ready"


def test_switching_to_ring_all_lets_a_free_auto_answer_agent_take_the_ringing_call() -> None:
    desk = Desk(agents=_auto(BOB))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == call
    desk.ready(BOB)  # nothing waits: Bob is simply Ready
    desk.service(replace(SUPPORT, strategy=Strategy.RING_ALL))
    assert desk.phone.last(RingAgent).agent_id == BOB
    assert desk.engine.call(call).state == "connecting"
    assert desk.offered(ALICE) is None and desk.status(ALICE) == "ready"


def test_agent_free_after_a_switch_to_ring_all_joins_the_call_ringing_one_agent() -> None:
    # Found by the random machine below: the call rang Bob before the switch, nobody else was
    # free at the switch, and Alice becoming free later was not rung.
    desk = Desk()
    call, _ = desk.arrive()
    desk.ready(BOB)
    desk.service(replace(SUPPORT, strategy=Strategy.RING_ALL))
    desk.ready(ALICE)
    assert desk.offered(ALICE) == desk.offered(BOB) == call


def test_turning_auto_answer_on_while_ringing_answers_the_offer() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == call
    desk._record(desk.engine.upsert_agent(replace(AGENTS[0], auto_answer=True), desk.now))
    assert desk.phone.last(RingAgent).agent_id == ALICE
    assert desk.engine.call(call).state == "connecting"


def test_phone_that_never_picks_up_moves_the_agent_out_of_ready() -> None:
    desk = Desk(CtiSettings(pickup_seconds=5), agents=_auto(ALICE))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.tick(5)  # the connect deadline passes with no pick-up
    assert desk.status(ALICE) == "rest"
    assert desk.engine.call(call).state == "queued"
    assert len(desk.phone.of_type(RingAgent)) == 1  # no ringing loop on a dead phone


def test_with_zero_wrap_up_the_agent_takes_the_next_call_with_no_request() -> None:
    desk = Desk(CtiSettings(wrap_up_seconds=0), agents=_auto(ALICE))
    desk.ready(ALICE)
    first, _ = desk.arrive()
    second, _ = desk.arrive()
    desk.tel(desk.phone.answered(desk.agent_leg(first)))
    desk.do(EndCall(ALICE, first))
    assert desk.status(ALICE) == "ticket_processing"
    desk.tick(0.001)  # the wrap-up timer fires: Ready, and the waiting call is answered
    assert desk.engine.call(second).state == "connecting"
    assert desk.phone.last(RingAgent).call_id == second


def test_agent_who_chose_rest_during_the_call_is_not_auto_answered_after_it() -> None:
    desk = Desk(CtiSettings(wrap_up_seconds=0), agents=_auto(ALICE))
    desk.ready(ALICE)
    first, _ = desk.arrive()
    desk.tel(desk.phone.answered(desk.agent_leg(first)))
    desk.do(SetStatus(ALICE, AgentStatus.REST))
    second, _ = desk.arrive()
    desk.do(EndCall(ALICE, first))
    desk.tick(1)
    assert desk.status(ALICE) == "rest"
    assert desk.engine.call(second).state == "queued"


class AutoAnswerCallCenter(CallCenter):
    """The random call center of test_stateful, with the admin turning Auto Answer on and off."""

    def __init__(self) -> None:
        super().__init__()
        self.auto: set[int] = set()

    def _config(self, agent: int, services: frozenset[int] | None = None) -> AgentConfig:
        current = self.desk.engine.agent(agent).services
        return replace(
            MACHINE_AGENTS[agent - 1],
            services=frozenset(current) if services is None else services,
            auto_answer=agent in self.auto,
        )

    @rule(agent=st.sampled_from(AGENT_IDS), on=st.booleans())
    def admin_sets_auto_answer(self, agent: int, on: bool) -> None:
        (self.auto.add if on else self.auto.discard)(agent)
        self.desk._record(self.desk.engine.upsert_agent(self._config(agent), self.desk.now))

    @rule(agent=st.sampled_from(AGENT_IDS), services=st.sampled_from([{1}, {2}, {1, 2}, set()]))
    def admin_changes_phone_permission(self, agent: int, services: set[int]) -> None:
        config = self._config(agent, frozenset(services))
        self.desk._record(self.desk.engine.upsert_agent(config, self.desk.now))

    @invariant()
    def auto_answer_agents_never_ring(self) -> None:
        for agent in self.auto:
            view = self.desk.engine.agent(agent)
            assert view.offer is None and view.status != "ringing", view


AutoAnswerCallCenter.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAutoAnswerCallCenter = AutoAnswerCallCenter.TestCase
