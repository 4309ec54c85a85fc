"""A desk phone that does not answer by itself rings with the offer; picking it up answers."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from ringdesk.core.commands import Answer, CtiLogout
from ringdesk.core.events import CallConnected, CallEnded, OfferWithdrawn, TicketOpened
from ringdesk.core.model import AgentConfig, FailureReason, Strategy
from ringdesk.core.telephony import Bridge, HangUp, RingAgent

from .harness import AGENTS, ALICE, BOB, SUPPORT, Desk
from .test_stateful import AGENT_IDS, CallCenter
from .test_stateful import AGENTS as MACHINE_AGENTS


def _ringing(*agent_ids: int, auto: tuple[int, ...] = ()) -> list[AgentConfig]:
    return [replace(a, ring_on_offer=a.id in agent_ids, auto_answer=a.id in auto) for a in AGENTS]


def _offer_ring(desk: Desk, agent_id: int, call: str) -> RingAgent:
    rings = [
        r for r in desk.phone.of_type(RingAgent) if (r.call_id, r.agent_id) == (call, agent_id)
    ]
    assert len(rings) == 1, rings
    return rings[0]


def test_the_phone_rings_with_the_offer_without_auto_answer_headers() -> None:
    desk = Desk(agents=_ringing(ALICE))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == call
    assert desk.status(ALICE) == "ringing"
    ring = _offer_ring(desk, ALICE, call)
    assert (ring.cti_id, ring.auto_answer) == ("1001", False)
    assert desk.engine.call(call).state == "offered"
    offer = desk.engine.agent(ALICE).offer
    assert offer is not None and offer.phone_ringing  # the widget says so


def test_picking_the_phone_up_answers_the_offer() -> None:
    desk = Desk(agents=_ringing(ALICE))
    desk.ready(ALICE)
    call, cust = desk.arrive()
    leg = _offer_ring(desk, ALICE, call).leg_id
    desk.now += 3
    desk.tel(desk.phone.answered(leg))
    assert desk.phone.last(Bridge) == Bridge(call, cust, leg)
    assert desk.status(ALICE) == "on_call"
    assert desk.offered(ALICE) is None
    assert desk.of(CallConnected)[-1].agent_id == ALICE
    assert desk.of(TicketOpened)[-1].call_id == call
    assert len(desk.phone.of_type(RingAgent)) == 1  # not rung a second time
    # The picked-up leg is the call's agent leg: hanging it up ends the call.
    desk.tel(desk.phone.hung_up(leg))
    ended = desk.of(CallEnded)[-1]
    assert (ended.call_id, ended.outcome, ended.ended_by) == (call, "answered", "agent")


def test_answer_in_the_widget_rings_the_phone_again_with_auto_answer() -> None:
    desk = Desk(agents=_ringing(ALICE))
    desk.ready(ALICE)
    call, cust = desk.arrive()
    first = _offer_ring(desk, ALICE, call).leg_id
    desk.do(Answer(ALICE, call))
    assert HangUp(call, first) in desk.phone.of_type(HangUp)
    second = desk.phone.last(RingAgent)
    assert second.leg_id != first and second.auto_answer
    assert desk.engine.call(call).state == "connecting"
    # The cancelled leg's report changes nothing; the new leg's answer connects.
    desk.tel(desk.phone.hung_up(first))
    assert desk.engine.call(call).state == "connecting"
    desk.tel(desk.phone.answered(second.leg_id))
    assert desk.phone.last(Bridge) == Bridge(call, cust, second.leg_id)
    assert desk.status(ALICE) == "on_call"


def test_pickup_timeout_cancels_the_ringing_phone() -> None:
    desk = Desk(agents=_ringing(ALICE))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    leg = _offer_ring(desk, ALICE, call).leg_id
    desk.tick(desk.cti.pickup_seconds + 0.1)
    assert HangUp(call, leg) in desk.phone.of_type(HangUp)
    assert desk.of(OfferWithdrawn)[-1].reason == "pickup_timeout"
    assert desk.status(ALICE) == "rest"
    # A late answer from the cancelled phone is not taken as an answer.
    desk.tel(desk.phone.answered(leg))
    assert desk.of(CallConnected) == []


def test_the_customer_hanging_up_cancels_the_ringing_phone() -> None:
    desk = Desk(agents=_ringing(ALICE))
    desk.ready(ALICE)
    call, cust = desk.arrive()
    leg = _offer_ring(desk, ALICE, call).leg_id
    desk.tel(desk.phone.hung_up(cust))
    assert HangUp(call, leg) in desk.phone.of_type(HangUp)
    assert desk.of(CallEnded)[-1].outcome == "abandoned"
    assert desk.status(ALICE) == "ready"


def test_logging_out_cancels_the_ringing_phone() -> None:
    desk = Desk(agents=_ringing(ALICE))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    leg = _offer_ring(desk, ALICE, call).leg_id
    desk.do(CtiLogout(ALICE))
    assert HangUp(call, leg) in desk.phone.of_type(HangUp)


def test_ring_all_answered_on_one_phone_cancels_the_others() -> None:
    desk = Desk(
        services=[replace(SUPPORT, strategy=Strategy.RING_ALL)], agents=_ringing(ALICE, BOB)
    )
    desk.ready(ALICE, BOB)
    call, cust = desk.arrive()
    alice = _offer_ring(desk, ALICE, call).leg_id
    bob = _offer_ring(desk, BOB, call).leg_id
    desk.tel(desk.phone.answered(bob))
    assert desk.phone.last(Bridge) == Bridge(call, cust, bob)
    assert HangUp(call, alice) in desk.phone.of_type(HangUp)
    assert HangUp(call, bob) not in desk.phone.of_type(HangUp)
    assert (desk.status(BOB), desk.status(ALICE)) == ("on_call", "ready")
    assert desk.of(OfferWithdrawn)[-1].reason == "answered_elsewhere"


def test_a_declined_ring_leaves_the_offer_in_the_widget() -> None:
    desk = Desk(agents=_ringing(ALICE))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    leg = _offer_ring(desk, ALICE, call).leg_id
    desk.tel(desk.phone.failed(leg, FailureReason.BUSY))
    assert desk.offered(ALICE) == call
    offer = desk.engine.agent(ALICE).offer
    assert offer is not None and not offer.phone_ringing
    desk.do(Answer(ALICE, call))
    assert HangUp(call, leg) not in desk.phone.of_type(HangUp)  # gone already
    assert desk.phone.last(RingAgent).auto_answer


def test_agents_without_the_setting_are_rung_only_on_answer() -> None:
    desk = Desk(agents=_ringing(BOB))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    assert desk.offered(ALICE) == call
    assert desk.phone.of_type(RingAgent) == []
    offer = desk.engine.agent(ALICE).offer
    assert offer is not None and not offer.phone_ringing
    desk.do(Answer(ALICE, call))
    assert desk.phone.last(RingAgent).auto_answer


def test_auto_answer_wins_over_ringing_with_the_offer() -> None:
    desk = Desk(agents=_ringing(ALICE, auto=(ALICE,)))
    desk.ready(ALICE)
    call, _ = desk.arrive()
    rings = desk.phone.of_type(RingAgent)
    assert len(rings) == 1 and rings[0].auto_answer
    assert desk.engine.call(call).state == "connecting"


class RingOnOfferCallCenter(CallCenter):
    """The random call center of test_stateful, with desk phones that ring with the offer
    (turned on and off by the admin) and are picked up at random moments."""

    def __init__(self) -> None:
        super().__init__()
        self.ringing: set[int] = set()

    def _config(self, agent: int, services: frozenset[int] | None = None) -> AgentConfig:
        current = self.desk.engine.agent(agent).services
        return replace(
            MACHINE_AGENTS[agent - 1],
            services=frozenset(current) if services is None else services,
            ring_on_offer=agent in self.ringing,
        )

    @rule(agent=st.sampled_from(AGENT_IDS), on=st.booleans())
    def admin_sets_ring_on_offer(self, agent: int, on: bool) -> None:
        (self.ringing.add if on else self.ringing.discard)(agent)
        self.desk._record(self.desk.engine.upsert_agent(self._config(agent), self.desk.now))

    @rule(agent=st.sampled_from(AGENT_IDS), services=st.sampled_from([{1}, {2}, {1, 2}, set()]))
    def admin_changes_phone_permission(self, agent: int, services: set[int]) -> None:
        config = self._config(agent, frozenset(services))
        self.desk._record(self.desk.engine.upsert_agent(config, self.desk.now))

    def _offer_legs(self) -> list[RingAgent]:
        rings = [a for a in self.desk.phone.actions if isinstance(a, RingAgent)]
        return [r for r in rings if not r.auto_answer and r.leg_id in self.desk.phone.live_legs]

    @rule(pick=st.integers(0, 5))
    def a_ringing_phone_is_picked_up(self, pick: int) -> None:
        legs = self._offer_legs()
        if legs:
            self.desk.tel(self.desk.phone.answered(legs[pick % len(legs)].leg_id))

    @invariant()
    def a_phone_rung_with_the_offer_rings_only_for_a_live_offer_or_its_call(self) -> None:
        for ring in self._offer_legs():
            view = self.desk.engine.agent(ring.agent_id)
            offered = view.offer is not None and view.offer.call_id == ring.call_id
            on_it = view.call is not None and view.call.call_id == ring.call_id
            assert offered or on_it, (ring, view)

    @invariant()
    def each_offer_rings_the_phone_at_most_once(self) -> None:
        for ring in self._offer_legs():
            same = [
                r
                for r in self._offer_legs()
                if (r.agent_id, r.call_id) == (ring.agent_id, ring.call_id)
            ]
            assert len(same) == 1, same


RingOnOfferCallCenter.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRingOnOfferCallCenter = RingOnOfferCallCenter.TestCase
