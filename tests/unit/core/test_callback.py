"""Queued callback (core/callback.py): a waiting caller presses 1, confirms or keys a number, hangs
up and keeps their place; an agent's Answer calls the customer back, tried again when nobody
answers."""

from __future__ import annotations

from dataclasses import replace

from ringdesk.core.callback import PROMPT_LIMIT, SETUP_TIMEOUT
from ringdesk.core.commands import Answer, EndCall, SetStatus
from ringdesk.core.engine import PendingCallback
from ringdesk.core.events import (
    CallbackAttempted,
    CallbackAttemptFailed,
    CallbackClosed,
    CallbackRequested,
    CallConnected,
    CallEnded,
    CallFailed,
    CallOffered,
    CallRouted,
    OfferWithdrawn,
    TicketOpened,
)
from ringdesk.core.model import (
    AgentStatus,
    CallOutcome,
    FailureReason,
    OverflowAction,
)
from ringdesk.core.prompts import Say, Sound
from ringdesk.core.telephony import (
    AfterPrompt,
    Bridge,
    HangUp,
    Originate,
    PlayPrompt,
    PlayThenHangUp,
    RingAgent,
    StartQueueMusic,
)

from .harness import AGENTS, ALICE, BOB, CAROL, SALES, SUPPORT, Desk

CALLER = "5551234"  # Desk.arrive's default caller
SAY_9876 = Say("We will call you back at 5, 5, 5, 9, 8, 7, 6.")
CONFIRM = (Say("We will call you back at 5, 5, 5, 1, 2, 3, 4."), Sound("callback_confirm.1"))
ASK = (Sound("callback_number.1"),)
BOOKED = (Sound("callback_booked.1"),)


def _desk(**changes: object) -> Desk:
    support = replace(SUPPORT, callback_enabled=True, **changes)  # type: ignore[arg-type]
    return Desk(services=[support, SALES])


def _prompts(desk: Desk, leg: str) -> list[PlayPrompt]:
    return [p for p in desk.phone.of_type(PlayPrompt) if p.leg_id == leg]


def _originates(desk: Desk, call_id: str) -> list[Originate]:
    return [o for o in desk.phone.of_type(Originate) if o.call_id == call_id]


def _state(desk: Desk, call_id: str) -> str:
    return desk.engine.call(call_id).state


def _queue(desk: Desk, service_id: int = 1) -> list[str]:
    """The call ids waiting in the service's queue view, oldest first."""
    view = next(q for q in desk.engine.queues() if q.service_id == service_id)
    return [c.call_id for c in view.waiting]


def _book(desk: Desk, caller: str = CALLER) -> tuple[str, str]:
    """A caller joins the queue, presses 1 and confirms their own number with 1."""
    call, cust = desk.arrive(caller)
    desk.key(cust, "11")
    assert desk.of(CallbackRequested)[-1].call_id == call
    return call, cust


def _call_back(desk: Desk, agent: int, call: str) -> tuple[str, Originate]:
    """The agent answers the callback's offer and their phone picks up: the customer is called.
    Returns the agent leg and the customer's Originate."""
    before = len(_originates(desk, call))
    agent_leg = desk.connect(agent, call)
    dialled = _originates(desk, call)
    assert len(dialled) == before + 1
    return agent_leg, dialled[-1]


def _serve(desk: Desk, agent: int, call: str, cust: str) -> None:
    """An ordinary call answered, talked and hung up; the agent takes the next one."""
    desk.connect(agent, call)
    desk.now += 30
    desk.tel(desk.phone.hung_up(cust))
    desk.do(SetStatus(agent, AgentStatus.READY))


# ---- asking for a callback ------------------------------------------------------------------


def test_1_in_the_queue_asks_to_confirm_the_callers_own_number() -> None:
    desk = _desk()
    call, cust = desk.arrive()
    assert _queue(desk) == [call]
    desk.key(cust, "1")
    assert _prompts(desk, cust)[-1] == PlayPrompt(
        call, cust, CONFIRM, AfterPrompt.SILENCE, answer=True
    )
    assert _state(desk, call) == "callback_setup"
    assert _queue(desk) == []  # out of the queue while the caller answers
    assert desk.of(CallRouted)[-1].detail == "Pressed 1: asked to be called back"
    assert desk.of(CallbackRequested) == []


