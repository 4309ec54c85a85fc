"""Queued callback: a waiting caller asks to be called back and keeps their place.

    queued, hears "press 1 to be called back" (with the announcements, announce.py)
      -> 1: CALLBACK_SETUP, out of the queue (keeping `seq`): "we will call you back at <the
            caller's number>: 1 to confirm, 2 for another number, * to keep waiting"
            (a caller with no usable number keys one in at once, ending with #)
      -> 1: booked (CallbackRequested): "thank you ... goodbye", the caller's leg is let go,
            the call waits in the queue again at its own `seq`, with no customer leg
    reaches the front -> offered to a Ready agent like a call (OfferView.callback)
      -> Answer: the agent's phone is rung (CONNECTING), then the customer (DIALING,
         CallbackAttempted), with the service's calling number; answered: bridged (TALKING)
      -> the customer does not answer: the agent is let go (CallFailed says why), the
         callback waits `callback_retry_seconds` (CALLBACK_WAIT, out of the queue) and queues
         again at its `seq`; after `callback_max_attempts` it ends (callback_failed)

One customer leg at a time: a callback is in exactly one state, and only DIALING has one.
A callback survives a restart: the store keeps it (callbacks table) and `restore` puts it back
in its queue, in its order, before any new call arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import announce, dialplan, endings, ivr, offers, state, waiting
from .deadlines import TimerKind
from .events import (
    CallbackAttempted,
    CallbackAttemptFailed,
    CallbackRequested,
    CallFailed,
)
from .model import CallOutcome, CallState, Direction, ServiceConfig
from .prompts import Prompt, Say, Sound, per, spoken_digits
from .records import CallbackInfo, CallRecord, LegRole
from .snapshots import Outcome
from .state import EngineState
from .telephony import AfterPrompt, HangUp, Originate, PlayPrompt, StartQueueMusic

OFFER_KEY = "1"  # pressed in the queue: ask for a callback
SETUP_TIMEOUT = 10.0  # seconds after a setup prompt to key something
SETUP_TRIES = 2  # unanswered setup prompts before the caller is back in the queue, waiting
MAX_KEYED = 20  # digits of a keyed-in number
# A setup prompt that never reports its end (the switch lost it) must not keep the caller.
PROMPT_LIMIT = 120.0


@dataclass(frozen=True, slots=True)
class PendingCallback:
    """A callback as the store keeps it, to put back after a restart (`restore`)."""

    call_id: str
    service_id: int
    caller: str
    called: str
    number: str
    arrived_at: float  # when the caller joined the queue
    requested_at: float
    attempts: int = 0
    next_try_at: float | None = None  # in the retry delay until then; None: queued


def key_in_queue(s: EngineState, call: CallRecord, key: str, now: float, out: Outcome) -> None:
    """A key pressed while waiting in the queue: 1 asks for a callback (where offered)."""
    service = s.services.get(call.service_id)
    if (
        key != OFFER_KEY
        or service is None
        or not service.callback_enabled
        or call.callback is not None
        or call.customer_leg is None
    ):
        return
    state.queue(s, call.service_id).discard(call.id)  # out of the queue, `seq` kept
    s.timers.cancel(call.flow_timer)
    call.flow_timer = 0
    call.state = CallState.CALLBACK_SETUP
    call.setup_tries = 0
    ivr.step(s, call, "Pressed 1: asked to be called back", now, out)
    number = _usable(call.customer_number, service)
    call.setup_number = number or ""
    if number:
        _confirm(s, call, now, out)
    else:
        _ask_number(s, call, (), now, out)


def setup_key(s: EngineState, call: CallRecord, key: str, now: float, out: Outcome) -> None:
    """A key while confirming the number (1, 2, *) or keying one in (digits, then #)."""
    service = s.services.get(call.service_id)
    if service is None:
        return
    call.setup_tries = 0
    if call.keyed is not None:
        if key.isdigit():
            if len(call.keyed) < MAX_KEYED:
                call.keyed += key
            s.timers.cancel(call.flow_timer)  # a prompt may still play: the limit again
            call.flow_timer = s.timers.schedule(now + SETUP_TIMEOUT, TimerKind.CALLBACK, call.id)
        elif key == "#":
            number = _usable(call.keyed, service)
            call.keyed = None
            if number is None:
                ivr.step(s, call, "Keyed a number that cannot be called", now, out)
                _ask_number(s, call, (Sound("callback_invalid"),), now, out)
                return
            call.setup_number = number
            _confirm(s, call, now, out)
        elif key == "*":
            _back_to_queue(s, call, service, "Kept waiting", now, out)
        return
    if key == "1" and call.setup_number:
        _book(s, call, service, now, out)
    elif key == "2":
        _ask_number(s, call, (), now, out)
    elif key == "*":
        _back_to_queue(s, call, service, "Kept waiting", now, out)
    else:
        _confirm(s, call, now, out)


def setup_prompt_finished(s: EngineState, call: CallRecord, now: float) -> None:
    """A setup prompt has been played: the caller has a few seconds to answer it."""
    s.timers.cancel(call.flow_timer)
    call.flow_timer = s.timers.schedule(now + SETUP_TIMEOUT, TimerKind.CALLBACK, call.id)


def due(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    """The callback timer: a setup prompt unanswered, or a retry delay over."""
    call.flow_timer = 0
    service = s.services.get(call.service_id)
    if call.state is CallState.CALLBACK_WAIT:
        assert call.callback is not None
        call.callback.next_try_at = None
        ivr.step(s, call, "Callback queued again", now, out)
        offers.route_call(s, call, now, out)  # at its own `seq`: ahead of later callers
        return
    if call.state is not CallState.CALLBACK_SETUP or service is None:
        return
    before: Prompt = ()
    if call.keyed:  # digits, then silence: taken as the number (no # needed)
        number = _usable(call.keyed, service)
        if number is not None:
            call.setup_number = number
            _confirm(s, call, now, out)
            return
        ivr.step(s, call, "Keyed a number that cannot be called", now, out)
        before = (Sound("callback_invalid"),)
    call.setup_tries += 1
    if call.setup_tries >= SETUP_TRIES:
        _back_to_queue(s, call, service, "No callback confirmed", now, out)
    elif call.keyed is not None or not call.setup_number:
        _ask_number(s, call, before, now, out)
    else:
        _confirm(s, call, now, out)


def agent_answered(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    """The agent's phone is up for the callback: call the customer, with the service's
    calling number (the agent hears it ring)."""
    info = call.callback
    assert info is not None and call.agent_id is not None and call.customer_leg is None
    s.timers.cancel(call.connect_timer)
    call.connect_timer = 0
    info.attempts += 1
    call.state = CallState.DIALING
    leg = s.new_id()
    call.customer_leg = leg
    state.add_leg(s, leg, call.id, LegRole.CUSTOMER)
    out.actions.append(Originate(call.id, leg, info.number, state.outside_calling_number(s, call)))
    out.events.append(CallbackAttempted(call.id, call.agent_id, info.attempts, info.number, now))
    offers.refresh(s, s.agents[call.agent_id], now, out)


def attempt_failed(
    s: EngineState, call: CallRecord, reason: str, now: float, out: Outcome, *, gone: str
) -> None:
    """The customer's leg (`gone`) failed or the agent gave up: let the agent go; try again
    after the service's delay, or end the callback after its last attempt."""
    info = call.callback
    assert info is not None
    agent_id = call.agent_id
    for leg in (call.customer_leg, call.agent_leg):
        if leg is None:
            continue
        s.legs.pop(leg, None)
        if leg != gone:
            out.actions.append(HangUp(call.id, leg))
    call.customer_leg = call.agent_leg = None
    call.agent_id = None
    service = s.services.get(call.service_id)
    retry = service is not None and info.attempts < service.callback_max_attempts
    next_try = now + service.callback_retry_seconds if retry and service else None
    out.events.append(
        CallbackAttemptFailed(call.id, agent_id or 0, info.attempts, reason, next_try, now)
    )
    if agent_id is not None:
        a = s.agents[agent_id]
        if reason != "cancelled":
            out.events.append(CallFailed(call.id, agent_id, reason, now))
        a.call_id = None
        a.idle_since = now
        a.picked_in_call = False
        offers.refresh(s, a, now, out)
    if next_try is None:
        endings.end_call(s, call, CallOutcome.CALLBACK_FAILED, "system", now, out)
        return
    call.state = CallState.CALLBACK_WAIT
    info.next_try_at = next_try
    call.flow_timer = s.timers.schedule(next_try, TimerKind.CALLBACK, call.id)


def restore(s: EngineState, pending: PendingCallback) -> None:
    """After a restart: the callback back in its service's queue, behind the ones restored
    before it (the caller restores them oldest first, before any call arrives)."""
    if pending.call_id in s.calls or pending.service_id not in s.services:
        return
    info = CallbackInfo(pending.number, pending.requested_at, pending.attempts, pending.next_try_at)
    call = CallRecord(
        id=pending.call_id,
        service_id=pending.service_id,
        direction=Direction.INBOUND,
        customer_number=pending.caller,
        called=pending.called,
        calling_number=None,
        state=CallState.QUEUED,
        arrived_at=pending.arrived_at,
        seq=state.next_seq(s),
        ticket=True,
        callback=info,
    )
    s.calls[call.id] = call
    if pending.next_try_at is not None:
        call.state = CallState.CALLBACK_WAIT
        call.flow_timer = s.timers.schedule(pending.next_try_at, TimerKind.CALLBACK, call.id)
    else:
        state.queue(s, call.service_id).push(call.id, call.seq)


# ---- the setup dialogue ---------------------------------------------------------------------
def _usable(number: str, service: ServiceConfig) -> str | None:
    """The number as the service may dial it, or None (anonymous, too short, blocked)."""
    try:
        return dialplan.decide(number, service.dial_plan).number
    except (dialplan.DestinationInvalid, dialplan.DestinationNotAllowed):
        return None


def _confirm(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    call.keyed = None
    text = f"We will call you back at {spoken_digits(call.setup_number)}."
    _prompt(s, call, (Say(text), Sound(per("callback_confirm", call.service_id))), now, out)


def _ask_number(s: EngineState, call: CallRecord, before: Prompt, now: float, out: Outcome) -> None:
    call.keyed = ""
    _prompt(s, call, (*before, Sound(per("callback_number", call.service_id))), now, out)


def _prompt(s: EngineState, call: CallRecord, prompt: Prompt, now: float, out: Outcome) -> None:
    assert call.customer_leg is not None
    s.timers.cancel(call.flow_timer)
    call.flow_timer = s.timers.schedule(now + PROMPT_LIMIT, TimerKind.CALLBACK, call.id)
    out.actions.append(
        PlayPrompt(call.id, call.customer_leg, prompt, AfterPrompt.SILENCE, answer=True)
    )


def _book(
    s: EngineState, call: CallRecord, service: ServiceConfig, now: float, out: Outcome
) -> None:
    """Confirmed: the caller hears the booking and is let go; the callback waits in the queue
    at the caller's own place."""
    number = call.setup_number
    leg = call.customer_leg
    assert leg is not None
    s.timers.cancel(call.flow_timer)
    s.timers.cancel(call.wait_timer)  # a callback never overflows: nobody is on the line
    call.flow_timer = call.wait_timer = 0
    call.overflow_due = False
    s.legs.pop(leg, None)  # its hang-up after the goodbye is no news to the engine
    call.customer_leg = None
    out.actions.append(
        PlayPrompt(call.id, leg, (Sound(per("callback_booked", service.id)),), AfterPrompt.HANG_UP)
    )
    call.callback = CallbackInfo(number, now)
    call.ticket = True  # the callback's ticket, opened now for the service's agents
    ivr.step(s, call, f"Callback requested to {number}", now, out)
    out.events.append(
        CallbackRequested(
            call.id,
            service.id,
            call.customer_number,
            call.called,
            number,
            call.arrived_at,
            now,
            tuple(call.path),
        )
    )
    offers.route_call(s, call, now, out)


def _back_to_queue(
    s: EngineState,
    call: CallRecord,
    service: ServiceConfig,
    note: str,
    now: float,
    out: Outcome,
) -> None:
    """No callback after all: the caller waits on the line again, in their place (or, when
    their maximum wait passed meanwhile, gets the overflow)."""
    call.keyed = None
    s.timers.cancel(call.flow_timer)
    call.flow_timer = 0
    ivr.step(s, call, note, now, out)
    if call.overflow_due:
        waiting.overflow(s, call, now, out)
        return
    assert call.customer_leg is not None
    out.actions.append(StartQueueMusic(call.id, call.customer_leg))
    announce.schedule(s, call, service, now)  # as at a join: also if offered at once
    offers.route_call(s, call, now, out)
