"""Offers and routing: who a call rings, what a status change sets off, taking an offer.

These rules need one another, so they live together: a refresh that frees an agent routes them
(`route_agent` -> `offer`), and an offer to an Auto Answer agent is taken in the same step
(`accept`), whose refresh may free nobody but reports On Call. Every other rule module ends its
changes with `offers.refresh` on the agents it touched.
"""

from __future__ import annotations

from . import state, status
from .deadlines import TimerKind
from .events import AgentStatusChanged, CallOffered, OfferWithdrawn
from .model import AgentStatus, CallState, Strategy
from .records import AgentRecord, CallRecord, LegRole
from .routing import CallQueue
from .snapshots import Outcome
from .state import EngineState
from .telephony import HangUp, RingAgent


def refresh(s: EngineState, a: AgentRecord, now: float, out: Outcome, reason: str = "") -> None:
    """Report a change of shown or chosen status, keep the pools right, route if now free."""
    shown = status.shown(s, a)
    changed = False
    if shown is not a.status:
        a.status = shown
        a.since = now
        a.reason = reason
        changed = True
    if a.chosen is not a.announced_chosen:
        a.announced_chosen = a.chosen
        a.reason = reason or a.reason
        changed = True
    if changed:
        out.events.append(AgentStatusChanged(a.config.id, shown, a.chosen, now, a.reason))
    routable = shown is AgentStatus.READY and a.reachable and bool(a.config.services)
    if routable and not a.indexed:
        status.index(s, a)
        route_agent(s, a, now, out)
    elif not routable and a.indexed:
        status.unindex(s, a)


def offer(s: EngineState, a: AgentRecord, call: CallRecord, now: float, out: Outcome) -> None:
    a.last_offered = state.next_seq(s)
    a.offer = call.id
    # At least a second: a zero pickup time with Ready as the timeout status would otherwise
    # re-offer and expire the same call forever within one on_timer call.
    a.offer_expires = now + max(s.settings.pickup_seconds, 1.0)
    a.offer_timer = s.timers.schedule(a.offer_expires, TimerKind.PICKUP, a.config.id)
    call.offered_to[a.config.id] = None
    call.state = CallState.OFFERED
    if state.strategy(s, call.service_id) is Strategy.RING_ALL:
        s.ringing_all.setdefault(call.service_id, {})[call.id] = None
    out.events.append(
        CallOffered(
            call.id,
            a.config.id,
            call.service_id,
            call.customer_number,
            a.offer_expires,
            now,
            callback=call.callback is not None,
        )
    )
    if a.config.auto_answer:
        # Answered in this same step: the answer's refresh reports On Call, with no
        # zero-second Ringing status (and its database write and feed message) on the way.
        accept(s, a, call, now, out)
        return
    if a.config.ring_on_offer or a.config.prewarm:
        # The phone rings now, like any phone call (no auto-answer headers): picking it up
        # answers the offer (calls.leg_answered); the offer ending otherwise hangs it up. The
        # browser phone answers at once, its media comes up, and Answer reports it (AnswerLeg).
        leg = s.new_id()
        a.offer_leg = leg
        a.answer_asked = False
        state.add_leg(s, leg, call.id, LegRole.OFFER)
        out.actions.append(
            RingAgent(
                call.id,
                leg,
                a.config.id,
                a.config.cti_id or "",
                auto_answer=False,
                prewarm=a.config.prewarm,
                caller=call.callback.number if call.callback else "",
            )
        )
    refresh(s, a, now, out)


def drop_offer_leg(s: EngineState, a: AgentRecord, call_id: str, out: Outcome | None) -> None:
    """Forget the phone's ringing offer leg; with `out`, hang it up (CANCEL) too."""
    leg = a.offer_leg
    if leg is None:
        return
    a.offer_leg = None
    a.answer_asked = False
    s.legs.pop(leg, None)
    if out is not None:
        out.actions.append(HangUp(call_id, leg))