def test_the_key_is_ignored_where_callbacks_are_not_offered_and_other_keys_change_nothing() -> None:
    plain = Desk(services=[SUPPORT])
    call, cust = plain.arrive()
    plain.key(cust, "1")
    assert _state(plain, call) == "queued" and plain.phone.of_type(PlayPrompt) == []
    desk = _desk()
    call, cust = desk.arrive()
    prompts = len(_prompts(desk, cust))
    desk.key(cust, "2*#09")
    assert _state(desk, call) == "queued" and _queue(desk) == [call]
    assert len(_prompts(desk, cust)) == prompts
    # The callback offer is another service's setting: Sales' callers are not asked.
    sales_call, sales_cust = desk.arrive(service_id=2)
    desk.key(sales_cust, "1")
    assert _state(desk, sales_call) == "queued"


def test_1_again_books_the_callback_and_lets_the_caller_go() -> None:
    desk = _desk()
    call, cust = desk.arrive()
    desk.now += 5
    desk.key(cust, "1")
    desk.now += 4
    desk.key(cust, "1")
    assert _prompts(desk, cust)[-1] == PlayPrompt(call, cust, BOOKED, AfterPrompt.HANG_UP)
    requested = desk.of(CallbackRequested)
    assert len(requested) == 1
    got = requested[0]
    assert (got.call_id, got.service_id, got.caller, got.called, got.number, got.at) == (
        call,
        1,
        CALLER,
        "5550100",
        CALLER,
        1009.0,
    )
    assert [step for _, step in got.path] == [
        "Pressed 1: asked to be called back",
        f"Callback requested to {CALLER}",
    ]
    view = desk.engine.call(call)
    assert (view.state, view.callback_number, view.callback_attempts) == ("queued", CALLER, 0)
    queue = desk.engine.queues()[0]
    assert [c.call_id for c in queue.waiting] == [call] and queue.callbacks == 1
    # The caller's leg is forgotten: its end after the goodbye, or a key, is no news.
    actions, events = len(desk.phone.actions), len(desk.events)
    desk.key(cust, "1")
    desk.tel(desk.phone.hung_up(cust))
    assert len(desk.phone.actions) == actions and len(desk.events) == events
    assert desk.of(CallEnded) == [] and _state(desk, call) == "queued"


def test_2_then_digits_then_hash_confirms_the_keyed_number() -> None:
    desk = _desk()
    call, cust = desk.arrive()
    desk.key(cust, "12")
    assert _prompts(desk, cust)[-1] == PlayPrompt(call, cust, ASK, AfterPrompt.SILENCE, answer=True)
    desk.key(cust, "0301234567")
    assert len(_prompts(desk, cust)) == 3  # the offer, the confirmation, the ask: digits are quiet
    desk.key(cust, "#")
    said = (
        Say("We will call you back at 0, 3, 0, 1, 2, 3, 4, 5, 6, 7."),
        Sound("callback_confirm.1"),
    )
    assert _prompts(desk, cust)[-1].prompt == said
    assert _state(desk, call) == "callback_setup"
    desk.key(cust, "1")
    assert desk.of(CallbackRequested)[-1].number == "0301234567"
    assert desk.engine.call(call).callback_number == "0301234567"


def test_an_anonymous_caller_keys_a_number_at_once_and_an_unusable_one_is_refused() -> None:
    desk = _desk()
    call, cust = desk.arrive("anonymous")
    desk.key(cust, "1")
    assert _prompts(desk, cust)[-1].prompt == ASK
    desk.key(cust, "1")  # the digits of a number now, not a confirmation
    assert desk.of(CallbackRequested) == []
    desk.key(cust, "#")  # "1" is no phone number
    assert _prompts(desk, cust)[-1].prompt == (Sound("callback_invalid"), *ASK)
    desk.key(cust, "0900123#")  # premium rate: refused by the service's dial plan
    assert _prompts(desk, cust)[-1].prompt == (Sound("callback_invalid"), *ASK)
    assert desk.of(CallRouted)[-1].detail == "Keyed a number that cannot be called"
    desk.key(cust, "004930123#")  # international: refused too
    assert _prompts(desk, cust)[-1].prompt == (Sound("callback_invalid"), *ASK)
    assert desk.of(CallbackRequested) == [] and _state(desk, call) == "callback_setup"
    desk.key(cust, "5559876#")
    assert _prompts(desk, cust)[-1].prompt == (SAY_9876, Sound("callback_confirm.1"))
    desk.key(cust, "1")
    assert desk.of(CallbackRequested)[-1].number == "5559876"


