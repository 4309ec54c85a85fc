"""Announcements to a queued caller, over the queue music: "this call may be recorded" first
(once, where the call's service records and the setting says so), the position and expected
wait at join and at every interval, the service's periodic message, and the callback offer
("press 1", where the service offers callbacks: callback.py).

The expected wait is the caller's position divided among the service's staffed agents (logged in,
phone reachable, taking calls: Ready, or on a call they will come back Ready from), times the
average talk time of the service's last answered calls. With no answered call yet, the position
is said alone.
"""

from __future__ import annotations

import math
from collections import deque

from . import state
from .deadlines import TimerKind
from .model import AgentStatus, CallState, ServiceConfig
from .prompts import NOTICE, Prompt, PromptPart, Say, Sound, per, position_text
from .records import CallRecord
from .snapshots import Outcome
from .state import EngineState
from .telephony import AfterPrompt, PlayPrompt

RECENT_CALLS = 20  # answered calls the average talk time is taken over


def joined(
    s: EngineState,
    call: CallRecord,
    service: ServiceConfig,
    position: int,
    now: float,
    out: Outcome,
) -> None:
    """The caller joined the queue: the recording notice (once), the position now (when
    announced), the next in an interval."""
    parts: list[PromptPart] = list(recording_notice(s, call, service))
    if service.announce_position and position > 0:
        parts.append(Say(_position(s, service, position)))
    parts.extend(callback_offer(service))
    if parts:
        _play(call, tuple(parts), out, answer=service.callback_enabled)
    schedule(s, call, service, now)


def due(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    """The interval passed: announce again to a caller still waiting in the queue (not while an
    agent's phone is ringing for them: the call may be answered any moment)."""
    call.flow_timer = 0
    service = s.services.get(call.service_id)
    if service is None:
        return
    if call.customer_leg is None or call.callback is not None:
        return  # a callback: nobody on the line
    if call.state is CallState.QUEUED:
        parts: list[PromptPart] = []
        if service.announce_position:
            parts.append(Say(_position(s, service, position_of(s, call))))
        if service.announce_message:
            parts.append(Sound(per("queue_message", service.id)))
        parts.extend(callback_offer(service))
        if parts:
            _play(call, tuple(parts), out, answer=service.callback_enabled)
    schedule(s, call, service, now)


def recording_notice(s: EngineState, call: CallRecord, service: ServiceConfig) -> Prompt:
    """ "This call may be recorded": once per call, where the service records its calls and
    the setting `recording_notice` is on (a caller sent on to another service by a menu
    hears it there, if not yet)."""
    if call.notice_heard or not s.settings.recording_notice or not state.records(s, service.id):
        return ()
    call.notice_heard = True
    return (Sound(per(NOTICE, service.id)),)


def callback_offer(service: ServiceConfig) -> Prompt:
    """ "Press 1 to be called back", where the service offers callbacks (callback.py)."""
    return (Sound(per("callback_offer", service.id)),) if service.callback_enabled else ()


def schedule(s: EngineState, call: CallRecord, service: ServiceConfig, now: float) -> None:
    """The caller's next announcement, an interval from now (if the service makes any)."""
    s.timers.cancel(call.flow_timer)
    call.flow_timer = 0
    every = service.announce_every_seconds
    speaks = service.announce_position or service.announce_message or service.callback_enabled
    if every > 0 and speaks:
        call.flow_timer = s.timers.schedule(now + every, TimerKind.ANNOUNCE, call.id)


def _play(call: CallRecord, prompt: Prompt, out: Outcome, *, answer: bool = False) -> None:
    """Over the queue music; `answer` where keys are listened to (phones send them once the
    call is answered)."""
    assert call.customer_leg is not None
    out.actions.append(
        PlayPrompt(call.id, call.customer_leg, prompt, AfterPrompt.MUSIC, answer=answer)
    )


def position_of(s: EngineState, call: CallRecord) -> int:
    """1 for the next caller to be served in the service's queue."""
    ahead = 0
    for other_id in state.queue(s, call.service_id).ordered():
        if other_id == call.id:
            return ahead + 1
        ahead += 1
    return ahead + 1


def _position(s: EngineState, service: ServiceConfig, position: int) -> str:
    wait = expected_wait(s, service.id, position)
    return position_text(position, wait, service.position_template)


def expected_wait(s: EngineState, service_id: int, position: int) -> float | None:
    """Seconds until the caller at `position` is likely served; None with no history."""
    times = s.handle_times.get(service_id)
    if not times:
        return None
    average = sum(times) / len(times)
    agents = max(1, staffed(s, service_id))
    return math.ceil(position / agents) * average


def staffed(s: EngineState, service_id: int) -> int:
    taking = (AgentStatus.READY,)
    count = 0
    for a in s.agents.values():
        if (
            a.logged_in
            and a.reachable
            and service_id in a.config.services
            and (a.chosen in taking or a.status is AgentStatus.READY)
        ):
            count += 1
    return count


def answered(s: EngineState, service_id: int, talk_seconds: float) -> None:
    """An answered call of the service ended after `talk_seconds`."""
    times = s.handle_times.get(service_id)
    if times is None:
        times = s.handle_times[service_id] = deque(maxlen=RECENT_CALLS)
    times.append(talk_seconds)
