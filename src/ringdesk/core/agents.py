"""Agent-side rules: CTI login/logout, the status button, phone reachability, agent deadlines.

Every handler checks everything first and raises before changing anything, so an illegal command
leaves the engine exactly as it was.
"""

from __future__ import annotations

from .base import EngineBase
from .commands import CtiLogin, CtiLogout, SetStatus
from .errors import CoreError, InvalidInput
from .model import CHOSEN_STATUSES, STATUS_LABELS, AgentStatus
from .records import AgentRecord
from .views import Outcome


class AgentRules(EngineBase):
    def _cti_login(self, cmd: CtiLogin, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        if a.logged_in:
            raise self._illegal(a, "CTI Login")
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
        default = self._settings.default_login_status
        a.logged_in = True
        a.chosen = default if default in CHOSEN_STATUSES else AgentStatus.BUSINESS
        a.missed = 0
        a.calls_taken = 0
        a.idle_since = now
        a.wrap_up = False
        a.picked_in_call = False
        self._refresh(a, now, out, "login")

    def _cti_logout(self, cmd: CtiLogout, now: float, out: Outcome) -> None:
        a = self._agent_rec(cmd.agent_id)
        if not a.logged_in or a.call_id is not None:
            raise self._illegal(a, "CTI Logout")
        call = self._withdraw(a, "agent_logged_out", now, out)
        self._leave_wrap_up(a)
        a.logged_in = False
        a.chosen = AgentStatus.LOGGED_OUT
        if call is not None:
            self._offer_lost(call, now, out)
        self._refresh(a, now, out, "logout")

    def _set_status(self, cmd: SetStatus, now: float, out: Outcome) -> None:
        status = cmd.status
        if status not in CHOSEN_STATUSES:
            raise InvalidInput(
                f"{STATUS_LABELS.get(status, str(status))} cannot be chosen; "
                "choose Business, Ready or Rest."
            )
        a = self._agent_rec(cmd.agent_id)
        if not a.logged_in:
            raise self._illegal(a, STATUS_LABELS[status])
        call = None
        if a.call_id is not None:
            # Kept and applied when the call work ends (see docs/agent-states.md).
            a.picked_in_call = True
        elif a.offer is not None:
            if status is not AgentStatus.READY:
                call = self._withdraw(a, "agent_status_changed", now, out)
        elif a.wrap_up:
            self._leave_wrap_up(a)
        a.chosen = status
        if call is not None:
            self._offer_lost(call, now, out)
        self._refresh(a, now, out)

    def _phone_reachable(self, a: AgentRecord, reachable: bool, now: float, out: Outcome) -> None:
        a.reachable = reachable
        if not reachable and a.offer is not None:
            call = self._withdraw(a, "phone_unreachable", now, out)
            if call is not None:
                self._offer_lost(call, now, out)
        self._refresh(a, now, out)

    def _pickup_expired(self, a: AgentRecord, now: float, out: Outcome) -> None:
        """The offer rang out: take the call back, give it to someone else, move the agent."""
        call = self._withdraw(a, "pickup_timeout", now, out)
        reason = self._missed(a, "pickup_timeout", now, out)
        # Re-route before the agent's own status is refreshed, so another Ready agent gets the
        # call first even when the pickup timeout status is Ready.
        if call is not None:
            self._offer_lost(call, now, out)
        self._refresh(a, now, out, reason)

    def _wrap_up_expired(self, a: AgentRecord, now: float, out: Outcome) -> None:
        if not a.wrap_up:
            return
        picked = a.picked_in_call
        self._leave_wrap_up(a)
        if not picked:
            a.chosen = AgentStatus.READY
        self._refresh(a, now, out, "wrap_up_limit")
