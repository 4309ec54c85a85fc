"""Random sequences of clicks, switch reports and clock ticks must keep the engine's invariants."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ringdesk.core.callback import PendingCallback
from ringdesk.core.commands import (
    Answer,
    CancelConsultation,
    Command,
    ConnectToCustomer,
    CtiLogin,
    CtiLogout,
    Dial,
    EndCall,
    ForceDisconnect,
    Hold,
    MonitorCall,
    Resume,
    SetStatus,
    StartConsultation,
    StopMonitoring,
)
from ringdesk.core.errors import CoreError
from ringdesk.core.events import (
    CallbackAttempted,
    CallbackClosed,
    CallbackRequested,
    CallEnded,
    CallQueued,
    CallRouted,
    PhoneReachabilityChanged,
    TicketOpened,
)
from ringdesk.core.model import (
    AgentConfig,
    AgentStatus,
    CallState,
    CtiSettings,
    FailureReason,
    MenuAction,
    MenuChoice,
    MenuConfig,
    OverflowAction,
    Strategy,
)
from ringdesk.core.records import CallRecord
from ringdesk.core.telephony import (
    CallArrived,
    Originate,
    PhoneRegistered,
    RingAgent,
    VoicemailRecorded,
)

from .harness import SALES, SUPPORT, Desk

AGENT_IDS = (1, 2, 3)
AGENTS = [
    AgentConfig(1, "Alice Martin", "1001", "1001", frozenset({1})),
    AgentConfig(2, "Bob Chen", "1002", "1002", frozenset({1, 2})),
    AgentConfig(3, "Carol Diaz", "1003", "1003", frozenset({2})),
]
CHOSEN = (AgentStatus.BUSINESS, AgentStatus.READY, AgentStatus.REST)
MENUS = (
    MenuConfig(
        1,
        "Main",
        (
            ("1", MenuChoice(MenuAction.QUEUE, 1)),
            ("2", MenuChoice(MenuAction.QUEUE, 2)),
            ("3", MenuChoice(MenuAction.MENU, 2)),
            ("8", MenuChoice(MenuAction.VOICEMAIL, 1)),
            ("9", MenuChoice(MenuAction.REPEAT)),
            ("0", MenuChoice(MenuAction.HANG_UP)),
        ),
        timeout_seconds=5.0,
        max_tries=2,
        fallback=MenuChoice(MenuAction.QUEUE, 1),
    ),
    MenuConfig(2, "Billing", (("1", MenuChoice(MenuAction.QUEUE, 2)),), max_tries=1),
)
TALKING_STATES = {"talking", "on_hold", "consulting"}
# How a queued caller answers the callback offer (1 first): confirm the own number, key
# another one, keep waiting, key an unusable one (asked again), or nothing more (timeouts).
CALLBACK_KEYS = {
    "own": "1",
    "other": "25559876#1",
    "star": "*",
    "bad": "20900#",
    "half": "",
}


class CallCenter(RuleBasedStateMachine):
    desk: Desk

    @initialize(
        strategy=st.sampled_from(list(Strategy)),
        wrap_up=st.sampled_from([None, 30.0]),
        timeout_status=st.sampled_from(CHOSEN),
        ticket_on_dial=st.booleans(),
        overflow=st.sampled_from(list(OverflowAction)),
        ready=st.lists(st.sampled_from(AGENT_IDS), unique=True),
        menus=st.booleans(),
        callbacks=st.booleans(),
        restored=st.integers(0, 2),
    )
    def start(
        self,
        strategy: Strategy,
        wrap_up: float | None,
        timeout_status: AgentStatus,
        ticket_on_dial: bool,
        overflow: OverflowAction,
        ready: list[int],
        menus: bool = True,
        callbacks: bool = True,
        restored: int = 0,
    ) -> None:
        cti = CtiSettings(
            pickup_seconds=20,
            wrap_up_seconds=wrap_up,
            pickup_timeout_status=timeout_status,
            outbound_ticket_on_dial=ticket_on_dial,
            max_missed_offers=2,
        )
        support = replace(
            SUPPORT,
            strategy=strategy,
            max_wait_seconds=45,
            overflow_action=overflow,
            overflow_number="5559000",
        )
        self.support = support
        # Sales' number leads to a menu (to either queue, a submenu, or goodbye); Support's
        # callers hear their position every 30 s.
        sales = replace(SALES, menu_id=1) if menus else SALES
        if menus:
            support = replace(support, announce_position=True, announce_every_seconds=30.0)
        if callbacks:
            # Support's callbacks are tried twice, 30 s apart; Sales' three times, 60 s apart.
            support = replace(
                support, callback_enabled=True, callback_retry_seconds=30, callback_max_attempts=2
            )
            sales = replace(sales, callback_enabled=True, callback_retry_seconds=60)
        self.support = support
        self.desk = Desk(cti, [support, sales], list(AGENTS), menus=list(MENUS))
        self.reachable = {a: False for a in AGENT_IDS}
        self.strategy = strategy
        # Callbacks kept over a restart come back before anything else (store/recovery.py);
        # the second in its retry delay after an attempt.
        self.restored: list[str] = []
        self.first_attempts: dict[str, int] = {}  # attempts a restored callback came back with
        for n in range(restored):
            pending = PendingCallback(
                f"restored{n}",
                1 + n % 2,
                "5551234",
                "5550100",
                "5558000",
                self.desk.now - 100,
                self.desk.now - 90,
                attempts=n,
                next_try_at=self.desk.now + 25 if n else None,
            )
            self.desk.engine.restore_callback(pending)
            self.restored.append(pending.call_id)
            self.first_attempts[pending.call_id] = n
        # What the events and actions said so far, tallied as they come (_tally).
        self.joined: list[str] = list(self.restored)  # queue joins in order, restored first
        self.ended: set[str] = set()
        self.booked: set[str] = set(self.restored)
        self.attempted: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()
        self.placed: dict[str, list[Originate]] = {}
        self.came: list[str] = []
        self._tallied = (0, 0, 0)
        for agent in ready:
            self.gets_ready(agent)

    # ---- inputs -----------------------------------------------------------------------------
    def _snapshot(self) -> object:
        engine = self.desk.engine
        return (engine.agents(), engine.calls(), engine.queues(), engine.next_deadline())

    def _call_id(self, pick: int) -> str:
        ids = [*sorted(c.call_id for c in self.desk.engine.calls()), "no-such-call"]
        return ids[pick % len(ids)]

    def _try(self, command: Command) -> None:
        before = self._snapshot()
        actions = len(self.desk.phone.actions)
        events = len(self.desk.events)
        try:
            self.desk.do(command)
        except CoreError:
            assert self._snapshot() == before, f"{command} failed but changed state"
            assert len(self.desk.phone.actions) == actions
            assert len(self.desk.events) == events

    @rule(agent=st.sampled_from(AGENT_IDS), status=st.sampled_from(CHOSEN))
    def set_status(self, agent: int, status: AgentStatus) -> None:
        self._try(SetStatus(agent, status))

    @rule(agent=st.sampled_from(AGENT_IDS))
    def gets_ready(self, agent: int) -> None:
        """Phone registered, CTI Login (if needed), Ready: the common path, made likely."""
        self.phone_registration(agent, True)
        if self.desk.engine.agent(agent).status == "logged_out":
            self._try(CtiLogin(agent))
        self._try(SetStatus(agent, AgentStatus.READY))

    @rule(agent=st.sampled_from(AGENT_IDS), login=st.booleans())
    def login_or_out(self, agent: int, login: bool) -> None:
        self._try(CtiLogin(agent) if login else CtiLogout(agent))

    @rule(agent=st.sampled_from(AGENT_IDS), pick=st.integers(0, 5))
    def answer(self, agent: int, pick: int) -> None:
        offer = self.desk.engine.agent(agent).offer
        call_id = offer.call_id if offer and pick < 4 else self._call_id(pick)
        self._try(Answer(agent, call_id))

    def _busy_agent(self, pick: int, ringing: bool) -> int:
        """Prefer an agent with an offer (or a call), so the deeper states are reached often."""
        views = self.desk.engine.agents()
        busy = [v.agent_id for v in views if (v.offer if ringing else v.call) is not None]
        return busy[pick % len(busy)] if busy else AGENT_IDS[pick % len(AGENT_IDS)]

    def _any_offer(self) -> bool:
        return any(v.offer is not None for v in self.desk.engine.agents())

    def _any_call(self) -> bool:
        return any(v.call is not None for v in self.desk.engine.agents())

    @precondition(lambda self: self._any_offer())
    @rule(pick=st.integers(0, 5))
    def answer_and_pick_up(self, pick: int) -> None:
        """Answer an offer and let the phone auto-answer: the common path, made likely."""
        agent = self._busy_agent(pick, ringing=True)
        offer = self.desk.engine.agent(agent).offer
        if offer is None:
            return
        self._try(Answer(agent, offer.call_id))
        self.newest_leg_answers()

    @precondition(lambda self: self._any_call())
    @rule()
    def newest_leg_answers(self) -> None:
        """The leg the engine asked for last picks up (agent phone, customer, consultation)."""
        legs = [a.leg_id for a in self.desk.phone.actions if isinstance(a, RingAgent | Originate)]
        live = [leg for leg in legs if leg in self.desk.phone.live_legs]
        if live:
            self.desk.tel(self.desk.phone.answered(live[-1]))

    @rule(
        agent=st.sampled_from(AGENT_IDS),
        service=st.sampled_from([1, 2]),
        calling=st.sampled_from(["5550100", "5550200", "5550999"]),
    )
    def dial(self, agent: int, service: int, calling: str) -> None:
        self._try(Dial(agent, service, "5551234", calling))

    @rule(
        agent=st.sampled_from(AGENT_IDS),
        pick=st.integers(0, 5),
        kind=st.sampled_from(
            [Hold, Resume, ConnectToCustomer, CancelConsultation, ForceDisconnect, EndCall]
        ),
    )
    def call_button(self, agent: int, pick: int, kind: type[Hold]) -> None:
        if pick < 3:
            agent = self._busy_agent(pick, ringing=False)
        view = self.desk.engine.agent(agent).call
        call_id = view.call_id if view and pick < 4 else self._call_id(pick)
        self._try(kind(agent, call_id))

    @precondition(lambda self: self._any_call())
    @rule(
        pick=st.integers(0, 5),
        kind=st.sampled_from(
            [Hold, Resume, ConnectToCustomer, CancelConsultation, ForceDisconnect, EndCall]
        ),
    )
    def button_during_a_call(self, pick: int, kind: type[Hold]) -> None:
        self.call_button(self._busy_agent(pick, ringing=False), 0, kind)

    @precondition(lambda self: self._any_call())
    @rule(
        agent=st.sampled_from(AGENT_IDS),
        to=st.sampled_from([None, 1, 2, 3]),
        number=st.sampled_from(["5557777", "1001", "1002", "1003"]),
    )
    def consult(self, agent: int, to: int | None, number: str) -> None:
        agent = self._busy_agent(agent, ringing=False)
        view = self.desk.engine.agent(agent).call
        call_id = view.call_id if view else "no-such-call"
        if to is None:
            self._try(StartConsultation(agent, call_id, number=number))
        else:
            self._try(StartConsultation(agent, call_id, target_agent_id=to))

    @rule(service=st.sampled_from([1, 2]), caller=st.sampled_from(["5551234", "anonymous"]))
    def call_arrives(self, service: int, caller: str = "5551234") -> None:
        self.desk.arrive(caller, service_id=service)

    def _offered_a_callback(self) -> list[CallRecord]:
        """Queued callers who hear the callback offer (their service has callbacks)."""
        services = self.desk.engine._state.services
        return sorted(
            (
                c
                for c in self._calls()
                if c.state is CallState.QUEUED
                and c.customer_leg is not None
                and services[c.service_id].callback_enabled
            ),
            key=lambda c: c.id,
        )

    @precondition(lambda self: self._offered_a_callback())
    @rule(pick=st.integers(0, 20), how=st.sampled_from(sorted(CALLBACK_KEYS)))
    def caller_asks_for_a_callback(self, pick: int, how: str) -> None:
        """1 in the queue, then the rest of a way through the setup (CALLBACK_KEYS)."""
        callers = self._offered_a_callback()
        if not callers:
            return
        leg = callers[pick % len(callers)].customer_leg
        assert leg is not None
        self.desk.key(leg, "1")
        for digit in CALLBACK_KEYS[how]:
            if leg not in self.desk.engine._state.legs:
                break  # booked, or back in the queue with *: the rest is no setup key
            self.desk.key(leg, digit)

    def _dialled_customers(self) -> list[str]:
        """The customer legs of callbacks being dialled now."""
        return sorted(
            c.customer_leg
            for c in self._calls()
            if c.callback is not None
            and c.state is CallState.DIALING
            and c.customer_leg is not None
        )

    @precondition(lambda self: self._dialled_customers())
    @rule(
        pick=st.integers(0, 5),
        what=st.sampled_from(["answered", "answered", "failed", "hung_up"]),
        reason=st.sampled_from(list(FailureReason)),
    )
    def called_back_customer_reports(self, pick: int, what: str, reason: FailureReason) -> None:
        """The customer a callback rings picks up, does not answer (busy...), or declines."""
        legs = self._dialled_customers()
        if not legs:
            return
        leg = legs[pick % len(legs)]
        phone = self.desk.phone
        if what == "answered":
            self.desk.tel(phone.answered(leg))
        elif what == "failed":
            self.desk.tel(phone.failed(leg, reason))
        else:
            self.desk.tel(phone.hung_up(leg))

    def _customer_leg(self, pick: int) -> str | None:
        legs = sorted(c.customer_leg for c in self._calls() if c.customer_leg is not None)
        return legs[pick % len(legs)] if legs else None

    def _calls(self) -> list[CallRecord]:
        return list(self.desk.engine._state.calls.values())  # peeked: legs are not in views

    @rule(pick=st.integers(0, 20), digit=st.sampled_from("0123456789*#"))
    def caller_presses(self, pick: int, digit: str) -> None:
        leg = self._customer_leg(pick)
        if leg is not None:
            self.desk.key(leg, digit)

    @rule(pick=st.integers(0, 20), seconds=st.sampled_from([0.5, 12.0]))
    def message_recorded(self, pick: int, seconds: float) -> None:
        leg = self._customer_leg(pick)
        if leg is not None:
            self.desk.tel(VoicemailRecorded(leg, "voicemail/x.wav", seconds))

    @rule(pick=st.integers(0, 20))
    def prompt_finishes(self, pick: int) -> None:
        leg = self._customer_leg(pick)
        if leg is not None:
            self.desk.tel(self.desk.phone.playback_finished(leg))

    @rule(
        pick=st.integers(0, 20),
        what=st.sampled_from(["answered", "hung_up", "failed", "ringing"]),
        reason=st.sampled_from(list(FailureReason)),
    )
    def switch_reports(self, pick: int, what: str, reason: FailureReason) -> None:
        legs = sorted(self.desk.phone.live_legs)
        if not legs:
            return
        leg = legs[pick % len(legs)]
        phone = self.desk.phone
        if what == "answered":
            event = phone.answered(leg)
        elif what == "hung_up":
            event = phone.hung_up(leg)
        elif what == "failed":
            event = phone.failed(leg, reason)
        else:
            event = phone.ringing(leg)
        self.desk.tel(event)

    @rule(
        agent=st.sampled_from(AGENT_IDS),
        pick=st.integers(0, 5),
        mode=st.sampled_from(["listen", "whisper", "barge", "stop"]),
    )
    def supervisor_monitors(self, agent: int, pick: int, mode: str) -> None:
        """A colleague listens, whispers, barges or stops on a call (the board's buttons);
        mostly a talking call and a free colleague whose phone is up, so it often succeeds."""
        call_id = self._call_id(pick)
        talking = [c for c in self.desk.engine.calls() if c.state == "talking"]
        if talking and pick < 4:
            call = talking[pick % len(talking)]
            call_id = call.call_id
            free = [
                a
                for a in AGENT_IDS
                if a != call.agent_id
                and self.reachable[a]
                and self.desk.engine.agent(a).call is None
                and self.desk.engine.agent(a).offer is None
            ]
            if free and mode != "stop":
                agent = free[pick % len(free)]
            elif call.monitor_supervisor_id is not None:
                agent = call.monitor_supervisor_id
        if mode == "stop":
            self._try(StopMonitoring(agent, call_id))
            return
        rings = len(self.desk.phone.of_type(RingAgent))
        self._try(MonitorCall(agent, call_id, mode))
        ring = self.desk.phone.of_type(RingAgent)[rings:]
        if ring and pick % 2 == 0:  # the supervisor's phone answers by itself (mostly)
            self.desk.tel(self.desk.phone.answered(ring[-1].leg_id))

    @rule(agent=st.sampled_from(AGENT_IDS), reachable=st.booleans(), by_event=st.booleans())
    def phone_registration(self, agent: int, reachable: bool, by_event: bool = False) -> None:
        """The switch's PhoneRegistered event by CTI id, or set_phone_reachable by agent id."""
        was = self.reachable[agent]
        self.reachable[agent] = reachable
        if by_event:
            cti_id = AGENTS[agent - 1].cti_id
            assert cti_id is not None
            out = self.desk.tel(PhoneRegistered(cti_id, reachable))
        else:
            out = self.desk.reachable(agent, reachable)
        changes = [e for e in out.events if isinstance(e, PhoneReachabilityChanged)]
        now = self.desk.now
        assert changes == (
            [] if was == reachable else [PhoneReachabilityChanged(agent, reachable, now)]
        )

    @rule(seconds=st.sampled_from([1.0, 5.0, 20.0, 60.0]))
    def time_passes(self, seconds: float) -> None:
        self.desk.tick(seconds)

    @rule(strategy=st.sampled_from(list(Strategy)))
    def admin_changes_strategy(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.support = replace(self.support, strategy=strategy)
        self.desk.service(self.support)

    @rule(wrap_up=st.sampled_from([None, 0.0, 10.0]))
    def admin_changes_wrap_up(self, wrap_up: float | None) -> None:
        self.desk.settings(wrap_up_seconds=wrap_up)

    @rule(agent=st.sampled_from(AGENT_IDS), services=st.sampled_from([{1}, {2}, {1, 2}, set()]))
    def admin_changes_phone_permission(self, agent: int, services: set[int]) -> None:
        config = replace(AGENTS[agent - 1], services=frozenset(services))
        self.desk._record(self.desk.engine.upsert_agent(config, self.desk.now))

    # ---- invariants -------------------------------------------------------------------------
    @invariant()
    def no_agent_in_two_calls(self) -> None:
        seen: Counter[int] = Counter()
        for call in self.desk.engine.calls():
            for agent in (call.agent_id, call.consult_agent_id):
                if agent is not None:
                    seen[agent] += 1
                    view = self.desk.engine.agent(agent)
                    assert view.call is not None and view.call.call_id == call.call_id
        assert all(n == 1 for n in seen.values()), seen

    @invariant()
    def connected_calls_have_an_agent_on_call(self) -> None:
        for call in self.desk.engine.calls():
            if call.state in TALKING_STATES or call.state in ("connecting", "dialing"):
                assert call.agent_id is not None
                status = self.desk.engine.agent(call.agent_id).status
                assert status in {"on_call", "on_hold", "on_call_transfer", "dialing"}, status

    @invariant()
    def each_call_ends_once_and_ticketed_calls_end(self) -> None:
        ended = Counter(e.call_id for e in self.desk.of(CallEnded))
        assert all(n == 1 for n in ended.values()), ended
        live = {c.call_id for c in self.desk.engine.calls()}
        for ticket in self.desk.of(TicketOpened):
            assert ticket.call_id in live or ended[ticket.call_id] == 1

    @invariant()
    def no_ready_agent_idles_while_a_call_waits(self) -> None:
        for queue in self.desk.engine.queues():
            ring_all = queue.service_id == 1 and self.strategy is Strategy.RING_ALL
            waiting = ("queued", "offered") if ring_all else ("queued",)
            if not any(c.state in waiting for c in queue.waiting):
                continue
            for agent in AGENT_IDS:
                view = self.desk.engine.agent(agent)
                free = view.status == "ready" and self.reachable[agent]
                assert not (free and queue.service_id in view.services), (agent, queue)

    @invariant()
    def the_view_shows_whether_the_phone_is_reachable(self) -> None:
        for view in self.desk.engine.agents():
            assert view.phone_reachable == self.reachable[view.agent_id], view

    @invariant()
    def shown_status_matches_offer_and_call(self) -> None:
        for view in self.desk.engine.agents():
            assert (view.status == "ringing") == (view.offer is not None)
            in_call = view.status in {"on_call", "on_hold", "on_call_transfer", "dialing"}
            # A logged-in supervisor listening to a call is On Call too (logged out, they may
            # listen with no status at all).
            listening = view.monitoring is not None and view.status != "logged_out"
            assert in_call == (view.call is not None or listening)
            if view.status == "logged_out":
                assert view.chosen == "logged_out"
            else:
                assert view.chosen in {"business", "ready", "rest"}

    @invariant()
    def the_handling_agent_hears_music_only_while_the_consulted_agent_holds(self) -> None:
        """A consultation put on hold by its target plays the music to the handling agent's
        leg, and nothing else leaves an agent's leg with music (Connect, Cancel, End, a hang-up
        stop it); a held consultation is an answered one, and its target shows On Hold."""
        music = self.desk.phone.music
        for call in self.desk.engine._state.calls.values():  # peeked: legs are not in views
            consult = call.consult
            held = consult is not None and consult.held
            if call.agent_leg is not None:
                assert (call.agent_leg in music) == held, (call, music)
            if consult is not None and consult.agent_id is not None:
                assert consult.leg_id not in music, (call, music)
                if held:
                    assert consult.answered
                    assert self.desk.engine.agent(consult.agent_id).status == "on_hold"

    @invariant()
    def a_supervisor_is_only_on_a_live_call_in_progress(self) -> None:
        """Monitoring lasts only while its call talks (customer and agent), one supervisor per
        call, one call per supervisor, never their own."""
        state = self.desk.engine._state  # peeked: monitors are not in the views but the calls'
        on: Counter[int] = Counter()
        for call_id, record in state.monitors.items():
            call = state.calls[call_id]
            assert call.state.value == "talking" and call.customer_leg and call.agent_leg, call
            assert record.supervisor_id != call.agent_id
            assert state.agents[record.supervisor_id].monitoring == call_id
            assert state.monitor_legs[record.leg_id] == call_id
            on[record.supervisor_id] += 1
        assert all(n == 1 for n in on.values()), on
        for agent in state.agents.values():
            if agent.monitoring is not None:
                assert state.monitors[agent.monitoring].supervisor_id == agent.config.id

    @invariant()
    def no_leg_is_left_up_after_its_call(self) -> None:
        """Every leg still up belongs to a live call, or to two legs left bridged on purpose."""
        live = {c.call_id for c in self.desk.engine.calls()}
        relays = self.desk.engine._state.relays  # legs bridged after their call left (peeked)
        for leg, call_id in self.desk.phone.live_legs.items():
            assert call_id in live or leg in relays, (leg, call_id)

    def _tally(self) -> None:
        """Take in the events, actions and switch reports since the last look."""
        events, actions, emitted = self._tallied
        desk = self.desk
        for event in desk.events[events:]:
            if isinstance(event, CallQueued):
                self.joined.append(event.call_id)
            elif isinstance(event, CallEnded):
                self.ended.add(event.call_id)
            elif isinstance(event, CallbackRequested):
                self.booked.add(event.call_id)
            elif isinstance(event, CallbackAttempted):
                self.attempted[event.call_id] += 1
            elif isinstance(event, CallbackClosed):
                self.closed[event.call_id] += 1
        for action in desk.phone.actions[actions:]:
            if isinstance(action, Originate):
                self.placed.setdefault(action.call_id, []).append(action)
        for report in desk.phone.emitted[emitted:]:
            if isinstance(report, CallArrived):
                self.came.append(report.call_id)
        self._tallied = (len(desk.events), len(desk.phone.actions), len(desk.phone.emitted))

    def _timer_live(self, token: int) -> bool:
        return token != 0 and token in self.desk.engine._state.timers._live  # peeked

    @invariant()
    def callers_are_never_lost(self) -> None:
        """Every caller and callback is in exactly one place: waiting in its service's queue
        (once), ringing agents, connecting or dialling with one, in a menu or the callback
        setup with a timer to end it, in a callback's retry delay with its timer, talking, or
        leaving a message; and every call that came (or came back after a restart) is either
        still there or has ended, once."""
        s = self.desk.engine._state  # peeked: the engine's own queues, legs and timers
        members = {sid: set(q.ordered()) for sid, q in s.queues.items()}
        in_queues = Counter(cid for ids in members.values() for cid in ids)
        assert all(n == 1 for n in in_queues.values()), in_queues
        for call in self._calls():
            queued_in = [sid for sid, ids in members.items() if call.id in ids]
            state = call.state
            if state is CallState.QUEUED:
                assert queued_in == [call.service_id], (call, queued_in)
                assert not call.offered_to and call.agent_id is None, call
                continue
            assert queued_in == [], (call, queued_in)
            if call.direction != "inbound":
                continue
            if state is CallState.OFFERED:
                assert call.offered_to, call
                assert all(s.agents[a].offer == call.id for a in call.offered_to), call
            elif state is CallState.CONNECTING:
                assert call.agent_id is not None and s.agents[call.agent_id].call_id == call.id
            elif state is CallState.DIALING:  # a callback: its customer is rung
                assert call.callback is not None and call.agent_id is not None, call
                assert call.customer_leg is not None and call.agent_leg is not None, call
            elif state in (CallState.IN_MENU, CallState.CALLBACK_SETUP):
                assert self._timer_live(call.flow_timer), call
                assert call.customer_leg in s.legs, call
                if state is CallState.IN_MENU:
                    assert call.menu_id in s.menus, call
            elif state is CallState.CALLBACK_WAIT:
                info = call.callback
                assert info is not None and info.next_try_at is not None, call
                assert self._timer_live(call.flow_timer), call
                assert call.agent_id is None and call.customer_leg is None, call
                assert call.agent_leg is None and not call.offered_to, call
            elif state is CallState.VOICEMAIL:
                assert call.customer_leg is not None, call
            else:
                assert state.value in TALKING_STATES and call.connected_at is not None, call
        self._tally()
        for call_id in (*self.restored, *self.came):
            assert (call_id in s.calls) != (call_id in self.ended), call_id

    @invariant()
    def queues_are_first_come_first_served(self) -> None:
        """Each service's queue, calls and callbacks alike, is in the order they joined it (a
        restored callback before any new call): none jumps ahead, none loses its place by asking
        for a callback, keeping on waiting, or being tried again."""
        s = self.desk.engine._state
        self._tally()
        order = {call_id: n for n, call_id in enumerate(self.joined)}
        assert len(order) == len(self.joined), self.joined
        for sid, queue in s.queues.items():
            ids = queue.ordered()
            assert [order[c] for c in ids] == sorted(order[c] for c in ids), (sid, ids)
            assert [s.calls[c].seq for c in ids] == sorted(s.calls[c].seq for c in ids)
            head = queue.peek()
            assert head == (None if not ids else (s.calls[ids[0]].seq, ids[0])), (head, ids)
        view = [c.call_id for q in self.desk.engine.queues() for c in q.waiting]
        seqs = [s.calls[c].seq for c in view]
        assert len(seqs) == len(set(seqs)), view

    @invariant()
    def a_callback_rings_one_customer_leg_at_a_time(self) -> None:
        """No double dialling: a callback has at most one customer leg up (placed and not ended)
        and only while dialled or talking; each attempt placed exactly one leg."""
        live = self.desk.phone.live_legs
        self._tally()
        for call in self._calls():
            info = call.callback
            if info is None:
                continue
            legs = [o for o in self.placed.get(call.id, []) if o.number == info.number]
            up = [o.leg_id for o in legs if o.leg_id in live]
            assert len(up) <= 1, (call, up)
            dialled = call.state is CallState.DIALING or call.connected_at is not None
            assert dialled or (up == [] and call.customer_leg is None), (call, up)
            assert call.customer_leg is None or call.customer_leg == legs[-1].leg_id, call
            first = self.first_attempts.get(call.id, 0)
            assert len(legs) == self.attempted[call.id] == info.attempts - first, (call, legs)
        assert all(n == 1 for n in self.closed.values()), self.closed
        assert set(self.closed) == self.booked & self.ended, (self.closed, self.booked)

    @invariant()
    def pending_offers_have_a_deadline(self) -> None:
        offers = [v.offer.expires_at for v in self.desk.engine.agents() if v.offer]
        if offers:
            deadline = self.desk.engine.next_deadline()
            assert deadline is not None and deadline <= min(offers)


CallCenter.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCallCenter = CallCenter.TestCase


def _random_step(machine: CallCenter, rng: random.Random) -> None:
    """One rule of the machine with random arguments (same rules, long deterministic walks)."""
    agent = rng.choice(AGENT_IDS)
    buttons = [Hold, Resume, ConnectToCustomer, CancelConsultation, ForceDisconnect, EndCall]
    steps: list[Callable[[], None]] = [
        lambda: machine.set_status(agent, rng.choice(CHOSEN)),
        lambda: machine.login_or_out(agent, rng.random() < 0.7),
        lambda: machine.gets_ready(agent),
        lambda: machine.answer(agent, rng.randrange(6)),
        lambda: machine.dial(agent, rng.choice([1, 2]), rng.choice(["5550100", "5550999"])),
        lambda: machine.call_button(agent, rng.randrange(6), rng.choice(buttons)),
        lambda: machine.consult(
            agent, rng.choice([None, 1, 2, 3]), rng.choice(["5557777", "1001", "1002"])
        ),
        lambda: machine.call_arrives(rng.choice([1, 2]), rng.choice(["5551234", "anonymous"])),
        lambda: machine.caller_presses(rng.randrange(20), rng.choice("0123456789*#")),
        lambda: machine.prompt_finishes(rng.randrange(20)),
        lambda: machine.message_recorded(rng.randrange(20), rng.choice([0.5, 12.0])),
        lambda: machine.switch_reports(
            rng.randrange(20),
            rng.choice(["answered", "hung_up", "failed", "ringing"]),
            rng.choice(list(FailureReason)),
        ),
        lambda: machine.phone_registration(agent, rng.random() < 0.8, rng.random() < 0.5),
        lambda: machine.time_passes(rng.choice([1.0, 5.0, 20.0, 60.0])),
        lambda: machine.newest_leg_answers(),
        lambda: machine.admin_changes_strategy(rng.choice(list(Strategy))),
        lambda: machine.admin_changes_wrap_up(rng.choice([None, 0.0, 10.0])),
        lambda: machine.admin_changes_phone_permission(
            agent, rng.choice([{1}, {2}, {1, 2}, set()])
        ),
    ]
    if machine._any_offer():
        steps.append(lambda: machine.answer_and_pick_up(rng.randrange(6)))
    if machine._offered_a_callback():
        how = rng.choice(sorted(CALLBACK_KEYS))
        steps.append(lambda: machine.caller_asks_for_a_callback(rng.randrange(20), how))
    if machine._dialled_customers():
        what = rng.choice(["answered", "answered", "failed", "hung_up"])
        reason = rng.choice(list(FailureReason))
        steps.append(lambda: machine.called_back_customer_reports(rng.randrange(6), what, reason))
    if machine._any_call():
        steps.append(lambda: machine.button_during_a_call(rng.randrange(6), rng.choice(buttons)))
    rng.choice(steps)()


def test_long_random_walks_keep_the_invariants() -> None:
    """Hypothesis explores short sequences well; these seeded walks reach deep call states."""
    invariants = [
        CallCenter.no_agent_in_two_calls,
        CallCenter.connected_calls_have_an_agent_on_call,
        CallCenter.each_call_ends_once_and_ticketed_calls_end,
        CallCenter.no_ready_agent_idles_while_a_call_waits,
        CallCenter.shown_status_matches_offer_and_call,
        CallCenter.pending_offers_have_a_deadline,
        CallCenter.no_leg_is_left_up_after_its_call,
        CallCenter.callers_are_never_lost,
        CallCenter.queues_are_first_come_first_served,
        CallCenter.a_callback_rings_one_customer_leg_at_a_time,
        CallCenter.the_handling_agent_hears_music_only_while_the_consulted_agent_holds,
    ]
    seen: Counter[str] = Counter()
    for seed in range(60):
        rng = random.Random(seed)
        machine = CallCenter()
        machine.start(
            strategy=rng.choice(list(Strategy)),
            wrap_up=rng.choice([None, 30.0]),
            timeout_status=rng.choice(CHOSEN),
            ticket_on_dial=rng.random() < 0.5,
            overflow=rng.choice(list(OverflowAction)),
            ready=[a for a in AGENT_IDS if rng.random() < 0.7],
            menus=rng.random() < 0.7,
            callbacks=rng.random() < 0.7,
            restored=rng.randrange(3),
        )
        for _ in range(300):
            _random_step(machine, rng)
            for check in invariants:
                check(machine)
        seen.update(type(e).__name__ for e in machine.desk.events)
        # The callback's ways: timeouts in the setup, * back to waiting, retries due.
        seen.update(e.detail for e in machine.desk.events if isinstance(e, CallRouted))
    # the walks must really reach the deep states, or they prove nothing
    kinds: tuple[str, ...] = (
        "CallConnected",
        "CallHeld",
        "ConsultationAnswered",
        "CallTransferred",
        "CallRouted",
    )
    kinds = (*kinds, "VoicemailLeft", "CallbackRequested", "CallbackAttempted")
    kinds = (*kinds, "CallbackAttemptFailed", "CallbackClosed")
    kinds = (*kinds, "No callback confirmed", "Kept waiting", "Callback queued again")
    for kind in (*kinds, "ConsultationHeld", "ConsultationResumed"):
        assert seen[kind] > 0, (kind, seen)
