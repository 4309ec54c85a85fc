"""Reports that add up: a scripted day through the real engine, recorder and database (SQLite
and PostgreSQL). Every offered call ends in exactly one outcome, so offered = the sum of the
outcomes per service and in total; each agent's offers, answers, missed and declined offers,
transfers made and received, talk, wrap-up and the time in each status are exact, also for a
call answered by one agent and transferred to another."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ringdesk.core.commands import ConnectToCustomer, CtiLogin, SetStatus, StartConsultation
from ringdesk.core.engine import Outcome
from ringdesk.core.events import AgentStatusChanged
from ringdesk.core.hours import Holiday, OpeningHours
from ringdesk.core.model import (
    AgentStatus,
    ClosedAction,
    FailureReason,
    MenuAction,
    MenuChoice,
    MenuConfig,
    OverflowAction,
    ServiceConfig,
)
from ringdesk.core.telephony import Originate, RingAgent, VoicemailRecorded
from ringdesk.store import models as m
from ringdesk.store import stats
from ringdesk.store.db import make_engine
from ringdesk.store.migrate import upgrade
from ringdesk.store.recorder import Recorder
from ringdesk.store.writer import EventWriter
from tests.support.postgres import PostgresCluster
from tests.unit.core.harness import ALICE, BOB, CAROL, SUPPORT, Desk

DAY = dt.date(2026, 3, 10)
T0 = dt.datetime(2026, 3, 10, 8, tzinfo=dt.UTC).timestamp()
SPAN = stats.span_bounds(DAY, DAY)
CLOSED_TODAY = OpeningHours("UTC", (), (Holiday("Closed", DAY, DAY),))
NIGHT, MENU, WEEKEND = 2, 3, 4
SERVICES = [
    replace(
        SUPPORT,
        callback_enabled=True,
        callback_max_attempts=1,
        max_wait_seconds=60.0,
        overflow_action=OverflowAction.HANG_UP_WITH_MESSAGE,
    ),
    ServiceConfig(id=NIGHT, name="Night", calling_numbers=frozenset(), hours=CLOSED_TODAY),
    ServiceConfig(id=MENU, name="Menu", calling_numbers=frozenset(), menu_id=1),
    ServiceConfig(
        id=WEEKEND,
        name="Weekend",
        calling_numbers=frozenset(),
        hours=CLOSED_TODAY,
        closed_action=ClosedAction.FORWARD,
        closed_number="+4930123",
    ),
]
MAIN = MenuConfig(
    id=1,
    name="Main",
    choices=(
        ("0", MenuChoice(MenuAction.HANG_UP)),
        ("*", MenuChoice(MenuAction.FORWARD, number="+4930999")),
        ("8", MenuChoice(MenuAction.VOICEMAIL, MENU)),
    ),
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('day')) / 'day.db'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.new_database()
    upgrade(url)
    made = make_engine(url)
    with Session(made) as db:
        db.add_all(m.Service(id=s.id, name=s.name) for s in SERVICES)
        db.add_all(
            m.User(
                id=uid,
                username=f"agent{uid}",
                name=name,
                role="agent",
                password_hash="x",
                created_at=0.0,
            )
            for uid, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"))
        )
        db.commit()
    try:
        yield made
    finally:
        made.dispose()


class RecordedDesk(Desk):
    """The harness's desk whose every outcome is committed by the real writer and recorder,
    one transaction per step, as the pipeline does."""

    def __init__(self, writer: EventWriter) -> None:
        super().__init__(services=SERVICES, menus=[MAIN])
        self.writer = writer
        self.now = T0

    def _record(self, out: Outcome) -> Outcome:
        self.writer.commit([out.events], raise_errors=True)
        return super()._record(out)

    def after(self, seconds: float) -> RecordedDesk:
        self.now += seconds
        return self

    def hang_up(self, leg: str) -> None:
        self.tel(self.phone.hung_up(leg))


def _day(desk: RecordedDesk) -> None:
    """The scripted day; the figures it must give are in the test."""
    desk.ready(ALICE)
    for agent in (BOB, CAROL):
        desk.reachable(agent)
        desk.do(CtiLogin(agent))
        desk.do(SetStatus(agent, AgentStatus.REST))
    # 1: Alice answers after 5 s, talks 60 s, wraps up 20 s.
    c1, k1 = desk.arrive()
    desk.after(5).connect(ALICE, c1)
    desk.after(60).hang_up(k1)
    desk.after(20).do(SetStatus(ALICE, AgentStatus.READY))
    # 2: offered to Alice, who misses it (pickup timeout: she goes to Rest); Bob answers.
    c2, k2 = desk.arrive()
    desk.do(SetStatus(BOB, AgentStatus.READY))
    desk.tick(desk.cti.pickup_seconds)
    assert desk.offered(BOB) == c2 and desk.status(ALICE) == "rest"
    desk.after(3).connect(BOB, c2)
    desk.after(50).hang_up(k2)
    desk.after(10).do(SetStatus(BOB, AgentStatus.REST))
    # 3: Alice answers, talks 30 s, consults Carol (4 s ringing, 6 s talking) and transfers
    # the call to her; Carol talks 40 s with the customer and wraps up 10 s.
    desk.do(SetStatus(ALICE, AgentStatus.READY))
    c3, k3 = desk.arrive()
    desk.after(2).connect(ALICE, c3)
    desk.after(30).do(SetStatus(CAROL, AgentStatus.READY))
    desk.do(StartConsultation(ALICE, c3, target_agent_id=CAROL))
    desk.after(4).tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    desk.after(6).do(ConnectToCustomer(ALICE, c3))
    desk.after(40).hang_up(k3)
    desk.after(10).do(SetStatus(CAROL, AgentStatus.REST))
    desk.after(5).do(SetStatus(ALICE, AgentStatus.READY))  # her wrap-up: 55 s since the transfer
    # 4: Alice talks 20 s, consults an outside number (5 s + 5 s), transfers the call there.
    c4, _ = desk.arrive()
    desk.after(4).connect(ALICE, c4)
    desk.after(20).do(StartConsultation(ALICE, c4, number="5557777"))
    desk.after(5).tel(desk.phone.answered(desk.phone.last(Originate).leg_id))
    desk.after(5).do(ConnectToCustomer(ALICE, c4))
    desk.after(10).do(SetStatus(ALICE, AgentStatus.REST))
    # 5: nobody Ready: the caller hangs up after 15 s. 6: waits the 60 s maximum: overflowed.
    _, k5 = desk.arrive()
    desk.after(15).hang_up(k5)
    desk.arrive()
    desk.tick(60.0)
    # 7: a callback asked for; Alice calls back, talks 45 s, wraps up 15 s.
    c7, k7 = desk.arrive("5550007")
    desk.after(10).key(k7, "11")
    desk.after(30).do(SetStatus(ALICE, AgentStatus.READY))
    desk.after(3).connect(ALICE, c7)
    dialled = desk.phone.last(Originate)
    desk.after(6).tel(desk.phone.answered(dialled.leg_id))
    desk.after(45).hang_up(dialled.leg_id)
    desk.after(15).do(SetStatus(ALICE, AgentStatus.REST))
    # 8: a callback whose customer never answers (one attempt allowed): failed.
    c8, k8 = desk.arrive("5550008")
    desk.after(10).key(k8, "11")
    desk.after(20).do(SetStatus(ALICE, AgentStatus.READY))
    desk.after(2).connect(ALICE, c8)
    dialled = desk.phone.last(Originate)
    desk.after(25).tel(desk.phone.failed(dialled.leg_id, FailureReason.NO_ANSWER))
    # 9: offered to Alice, who turns to Rest instead (declined); the caller gives up.
    c9, k9 = desk.arrive()
    assert desk.offered(ALICE) == c9
    desk.after(3).do(SetStatus(ALICE, AgentStatus.REST))
    desk.after(10).hang_up(k9)
    # Closed hours: the closed message (Night), forwarded to the closed number (Weekend).
    desk.arrive(service_id=NIGHT)
    desk.arrive(service_id=WEEKEND)
    # The menu: its hang-up choice, a forward outside, a voicemail.
    _, k = desk.arrive(service_id=MENU)
    desk.after(2).key(k, "0")
    _, k = desk.arrive(service_id=MENU)
    desk.after(2).key(k, "*")
    c, k = desk.arrive(service_id=MENU)
    desk.after(2).key(k, "8")
    desk.after(20).tel(VoicemailRecorded(k, f"voicemail/{c}.wav", 18.0))
    desk.hang_up(k)  # the switch hangs up after the message
    desk.after(100)


def _status_seconds(desk: Desk, agent_id: int, until: float) -> dict[str, float]:
    """The time in each status, from the engine's own status events (the expectation)."""
    changes = [
        e for e in desk.events if isinstance(e, AgentStatusChanged) and e.agent_id == agent_id
    ]
    times = dict.fromkeys(stats.STATUSES, 0.0)
    for change, following in zip(changes, [*changes[1:], None], strict=True):
        end = following.at if following is not None else until
        if change.status != AgentStatus.LOGGED_OUT:
            times[str(change.status)] += end - change.at
    return {status: round(seconds, 1) for status, seconds in times.items()}