def test_a_caller_number_the_plan_refuses_asks_for_digits_too() -> None:
    desk = _desk()
    _call, cust = desk.arrive("+33123456789")  # international: the default plan refuses it
    desk.key(cust, "1")
    assert _prompts(desk, cust)[-1].prompt == ASK


def test_star_keeps_waiting_at_the_old_place() -> None:
    desk = _desk()
    a, cust_a = desk.arrive("5550001")
    b, cust_b = desk.arrive("5550002")
    c, cust_c = desk.arrive("5550003")
    desk.key(cust_b, "1")
    assert _queue(desk) == [a, c]
    desk.key(cust_b, "*")
    assert desk.phone.last(StartQueueMusic) == StartQueueMusic(b, cust_b)
    assert _state(desk, b) == "queued" and _queue(desk) == [a, b, c]
    assert desk.of(CallRouted)[-1].detail == "Kept waiting"
    # * while keying a number too.
    desk.key(cust_c, "12")
    desk.key(cust_c, "55*")
    assert _state(desk, c) == "queued" and _queue(desk) == [a, b, c]
    assert desk.of(CallbackRequested) == []
    desk.ready(ALICE)
    assert desk.offered(ALICE) == a
    _serve(desk, ALICE, a, cust_a)
    assert desk.offered(ALICE) == b
    _serve(desk, ALICE, b, cust_b)
    assert desk.offered(ALICE) == c


def test_unanswered_setup_prompts_put_the_caller_back_in_the_queue() -> None:
    desk = _desk()
    call, cust = desk.arrive()
    desk.key(cust, "1")
    desk.tel(desk.phone.playback_finished(cust))
    desk.tick(SETUP_TIMEOUT - 0.5)
    assert len(_prompts(desk, cust)) == 2  # the offer at join, the confirmation
    desk.tick(1.0)
    assert _prompts(desk, cust)[-1].prompt == CONFIRM  # asked again
    assert _state(desk, call) == "callback_setup"
    desk.tel(desk.phone.playback_finished(cust))
    desk.tick(SETUP_TIMEOUT + 0.5)
    assert _state(desk, call) == "queued" and _queue(desk) == [call]
    assert desk.phone.last(StartQueueMusic) == StartQueueMusic(call, cust)
    assert desk.of(CallRouted)[-1].detail == "No callback confirmed"
    assert desk.of(CallbackRequested) == []


def test_a_setup_prompt_that_never_ends_still_times_out() -> None:
    desk = _desk()
    call, cust = desk.arrive()
    desk.key(cust, "1")
    desk.tick(PROMPT_LIMIT - 1)
    assert len(_prompts(desk, cust)) == 2
    desk.tick(2)
    assert len(_prompts(desk, cust)) == 3  # the limit counts as one unanswered prompt
    desk.tick(PROMPT_LIMIT + 1)
    assert _state(desk, call) == "queued"


def test_digits_then_silence_are_taken_as_the_number() -> None:
    desk = _desk()
    call, cust = desk.arrive()
    desk.key(cust, "12")
    desk.key(cust, "5559876")
    desk.tick(SETUP_TIMEOUT + 0.1)
    assert _prompts(desk, cust)[-1].prompt == (SAY_9876, Sound("callback_confirm.1"))
    desk.key(cust, "1")
    assert desk.of(CallbackRequested)[-1].number == "5559876"
    assert _state(desk, call) == "queued"