def accept(
    s: EngineState,
    a: AgentRecord,
    call: CallRecord,
    now: float,
    out: Outcome,
    *,
    answered_leg: str | None = None,
) -> None:
    """The agent takes the call offered to them (the Answer click, Auto Answer, or the phone
    picked up while it rang with the offer: `answered_leg`, then the caller bridges it).

    The caller has checked that `call` is the agent's live offer and the agent is in no call.
    """
    s.timers.cancel(a.offer_timer)
    a.offer = None
    a.offer_timer = 0
    if answered_leg is None:
        # Answer in the widget while the phone rings with the offer: the phone is rung
        # again, asked to pick up by itself (a phone that honours answer-after goes
        # off-hook; one that does not rings on until picked up within the pickup time).
        drop_offer_leg(s, a, call.id, out)
    else:
        assert a.offer_leg == answered_leg
        a.offer_leg = None
        a.answer_asked = False
    call.offered_to.pop(a.config.id, None)
    others = [s.agents[i] for i in call.offered_to]
    for other in others:
        withdraw(s, other, "answered_elsewhere", now, out)
    stop_ringing_all(s, call)
    a.missed = 0
    a.picked_in_call = False
    a.call_id = call.id
    call.agent_id = a.config.id
    call.state = CallState.CONNECTING
    if answered_leg is not None:
        call.agent_leg = answered_leg
        s.legs[answered_leg] = (call.id, LegRole.AGENT)
        refresh(s, a, now, out)
        for other in others:
            refresh(s, other, now, out)
        return
    leg = s.new_id()
    call.agent_leg = leg
    state.add_leg(s, leg, call.id, LegRole.AGENT)
    # The phone auto-answers; if it does not within the pickup time (at least a few seconds,
    # for a phone that is slow to pick up) the call is re-routed.
    call.connect_timer = s.timers.schedule(
        now + max(s.settings.pickup_seconds, 5.0), TimerKind.CONNECT, call.id
    )
    out.actions.append(
        RingAgent(
            call.id,
            leg,
            a.config.id,
            a.config.cti_id or "",
            caller=call.callback.number if call.callback else "",
        )
    )
    refresh(s, a, now, out)
    for other in others:
        refresh(s, other, now, out)


def withdraw(
    s: EngineState, a: AgentRecord, reason: str, now: float, out: Outcome
) -> CallRecord | None:
    """Take the offer back from the agent (the caller re-routes the call and refreshes)."""
    call_id = a.offer
    if call_id is None:
        return None
    a.offer = None
    s.timers.cancel(a.offer_timer)
    a.offer_timer = 0
    drop_offer_leg(s, a, call_id, out)
    out.events.append(OfferWithdrawn(call_id, a.config.id, reason, now))
    call = s.calls.get(call_id)
    if call is not None:
        call.offered_to.pop(a.config.id, None)
    return call


def route_agent(s: EngineState, a: AgentRecord, now: float, out: Outcome) -> None:
    """The agent just became free: offer them the oldest call waiting in their services."""
    best: tuple[int, str, CallQueue] | None = None
    for sid in a.config.services:
        queued = s.queues.get(sid)
        if not queued:
            continue
        head = queued.peek()
        if head is not None and (best is None or head[0] < best[0]):
            best = (head[0], head[1], queued)
    if best is not None:
        call_id = best[2].pop()
        assert call_id == best[1]
        offer(s, a, s.calls[call_id], now, out)
        return
    ringing = _ringing_all_call(s, a)
    if ringing is not None:
        offer(s, a, ringing, now, out)


def _ringing_all_call(s: EngineState, a: AgentRecord) -> CallRecord | None:
    """The oldest ring-all call ringing other agents of the agent's services, if any."""
    found: CallRecord | None = None
    for sid in a.config.services:
        ringing = s.ringing_all.get(sid)
        if not ringing:
            continue
        for call_id in list(ringing):
            call = s.calls.get(call_id)
            if call is None or call.state is not CallState.OFFERED:
                del ringing[call_id]  # stale: answered, re-queued or ended meanwhile
                continue
            if state.strategy(s, sid) is Strategy.RING_ALL and (
                found is None or call.seq < found.seq
            ):
                found = call
            break
    return found


def stop_ringing_all(s: EngineState, call: CallRecord) -> None:
    ringing = s.ringing_all.get(call.service_id)
    if ringing:
        ringing.pop(call.id, None)


def route_call(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    """Offer a waiting call per the service's strategy, or keep it queued."""
    ready = state.pool(s, call.service_id)
    if state.strategy(s, call.service_id) is Strategy.RING_ALL:
        targets = [s.agents[i] for i in ready]
        auto = [a for a in targets if a.config.auto_answer]
        if auto:
            # An auto-answer agent would take the call at once: ring only them (the longest
            # idle), rather than flash an offer on every other desk and withdraw it.
            targets = [min(auto, key=lambda a: (a.idle_since, a.config.id))]
    else:
        best = ready.pop_best()
        targets = [] if best is None else [s.agents[best]]
    if not targets:
        call.state = CallState.QUEUED
        state.queue(s, call.service_id).push(call.id, call.seq)
        return
    for a in targets:
        offer(s, a, call, now, out)


def ring_all_now(s: EngineState, service_id: int, now: float, out: Outcome) -> None:
    """The service switched to ring-all: calls ringing one agent now ring every free one."""
    ringing = [
        c for c in s.calls.values() if c.service_id == service_id and c.state is CallState.OFFERED
    ]
    ringing.sort(key=lambda c: c.seq)
    # Remembered even when nobody else is free now, so an agent who becomes free later
    # joins the ringing (oldest first, as _ringing_all_call expects).
    s.ringing_all[service_id] = {c.id: None for c in ringing}
    ready = state.pool(s, service_id)
    for call in ringing:
        for agent_id in ready:
            if call.state is not CallState.OFFERED:
                break  # an auto-answer agent took it
            if agent_id not in ready:
                continue  # offered another call meanwhile (an auto answer freed a colleague)
            offer(s, s.agents[agent_id], call, now, out)