OUTCOME_NAMES = ("callback_done", "callback_failed", *stats.OUTCOMES)


def _outcomes(figures: dict[str, Any]) -> dict[str, int]:
    return {name: figures[name] for name in OUTCOME_NAMES if figures[name]}


def test_a_mixed_day_adds_up_per_service_per_agent_and_in_total(engine: sa.Engine) -> None:
    with engine.begin() as conn:  # the module's database may hold an earlier parameter's day
        for table in (m.CallAgent, m.AgentStatusLog, m.Callback, m.CallRecord):
            conn.execute(sa.delete(table))
    desk = RecordedDesk(EventWriter(engine, Recorder()))
    _day(desk)

    with Session(engine) as db:
        services = {row["service_id"]: row for row in stats.per_service(db, *SPAN)}
        total = stats.overall(db, *SPAN)
        agents = {row["agent_id"]: row for row in stats.per_agent(db, *SPAN, now=desk.now)}

    support = services[1]
    assert _outcomes(support) == {
        "answered": 3,  # 1, 2 (after Alice missed it), 3 (Alice, then Carol)
        "transferred_out": 1,
        "abandoned": 2,  # 5, and 9 that Alice turned down
        "overflowed": 1,
        "callback_requested": 2,
        "callback_done": 1,
        "callback_failed": 1,
    }
    assert support["offered"] == 9
    assert _outcomes(services[NIGHT]) == {"closed": 1}
    assert _outcomes(services[WEEKEND]) == {"closed": 1}
    assert _outcomes(services[MENU]) == {"menu_ended": 2, "voicemail": 1}
    for figures in [*services.values(), total]:
        assert figures["offered"] == sum(figures[name] for name in stats.OUTCOMES), figures
    assert total["offered"] == 9 + 1 + 1 + 3
    assert total["avg_abandon_seconds"] == round((15 + 13) / 2, 1)

    alice, bob, carol = agents[ALICE], agents[BOB], agents[CAROL]
    assert {k: alice[k] for k in _COUNTS} == {
        "offered": 7,  # 1, 2, 3, 4, 7, 8, 9: every offer counts
        "answered": 4,  # 1, 3, 4 and the callback 7 (8's customer never answered)
        "missed": 1,  # 2
        "declined": 1,  # 9
        "transfers_made": 2,  # 3 to Carol, 4 to an outside number
        "transfers_received": 0,
        "outbound": 0,
        "outbound_connected": 0,
    }
    assert {k: bob[k] for k in _COUNTS} == {**_NONE, "offered": 1, "answered": 1}
    assert {k: carol[k] for k in _COUNTS} == {**_NONE, "transfers_received": 1}
    # Talk split at the transfer: Alice 30 + 4 + 6 s of call 3, Carol the 40 s after it.
    assert (alice["talk_seconds"], alice["avg_talk_seconds"]) == (60 + 40 + 30 + 45, 43.8)
    assert (bob["talk_seconds"], carol["talk_seconds"]) == (50, 40)
    # Wrap-up is the time in Ticket Processing: Alice's after 1, 3 (from the transfer), 4, 7.
    assert (alice["wrap_up_seconds"], bob["wrap_up_seconds"]) == (20 + 55 + 10 + 15, 10)
    assert carol["wrap_up_seconds"] == 10
    for uid, row in agents.items():
        expected = _status_seconds(desk, uid, desk.now)
        assert row["status_seconds"] == expected, uid
        assert row["logged_in_seconds"] == round(sum(expected.values()), 1)
        busy = row["talk_seconds"] + row["wrap_up_seconds"]
        assert row["occupancy"] == round(busy / row["logged_in_seconds"], 3)
    assert alice["status_seconds"]["ringing"] == 5 + 20 + 2 + 4 + 3 + 2 + 3

    # A day later nothing is counted, and the status still open counts within the span only.
    with Session(engine) as db:
        later = stats.span_bounds(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=1))
        next_day = {row["agent_id"]: row for row in stats.per_agent(db, *later, now=later[1])}
        assert stats.overall(db, *later)["offered"] == 0
    assert next_day[ALICE]["offered"] == 0
    assert next_day[ALICE]["status_seconds"]["rest"] == 86400.0  # in Rest all that day


_COUNTS = (
    "offered",
    "answered",
    "missed",
    "declined",
    "transfers_made",
    "transfers_received",
    "outbound",
    "outbound_connected",
)
_NONE = dict.fromkeys(_COUNTS, 0)