def test_a_caller_hanging_up_during_the_setup_is_abandoned_and_leaves_no_timer() -> None:
    desk = _desk(announce_every_seconds=0.0)
    call, cust = desk.arrive()
    desk.key(cust, "1")
    desk.tel(desk.phone.hung_up(cust))
    ended = desk.of(CallEnded)[-1]
    assert (ended.call_id, ended.outcome) == (call, CallOutcome.ABANDONED)
    assert desk.of(CallbackClosed) == [] and desk.engine.calls() == []
    assert desk.engine.next_deadline() is None


# ---- the callback keeps its place and is called back ------------------------------------------


def test_the_callback_keeps_its_place_and_an_answer_calls_the_customer_back() -> None:
    desk = _desk()
    a, cust_a = desk.arrive("5550001")
    b, _cust_b = _book(desk, "5550002")
    c, cust_c = desk.arrive("5550003")
    assert _queue(desk) == [a, b, c] and desk.engine.queues()[0].callbacks == 1
    desk.ready(ALICE)
    assert desk.offered(ALICE) == a
    offer = desk.engine.agent(ALICE).offer
    assert offer is not None and not offer.callback
    _serve(desk, ALICE, a, cust_a)
    offer = desk.engine.agent(ALICE).offer
    assert offer is not None and (offer.call_id, offer.callback, offer.caller) == (
        b,
        True,
        "5550002",
    )
    offered = desk.of(CallOffered)[-1]
    assert (offered.call_id, offered.callback) == (b, True)
    desk.do(Answer(ALICE, b))
    ring = desk.phone.last(RingAgent)
    assert ring.call_id == b and _originates(desk, b) == []  # the agent's phone first
    assert ring.caller == "5550002"  # the phone shows whom it is about to call back
    assert _state(desk, b) == "connecting"
    desk.now += 2
    desk.tel(desk.phone.answered(ring.leg_id))
    dialled = _originates(desk, b)
    assert len(dialled) == 1
    assert (dialled[0].number, dialled[0].calling_number) == ("5550002", "5550100")
    attempted = desk.of(CallbackAttempted)
    assert attempted == [CallbackAttempted(b, ALICE, 1, "5550002", desk.now)]
    assert desk.status(ALICE) == "dialing"
    view = desk.engine.call(b)
    assert (view.state, view.agent_id, view.callback_attempts) == ("dialing", ALICE, 1)
    desk.tel(desk.phone.answered(ring.leg_id))  # a repeated report dials nobody twice
    assert len(_originates(desk, b)) == 1
    desk.now += 5
    desk.tel(desk.phone.answered(dialled[0].leg_id))
    assert desk.phone.last(Bridge) == Bridge(b, ring.leg_id, dialled[0].leg_id)
    connected = desk.of(CallConnected)[-1]
    assert (connected.call_id, connected.agent_id) == (b, ALICE)
    ticket = desk.of(TicketOpened)[-1]
    assert (ticket.call_id, ticket.agent_id, ticket.customer_number) == (b, ALICE, "5550002")
    assert f"Callback requested to {'5550002'}" in [step for _, step in ticket.path]
    assert desk.status(ALICE) == "on_call" and _state(desk, b) == "talking"
    desk.now += 60
    desk.tel(desk.phone.hung_up(dialled[0].leg_id))
    ended = desk.of(CallEnded)[-1]
    assert (ended.call_id, ended.outcome, ended.agent_id) == (b, CallOutcome.ANSWERED, ALICE)
    assert desk.of(CallbackClosed) == [CallbackClosed(b, CallOutcome.ANSWERED, desk.now)]
    assert desk.status(ALICE) == "ticket_processing"  # the callback's ticket, as any call's
    desk.do(SetStatus(ALICE, AgentStatus.READY))
    assert desk.offered(ALICE) == c
    assert cust_c


