"""An agent's shown status and the facts it is derived from, and the agent's place in the pools.

The shown status of an agent is never set directly: it is derived from facts (logged in, offer,
call, wrap-up, chosen status) by `shown`, and `offers.refresh` reports a change and keeps the
Ready pools in step. So a click racing an offer cannot leave a status nobody can leave.
Nothing here routes a call; that is offers.py, which builds on these.
"""

from __future__ import annotations

from . import state
from .deadlines import TimerKind
from .events import AgentPaused
from .model import CHOSEN_STATUSES, AgentStatus, CallState
from .records import AgentRecord
from .routing import Key, strategy_key
from .snapshots import Outcome
from .state import EngineState

_CALL_STATUS = {
    CallState.DIALING: AgentStatus.DIALING,
    CallState.ON_HOLD: AgentStatus.ON_HOLD,
    CallState.CONSULTING: AgentStatus.ON_CALL_TRANSFER,
}


def shown(s: EngineState, a: AgentRecord) -> AgentStatus:
    if not a.logged_in:
        return AgentStatus.LOGGED_OUT
    if a.call_id is not None:
        call = s.calls[a.call_id]
        if call.agent_id == a.config.id:
            return _CALL_STATUS.get(call.state, AgentStatus.ON_CALL)
        # The target of a colleague's consultation call: On Hold while she holds her end.
        consult = call.consult
        if consult is not None and consult.agent_id == a.config.id and consult.held:
            return AgentStatus.ON_HOLD
        return AgentStatus.ON_CALL
    if a.monitoring is not None:  # a supervisor on a colleague's call takes no offers
        return AgentStatus.ON_CALL
    if a.offer is not None:
        return AgentStatus.RINGING
    if a.wrap_up:
        return AgentStatus.TICKET_PROCESSING
    return a.chosen


def key(s: EngineState, service_id: int, a: AgentRecord) -> Key:
    return strategy_key(
        state.strategy(s, service_id),
        idle_since=a.idle_since,
        last_offered=a.last_offered,
        calls_taken=a.calls_taken,
    )


def index(s: EngineState, a: AgentRecord) -> None:
    for sid in a.config.services:
        state.pool(s, sid).add(a.config.id, key(s, sid, a))
    a.indexed = True


def unindex(s: EngineState, a: AgentRecord) -> None:
    for sid in a.config.services:
        found = s.pools.get(sid)
        if found is not None:
            found.discard(a.config.id)
    a.indexed = False


def start_wrap_up(s: EngineState, a: AgentRecord, now: float) -> None:
    a.wrap_up = True
    limit = s.settings.wrap_up_seconds
    if limit is not None:
        a.wrap_timer = s.timers.schedule(now + limit, TimerKind.WRAP_UP, a.config.id)


def leave_wrap_up(s: EngineState, a: AgentRecord) -> None:
    a.wrap_up = False
    s.timers.cancel(a.wrap_timer)
    a.wrap_timer = 0
    a.picked_in_call = False


def missed(s: EngineState, a: AgentRecord, reason: str, now: float, out: Outcome) -> str:
    """An offer rang out (or the phone failed to pick up): move the agent out of Ready."""
    a.missed += 1
    to = s.settings.pickup_timeout_status
    if to not in CHOSEN_STATUSES:
        to = AgentStatus.REST
    limit = s.settings.max_missed_offers
    if limit > 0 and a.missed >= limit:
        if to is AgentStatus.READY:
            to = AgentStatus.REST
        out.events.append(AgentPaused(a.config.id, a.missed, to, now))
        reason = "missed_offers"
    a.chosen = to
    a.picked_in_call = False
    return reason
