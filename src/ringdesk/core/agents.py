"""Agent-side rules: CTI login/logout, the status button, phone reachability, agent deadlines.

Every handler checks everything first and raises before changing anything, so an illegal command
leaves the engine exactly as it was.
"""

from __future__ import annotations

from . import dispositions, offers, state, status, waiting
from .commands import CtiLogin, CtiLogout, SetStatus
from .errors import CoreError, InvalidInput
from .events import PhoneReachabilityChanged
from .model import CHOSEN_STATUSES, STATUS_LABELS, AgentStatus
from .records import AgentRecord
from .snapshots import Outcome
from .state import EngineState
from .telephony import PhoneRegistered


def login(s: EngineState, cmd: CtiLogin, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    if a.logged_in:
        raise state.illegal(s, a, "CTI Login")
    if not a.config.cti_id or not a.config.cti_number:
        raise CoreError(
            "No CTI ID and CTI number are assigned to you; ask an administrator.",
            code="cti_not_assigned",
        )
    if not a.config.services:
        raise CoreError(
            "You have no phone permission on any service; ask an administrator.",
            code="phone_permission_missing",
        )
    default = s.settings.default_login_status
    a.logged_in = True
    a.chosen = default if default in CHOSEN_STATUSES else AgentStatus.BUSINESS
    a.missed = 0
    a.calls_taken = 0
    a.idle_since = now
    a.wrap_up = False
    a.picked_in_call = False
    offers.refresh(s, a, now, out, "login")


def logout(s: EngineState, cmd: CtiLogout, now: float, out: Outcome) -> None:
    a = state.agent_rec(s, cmd.agent_id)
    if not a.logged_in or a.call_id is not None:
        raise state.illegal(s, a, "CTI Logout")
    call = offers.withdraw(s, a, "agent_logged_out", now, out)
    status.leave_wrap_up(s, a)
    a.logged_in = False
    a.chosen = AgentStatus.LOGGED_OUT
    a.note = cmd.note
    if call is not None:
        waiting.offer_lost(s, call, now, out)
    offers.refresh(s, a, now, out, cmd.reason)


def set_status(s: EngineState, cmd: SetStatus, now: float, out: Outcome) -> None:
    chosen = cmd.status
    if chosen not in CHOSEN_STATUSES:
        raise InvalidInput(
            f"{STATUS_LABELS.get(chosen, str(chosen))} cannot be chosen; "
            "choose Business, Ready or Rest."
        )
    a = state.agent_rec(s, cmd.agent_id)
    if not a.logged_in:
        raise state.illegal(s, a, STATUS_LABELS[chosen])
    call = None
    if a.call_id is not None:
        # Kept and applied when the call work ends (see docs/agent-states.md).
        a.picked_in_call = True
    elif a.offer is not None:
        if chosen is not AgentStatus.READY:
            call = offers.withdraw(s, a, "agent_status_changed", now, out)
    elif a.wrap_up:
        dispositions.check_leave(s, a)  # a required wrap-up code first
        status.leave_wrap_up(s, a)
    a.chosen = chosen
    a.note = cmd.note
    if call is not None:
        waiting.offer_lost(s, call, now, out)
    offers.refresh(s, a, now, out, cmd.reason)


def phone_registered(s: EngineState, ev: PhoneRegistered, now: float, out: Outcome) -> None:
    """The switch reports a registration change by CTI id; a phone nobody owns is ignored."""
    agent_id = s.by_cti_id.get(ev.cti_id)
    if agent_id is not None:
        phone_reachable(s, s.agents[agent_id], ev.registered, now, out)


def phone_reachable(
    s: EngineState, a: AgentRecord, reachable: bool, now: float, out: Outcome
) -> None:
    if a.reachable is not reachable:
        a.reachable = reachable
        # First, so the store and the feeds see why an offer below is withdrawn.
        out.events.append(PhoneReachabilityChanged(a.config.id, reachable, now))
    if not reachable and a.offer is not None:
        call = offers.withdraw(s, a, "phone_unreachable", now, out)
        if call is not None:
            waiting.offer_lost(s, call, now, out)
    offers.refresh(s, a, now, out)


def pickup_expired(s: EngineState, a: AgentRecord, now: float, out: Outcome) -> None:
    """The offer rang out: take the call back, give it to someone else, move the agent."""
    call = offers.withdraw(s, a, "pickup_timeout", now, out)
    reason = status.missed(s, a, "pickup_timeout", now, out)
    # Re-route before the agent's own status is refreshed, so another Ready agent gets the
    # call first even when the pickup timeout status is Ready.
    if call is not None:
        waiting.offer_lost(s, call, now, out)
    offers.refresh(s, a, now, out, reason)


def wrap_up_expired(s: EngineState, a: AgentRecord, now: float, out: Outcome) -> None:
    if not a.wrap_up:
        return
    picked = a.picked_in_call
    status.leave_wrap_up(s, a)
    if not picked:
        a.chosen = AgentStatus.READY
    offers.refresh(s, a, now, out, "wrap_up_limit")