def test_a_phone_picked_up_with_the_offer_calls_the_customer_back() -> None:
    agents = [replace(AGENTS[0], ring_on_offer=True), *AGENTS[1:]]
    desk = Desk(services=[replace(SUPPORT, callback_enabled=True)], agents=agents)
    call, _ = _book(desk)
    desk.ready(ALICE)
    ring = desk.phone.last(RingAgent)
    assert ring.call_id == call and not ring.auto_answer and ring.caller == CALLER
    desk.tel(desk.phone.answered(ring.leg_id))
    dialled = _originates(desk, call)
    assert [(o.number, o.calling_number) for o in dialled] == [(CALLER, "5550100")]
    desk.tel(desk.phone.answered(dialled[0].leg_id))
    assert desk.phone.last(Bridge) == Bridge(call, ring.leg_id, dialled[0].leg_id)
    assert _state(desk, call) == "talking"


def test_no_answer_lets_the_agent_go_and_the_callback_tries_again_ahead_of_later_callers() -> None:
    desk = _desk(callback_retry_seconds=120.0)
    b, _ = _book(desk)
    desk.ready(ALICE)
    agent_leg, dialled = _call_back(desk, ALICE, b)
    desk.now += 25
    failed_at = desk.now
    desk.tel(desk.phone.failed(dialled.leg_id, FailureReason.NO_ANSWER))
    assert desk.of(CallFailed)[-1] == CallFailed(b, ALICE, "no_answer", failed_at)
    assert desk.of(CallbackAttemptFailed) == [
        CallbackAttemptFailed(b, ALICE, 1, "no_answer", failed_at + 120.0, failed_at)
    ]
    assert HangUp(b, agent_leg) in desk.phone.actions
    assert agent_leg not in desk.phone.live_legs and dialled.leg_id not in desk.phone.live_legs
    assert desk.status(ALICE) == "ready"  # no ticket work: nobody was talked to
    assert desk.engine.agent(ALICE).call is None and desk.of(CallEnded) == []
    view = desk.engine.call(b)
    assert (view.state, view.agent_id, view.callback_attempts) == ("callback_wait", None, 1)
    queue = desk.engine.queues()[0]
    assert [c.call_id for c in queue.waiting] == [b] and queue.callbacks == 1
    # Alice stays free for others in the meantime: a new caller is offered at once.
    d, cust_d = desk.arrive("5550004")
    assert desk.offered(ALICE) == d
    _serve(desk, ALICE, d, cust_d)
    desk.do(SetStatus(ALICE, AgentStatus.REST))
    e, _ = desk.arrive("5550005")  # arrives during the retry delay, after the callback
    desk.tick(failed_at + 120.0 - desk.now - 0.5)
    assert _state(desk, b) == "callback_wait"
    desk.tick(1.0)
    assert _state(desk, b) == "queued" and _queue(desk) == [b, e]
    assert desk.of(CallRouted)[-1].detail == "Callback queued again"
    desk.do(SetStatus(ALICE, AgentStatus.READY))
    assert desk.offered(ALICE) == b
    _agent_leg, again = _call_back(desk, ALICE, b)
    assert again.number == CALLER and again.leg_id != dialled.leg_id
    assert desk.of(CallbackAttempted)[-1].attempt == 2


def test_after_the_last_attempt_the_callback_ends_as_failed() -> None:
    desk = _desk(callback_retry_seconds=60.0, callback_max_attempts=2)
    b, _ = _book(desk)
    desk.ready(ALICE)
    _, first = _call_back(desk, ALICE, b)
    desk.tel(desk.phone.failed(first.leg_id, FailureReason.BUSY))
    assert desk.of(CallbackAttemptFailed)[-1].reason == "busy"
    desk.tick(60.5)
    assert desk.offered(ALICE) == b
    _, second = _call_back(desk, ALICE, b)
    desk.now += 30
    desk.tel(desk.phone.failed(second.leg_id, FailureReason.NO_ANSWER))
    last = desk.of(CallbackAttemptFailed)[-1]
    assert (last.attempt, last.reason, last.next_try_at) == (2, "no_answer", None)
    ended = desk.of(CallEnded)
    assert len(ended) == 1
    assert (ended[0].call_id, ended[0].outcome, ended[0].agent_id, ended[0].ended_by) == (
        b,
        CallOutcome.CALLBACK_FAILED,
        None,
        "system",
    )
    assert desk.of(CallbackClosed) == [CallbackClosed(b, CallOutcome.CALLBACK_FAILED, desk.now)]
    assert desk.engine.calls() == [] and desk.engine.queues()[0].callbacks == 0
    assert desk.status(ALICE) == "ready"  # no wrap-up for a callback nobody answered
    assert desk.engine.next_deadline() is None
    assert len(_originates(desk, b)) == 2


