"""The runtime's pipeline without a server: an in-memory engine, a fake store, feeds and switch,
a clock the test moves and a loop the test turns by hand."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from ringdesk.core import events as ev
from ringdesk.core.commands import CtiLogin, SetStatus
from ringdesk.core.engine import Engine
from ringdesk.core.errors import CoreError
from ringdesk.core.model import AgentConfig, AgentStatus, CtiSettings, ServiceConfig
from ringdesk.core.telephony import (
    CallArrived,
    LegAnswered,
    PhoneRegistered,
    RingAgent,
    StartQueueMusic,
    TelephonyAction,
)
from ringdesk.runtime.pipeline import BATCH_LIMIT, Pipeline
from ringdesk.store.recorder import Recorded

ALICE, BOB = 1, 2


@dataclass
class Trace:
    """What happened, in order, across the fakes."""

    steps: list[str] = field(default_factory=list)


@dataclass
class FakeStore:
    trace: Trace
    fail: bool = False
    commits: list[list[list[ev.DomainEvent]]] = field(default_factory=list)

    def commit(self, writes: Sequence[Sequence[ev.DomainEvent]], *, raise_errors: bool) -> Recorded:
        self.trace.steps.append("commit")
        if self.fail and raise_errors:
            raise RuntimeError("database is gone")
        self.commits.append([list(w) for w in writes])
        agents = {e.agent_id for w in writes for e in w if isinstance(e, ev.AgentStatusChanged)}
        return Recorded(agents=agents)


@dataclass
class FakeFeeds:
    trace: Trace
    published: list[Recorded] = field(default_factory=list)

    def publish_recorded(self, recorded: Recorded) -> None:
        self.trace.steps.append("publish")
        self.published.append(recorded)


@dataclass
class FakeSwitch:
    trace: Trace
    actions: list[TelephonyAction] = field(default_factory=list)
    on_execute: Callable[[TelephonyAction], None] | None = None

    def execute(self, action: TelephonyAction) -> None:
        self.trace.steps.append(type(action).__name__)
        self.actions.append(action)
        if self.on_execute is not None:
            self.on_execute(action)


class Loop:
    """call_soon by hand: the test runs the queued callbacks when it wants the next tick."""

    def __init__(self) -> None:
        self.ready: list[Callable[[], None]] = []

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.ready.append(fn)

    def tick(self) -> None:
        ready, self.ready = self.ready, []
        for fn in ready:
            fn()


class Rig:
    def __init__(self, *, auto_answer: bool = False) -> None:
        ids = itertools.count(1)
        agents = [
            AgentConfig(ALICE, "Alice", "1001", "1001", frozenset({1}), auto_answer=auto_answer),
            AgentConfig(BOB, "Bob", "1002", "1002", frozenset({1}), auto_answer=auto_answer),
        ]
        self.engine = Engine(
            CtiSettings(pickup_seconds=20.0),
            [ServiceConfig(id=1, name="Support")],
            agents,
            new_id=lambda: f"id{next(ids)}",
        )
        self.trace = Trace()
        self.store = FakeStore(self.trace)
        self.feeds = FakeFeeds(self.trace)
        self.switch = FakeSwitch(self.trace)
        self.loop = Loop()
        self.now = 1000.0
        self.applied = 0
        self.pipeline = Pipeline(
            self.engine,
            self.store,
            self.feeds,
            self.switch,
            clock=lambda: self.now,
            call_soon=self.loop.call_soon,
            on_applied=self._applied,
        )

    def _applied(self) -> None:
        self.applied += 1

    def ready(self, *agent_ids: int) -> None:
        for agent_id in agent_ids:
            self.pipeline.report(PhoneRegistered(f"100{agent_id}", True))
        self.loop.tick()
        for agent_id in agent_ids:
            self.pipeline.command(CtiLogin(agent_id))
            self.pipeline.command(SetStatus(agent_id, AgentStatus.READY))
        self.trace.steps.clear()
        self.store.commits.clear()
        self.switch.actions.clear()

    def arrive(self, n: int) -> None:
        self.pipeline.report(CallArrived(f"c{n}", f"leg-c{n}", 1, f"555000{n}", "5550100"))


def test_a_command_is_committed_then_published_then_acted_on() -> None:
    rig = Rig()
    rig.ready(ALICE)
    rig.arrive(1)
    assert rig.trace.steps == []  # a report waits for the next tick
    rig.loop.tick()
    assert rig.trace.steps == ["commit", "publish", "StartQueueMusic"]
    assert rig.engine.agent(ALICE).status == AgentStatus.RINGING
    assert rig.applied > 0  # the timer loop is woken: a pickup deadline now exists


def test_reports_of_one_tick_are_decided_together_and_committed_once() -> None:
    rig = Rig()
    rig.ready(ALICE, BOB)
    for n in range(1, 4):
        rig.arrive(n)
    assert len(rig.loop.ready) == 1  # one drain scheduled for the three reports
    rig.loop.tick()
    assert rig.trace.steps.count("commit") == 1 and rig.trace.steps.count("publish") == 1
    assert len(rig.store.commits[0]) == 3  # one write per decided report, one transaction
    offers = [rig.engine.agent(a).offer for a in (ALICE, BOB)]
    offered = {o.call_id for o in offers if o is not None}
    assert offered == {"c1", "c2"}  # the third caller waits in the queue
    assert [q.service_id for q in rig.engine.queues() if q.waiting] == [1]


def test_a_batch_holds_at_most_the_limit_and_the_rest_follows_in_the_same_drain() -> None:
    rig = Rig()
    for n in range(BATCH_LIMIT + 50):
        rig.arrive(n)
    rig.loop.tick()
    assert [len(c) for c in rig.store.commits] == [BATCH_LIMIT, 50]


def test_a_report_made_while_the_switch_acts_joins_the_next_batch() -> None:
    rig = Rig(auto_answer=True)
    rig.ready(ALICE)
    decided_during_act: list[bool] = []

    def phone_answers(action: TelephonyAction) -> None:
        if isinstance(action, RingAgent):
            before = rig.engine.agent(ALICE).status
            rig.pipeline.report(LegAnswered(action.leg_id))  # the switch reports at once
            # Not decided yet: the engine is never re-entered while its actions go out.
            decided_during_act.append(rig.engine.agent(ALICE).status != before)

    rig.switch.on_execute = phone_answers
    rig.arrive(1)
    rig.loop.tick()
    assert decided_during_act == [False]
    assert rig.trace.steps.count("commit") == 2  # the answer was its own, later batch
    connected = [e for w in rig.store.commits[1] for e in w if isinstance(e, ev.CallConnected)]
    assert [e.agent_id for e in connected] == [ALICE]
    assert rig.loop.ready == []  # drained within the same tick


def test_a_refused_command_changes_nothing_and_reaches_nobody() -> None:
    rig = Rig()
    with pytest.raises(CoreError):
        rig.pipeline.command(SetStatus(ALICE, AgentStatus.READY))  # not logged in
    assert rig.trace.steps == []


def test_a_command_whose_commit_fails_raises_before_anyone_is_told_or_anything_acts() -> None:
    rig = Rig()
    rig.ready(ALICE)
    rig.arrive(1)
    rig.loop.tick()
    assert rig.engine.agent(ALICE).offer is not None
    rig.store.fail = True
    rig.trace.steps.clear()
    with pytest.raises(RuntimeError):
        rig.pipeline.command(SetStatus(ALICE, AgentStatus.REST))
    assert rig.trace.steps == ["commit"]  # no publish, no switch action


def test_due_deadlines_run_through_the_same_path_with_the_injected_clock() -> None:
    rig = Rig()
    rig.ready(ALICE)
    rig.arrive(1)
    rig.loop.tick()
    deadline = rig.pipeline.next_deadline()
    assert deadline == pytest.approx(rig.now + 20.0)
    rig.trace.steps.clear()
    rig.pipeline.timers()  # nothing due yet
    assert rig.engine.agent(ALICE).status == AgentStatus.RINGING
    rig.now = deadline + 0.1
    rig.trace.steps.clear()
    rig.pipeline.timers()
    assert rig.engine.agent(ALICE).status == AgentStatus.REST  # the pickup time ran out
    assert rig.trace.steps == ["commit", "publish"]
    withdrawn = [e for w in rig.store.commits[-1] for e in w if isinstance(e, ev.OfferWithdrawn)]
    assert [e.reason for e in withdrawn] == ["pickup_timeout"]


def test_a_reconfiguration_republishes_the_agents_it_names() -> None:
    rig = Rig()
    rig.ready(ALICE)
    rig.pipeline.reconfigure(lambda engine, now: [], frozenset({BOB}))
    assert rig.feeds.published[-1].agents == {BOB}
    assert not any(isinstance(a, StartQueueMusic) for a in rig.switch.actions)