def test_the_customer_declining_counts_as_a_failed_attempt() -> None:
    desk = _desk()
    b, _ = _book(desk)
    desk.ready(ALICE)
    agent_leg, dialled = _call_back(desk, ALICE, b)
    desk.tel(desk.phone.hung_up(dialled.leg_id))  # rejected before it was answered
    assert desk.of(CallbackAttemptFailed)[-1].reason == "rejected"
    assert desk.of(CallFailed)[-1].reason == "rejected"
    assert HangUp(b, agent_leg) in desk.phone.actions
    assert _state(desk, b) == "callback_wait"


def test_the_agent_hanging_up_while_the_customer_rings_is_a_cancelled_attempt() -> None:
    desk = _desk()
    b, _ = _book(desk)
    desk.ready(ALICE)
    agent_leg, dialled = _call_back(desk, ALICE, b)
    desk.tel(desk.phone.hung_up(agent_leg))
    failed = desk.of(CallbackAttemptFailed)
    assert [(f.attempt, f.reason, f.agent_id) for f in failed] == [(1, "cancelled", ALICE)]
    assert failed[0].next_try_at == desk.now + 300.0
    assert desk.of(CallFailed) == []  # the agent knows why: she hung up
    assert HangUp(b, dialled.leg_id) in desk.phone.actions
    assert dialled.leg_id not in desk.phone.live_legs
    assert _state(desk, b) == "callback_wait" and desk.engine.call(b).callback_attempts == 1
    assert desk.status(ALICE) == "ready" and desk.of(CallEnded) == []


def test_end_clicked_while_the_customer_rings_is_a_cancelled_attempt_too() -> None:
    """The widget's End during the ringing is the agent giving up, as hanging up her phone is:
    the callback is tried again (CallbackClosed: "talked, or every attempt failed")."""
    desk = _desk()
    b, _ = _book(desk)
    desk.ready(ALICE)
    agent_leg, dialled = _call_back(desk, ALICE, b)
    desk.do(EndCall(ALICE, b))
    assert dialled.leg_id not in desk.phone.live_legs and agent_leg not in desk.phone.live_legs
    assert desk.of(CallEnded) == [] and desk.of(CallbackClosed) == []
    assert [f.reason for f in desk.of(CallbackAttemptFailed)] == ["cancelled"]
    assert _state(desk, b) == "callback_wait"
    assert desk.status(ALICE) == "ready"


def test_the_agents_phone_not_answering_requeues_the_callback_without_an_attempt() -> None:
    desk = _desk()
    b, _ = _book(desk)
    desk.ready(ALICE)
    desk.do(Answer(ALICE, b))
    desk.tick(20.5)  # the connect limit (the pickup time, at least 5 s)
    assert desk.of(OfferWithdrawn)[-1].reason == "phone_no_answer"
    assert _originates(desk, b) == [] and desk.of(CallbackAttemptFailed) == []
    view = desk.engine.call(b)
    assert (view.state, view.callback_attempts) == ("queued", 0)
    desk.ready(BOB)
    assert desk.offered(BOB) == b
    desk.do(Answer(BOB, b))
    desk.tel(desk.phone.failed(desk.agent_leg(b), FailureReason.UNREACHABLE))
    view = desk.engine.call(b)
    assert (view.state, view.callback_attempts) == ("queued", 0)
    assert _originates(desk, b) == [] and desk.of(CallbackAttemptFailed) == []
    desk.ready(CAROL)
    _, dialled = _call_back(desk, CAROL, b)
    assert desk.of(CallbackAttempted)[-1].attempt == 1 and dialled.number == CALLER


def test_a_booked_callback_never_overflows() -> None:
    desk = _desk(max_wait_seconds=45.0, overflow_action=OverflowAction.HANG_UP_WITH_MESSAGE)
    b, _ = _book(desk)
    plain, plain_cust = desk.arrive("5550009")
    desk.tick(46)
    assert desk.phone.last(PlayThenHangUp) == PlayThenHangUp(plain, plain_cust, "overflow")
    assert [e.call_id for e in desk.of(CallEnded)] == [plain]
    desk.tick(3600)
    assert _state(desk, b) == "queued"
    # Nor after a failed attempt and its retry.
    desk.ready(ALICE)
    _, dialled = _call_back(desk, ALICE, b)
    desk.do(SetStatus(ALICE, AgentStatus.REST))
    desk.tel(desk.phone.failed(dialled.leg_id, FailureReason.NO_ANSWER))
    desk.tick(301)
    desk.tick(3600)
    assert _state(desk, b) == "queued" and [e.call_id for e in desk.of(CallEnded)] == [plain]


def test_a_caller_back_from_the_setup_after_the_maximum_wait_still_overflows() -> None:
    """The maximum wait passing while the caller answers the setup prompts must not be lost:
    back in the queue with *, they are overflowed rather than kept waiting for ever."""
    desk = _desk(max_wait_seconds=45.0, overflow_action=OverflowAction.HANG_UP_WITH_MESSAGE)
    call, cust = desk.arrive()
    desk.tick(40)
    desk.key(cust, "1")
    desk.tick(6)  # the maximum wait passes during the setup
    assert _state(desk, call) == "callback_setup"
    desk.key(cust, "*")
    desk.tick(1)
    desk.tick(60)
    ended = [e for e in desk.of(CallEnded) if e.call_id == call]
    assert [e.outcome for e in ended] == [CallOutcome.OVERFLOWED]


# ---- announcements ----------------------------------------------------------------------------


def test_the_announcements_offer_the_callback_and_listen_for_keys() -> None:
    offering = _desk(announce_position=True, announce_every_seconds=30.0)
    call, cust = offering.arrive()
    joined = _prompts(offering, cust)
    assert joined == [
        PlayPrompt(
            call,
            cust,
            (Say("You are next in the queue."), Sound("callback_offer.1")),
            AfterPrompt.MUSIC,
            answer=True,
        )
    ]
    offering.tick(30.5)
    later = _prompts(offering, cust)[-1]
    assert later.prompt[-1] == Sound("callback_offer.1") and later.answer
    assert len(_prompts(offering, cust)) == 2
    # Without callbacks: the position alone, early media.
    plain = Desk(services=[replace(SUPPORT, announce_position=True)])
    call, cust = plain.arrive()
    assert _prompts(plain, cust) == [
        PlayPrompt(call, cust, (Say("You are next in the queue."),), AfterPrompt.MUSIC)
    ]


def test_the_offer_alone_is_announced_at_join_and_at_each_interval_per_service() -> None:
    sales = replace(SALES, callback_enabled=True, announce_every_seconds=20.0)
    desk = Desk(services=[SUPPORT, sales])
    call, cust = desk.arrive(service_id=2)
    offer = PlayPrompt(call, cust, (Sound("callback_offer.2"),), AfterPrompt.MUSIC, answer=True)
    assert _prompts(desk, cust) == [offer]
    desk.tick(20.5)
    assert _prompts(desk, cust) == [offer, offer]
    desk.key(cust, "1")
    assert _prompts(desk, cust)[-1].prompt[-1] == Sound("callback_confirm.2")
    desk.key(cust, "1")
    assert _prompts(desk, cust)[-1].prompt == (Sound("callback_booked.2"),)
    desk.tick(600)  # nobody on the line: no more announcements
    assert len(_prompts(desk, cust)) == 4
    assert desk.engine.next_deadline() is None


def test_announcements_go_on_after_star_when_the_caller_is_offered_and_queued_again() -> None:
    """Back from the setup the caller hears the interval announcements (and the callback offer)
    again, also when an agent was offered the call at once and let it ring out, as a caller
    who never pressed 1 does."""
    plain = _desk(announce_every_seconds=30.0)
    plain.ready(ALICE)
    _, plain_cust = plain.arrive()
    plain.tick(21)  # rings out: queued again
    plain.tick(30)
    assert _prompts(plain, plain_cust)[-1].prompt == (Sound("callback_offer.1"),)
    assert len(_prompts(plain, plain_cust)) == 2
    desk = _desk(announce_every_seconds=30.0)
    call, cust = desk.arrive()
    desk.key(cust, "1")
    desk.ready(ALICE)  # Alice is free now; the caller is in the setup, not in the queue
    desk.key(cust, "*")
    assert desk.offered(ALICE) == call
    played = len(_prompts(desk, cust))
    desk.tick(21)  # the offer rings out: the call waits again
    assert _state(desk, call) == "queued"
    desk.tick(30)
    desk.tick(30)
    assert len(_prompts(desk, cust)) > played
    assert _prompts(desk, cust)[-1].prompt[-1] == Sound("callback_offer.1")


# ---- after a restart --------------------------------------------------------------------------


def _pending(call_id: str, number: str, **changes: object) -> PendingCallback:
    base = PendingCallback(call_id, 1, number, "5550100", number, 900.0, 905.0)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_restored_callbacks_wait_in_the_order_given_and_the_retry_delay_is_kept() -> None:
    desk = _desk(callback_max_attempts=3)
    desk.engine.restore_callback(_pending("cb1", "5550001", arrived_at=950.0))
    desk.engine.restore_callback(_pending("cb2", "5550002", attempts=1, next_try_at=1050.0))
    desk.engine.restore_callback(_pending("cb3", "5550003", arrived_at=800.0))
    desk.engine.restore_callback(_pending("cb1", "5550009"))  # once only
    desk.engine.restore_callback(replace(_pending("cb4", "5550004"), service_id=99))  # gone
    queue = desk.engine.queues()[0]
    assert [c.call_id for c in queue.waiting] == ["cb1", "cb2", "cb3"] and queue.callbacks == 3
    views = {c.call_id: c for c in queue.waiting}
    assert (views["cb1"].state, views["cb1"].callback_number) == ("queued", "5550001")
    assert (views["cb2"].state, views["cb2"].callback_attempts) == ("callback_wait", 1)
    assert views["cb3"].arrived_at == 800.0
    d, _ = desk.arrive("5550005")  # after the restart: behind the restored ones
    desk.ready(ALICE)
    assert desk.offered(ALICE) == "cb1"  # cb2 is in its retry delay until 1050
    desk.ready(BOB)
    assert desk.offered(BOB) == "cb3"
    desk.do(SetStatus(ALICE, AgentStatus.REST))  # both offers taken back: the calls wait again
    desk.do(SetStatus(BOB, AgentStatus.REST))
    desk.tick(1050.0 - desk.now - 0.1)
    assert desk.engine.call("cb2").state == "callback_wait"
    desk.tick(0.2)
    assert desk.engine.call("cb2").state == "queued"
    assert _queue(desk) == ["cb1", "cb2", "cb3", d]
    desk.do(SetStatus(ALICE, AgentStatus.READY))
    desk.do(SetStatus(BOB, AgentStatus.READY))
    desk.ready(CAROL)
    assert [desk.offered(a) for a in (ALICE, BOB, CAROL)] == ["cb1", "cb2", "cb3"]
    _, dialled = _call_back(desk, BOB, "cb2")
    assert (dialled.number, dialled.calling_number) == ("5550002", "5550100")
    assert desk.of(CallbackAttempted)[-1].attempt == 2
    assert _queue(desk) == ["cb1", "cb3", d]  # offered, and d waiting; cb2 is being dialled


def test_a_restored_callback_at_its_last_attempt_ends_after_one_more_failure() -> None:
    desk = _desk(callback_max_attempts=3)
    desk.engine.restore_callback(_pending("cb1", "5550001", attempts=2))
    desk.ready(ALICE)
    _, dialled = _call_back(desk, ALICE, "cb1")
    desk.tel(desk.phone.failed(dialled.leg_id, FailureReason.NO_ANSWER))
    assert desk.of(CallbackAttemptFailed)[-1].attempt == 3
    assert desk.of(CallEnded)[-1].outcome is CallOutcome.CALLBACK_FAILED
