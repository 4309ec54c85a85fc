"""The engine: one object that owns agents, calls and queues, and applies the manual's rules.

    outcome = engine.handle(command, now)          # an agent clicked something
    outcome = engine.on_telephony(event, now)      # the switch reported something
    outcome = engine.on_timer(now)                 # pickup / wrap-up / max-wait deadlines
    engine.next_deadline() -> float | None         # when on_timer must be called next

An Outcome holds domain events (persist, then publish) and telephony actions (for the switch).
Illegal commands raise a CoreError subclass and change nothing.

`Engine` is only the facade: it holds one `EngineState` (state.py) and sends each input to the
rule module that decides it, by an exhaustive match. The rules are plain functions taking the
state: agents.py (status button, login, phone reachability), callcontrol.py (call buttons),
calls.py (switch reports), configure.py (admin changes, restart), built on offers.py (routing,
offers, the status refresh), waiting.py (re-queue, maximum wait, overflow), endings.py (ending
calls and consultations) and status.py (the shown status and the pools); queries.py builds the
snapshots. docs/agent-states.md is the table of it all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from . import (
    agents,
    announce,
    arrival,
    callback,
    callcontrol,
    calls,
    configure,
    dispositions,
    ivr,
    monitor,
    queries,
)
from .callback import PendingCallback
from .commands import (
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
    PickDisposition,
    Resume,
    SetStatus,
    StartConsultation,
    StopMonitoring,
)
from .deadlines import TimerKind
from .model import AgentConfig, CtiSettings, MenuConfig, ServiceConfig
from .records import AgentRecord, CallRecord
from .snapshots import AgentView, CallView, OfferView, Outcome, QueueView
from .state import EngineState, agent_rec, new_state
from .telephony import (
    CallArrived,
    CallRecording,
    DigitPressed,
    LegAnswered,
    LegFailed,
    LegHungUp,
    LegRinging,
    PhoneRegistered,
    PlaybackFinished,
    TelephonyEvent,
    VoicemailRecorded,
)

__all__ = [
    "AgentView",
    "CallView",
    "Engine",
    "OfferView",
    "Outcome",
    "PendingCallback",
    "QueueView",
]


class Engine:
    """Public surface used by the runtime (app.py)."""

    __slots__ = ("_state",)

    def __init__(
        self,
        settings: CtiSettings,
        services: list[ServiceConfig] | None = None,
        agents: list[AgentConfig] | None = None,
        new_id: Callable[[], str] | None = None,
        menus: list[MenuConfig] | None = None,
    ) -> None:
        self._state = new_state(settings, services, agents, new_id)
        configure.set_menus(self._state, menus or [])

    # ---- inputs -----------------------------------------------------------------------------
    def handle(self, command: Command, now: float) -> Outcome:
        s = self._state
        out = Outcome()
        match command:
            case SetStatus():
                agents.set_status(s, command, now, out)
            case Answer():
                callcontrol.answer(s, command, now, out)
            case CtiLogin():
                agents.login(s, command, now, out)
            case CtiLogout():
                agents.logout(s, command, now, out)
            case Dial():
                callcontrol.dial(s, command, now, out)
            case Hold():
                callcontrol.hold(s, command, now, out)
            case Resume():
                callcontrol.resume(s, command, now, out)
            case StartConsultation():
                callcontrol.start_consultation(s, command, now, out)
            case ConnectToCustomer():
                callcontrol.connect_to_customer(s, command, now, out)
            case CancelConsultation():
                callcontrol.cancel_consultation(s, command, now, out)
            case ForceDisconnect():
                callcontrol.force_disconnect(s, command, now, out)
            case EndCall():
                callcontrol.end(s, command, now, out)
            case MonitorCall():
                monitor.start(s, command, now, out)
            case StopMonitoring():
                monitor.stop(s, command, now, out)
            case PickDisposition():
                dispositions.pick(s, command, now, out)
            case _:
                assert_never(command)
        if s.monitors:
            monitor.check(s, now, out)
        return out

    def on_telephony(self, event: TelephonyEvent, now: float) -> Outcome:
        """Never raises: a report about an unknown call or leg is ignored."""
        s = self._state
        out = Outcome()
        match event:
            case CallArrived():
                arrival.call_arrived(s, event, now, out)
            case LegAnswered():
                if not monitor.leg_answered(s, event.leg_id, now, out):
                    calls.leg_answered(s, event, now, out)
            case LegHungUp():
                if not monitor.leg_gone(s, event.leg_id, False, now, out):
                    calls.leg_hung_up(s, event, now, out)
            case LegFailed():
                if not monitor.leg_gone(s, event.leg_id, True, now, out):
                    calls.leg_failed(s, event, now, out)
            case PhoneRegistered():
                agents.phone_registered(s, event, now, out)
            case DigitPressed():
                calls.digit_pressed(s, event, now, out)
            case PlaybackFinished():
                calls.playback_finished(s, event, now)
            case VoicemailRecorded():
                calls.voicemail_recorded(s, event, now, out)
            case CallRecording():
                calls.call_recording(s, event, now, out)
            case LegRinging():
                pass  # informational: nothing to decide
            case _:
                assert_never(event)
        if s.monitors:
            monitor.check(s, now, out)
        return out

    def on_timer(self, now: float) -> Outcome:
        out = Outcome()
        _fire_due(self._state, now, out)
        if self._state.monitors:
            monitor.check(self._state, now, out)
        return out

    def next_deadline(self) -> float | None:
        return self._state.timers.next_deadline()

    # ---- configuration (admin changes; may re-route waiting calls) ----------------------------
    def update_settings(self, settings: CtiSettings, now: float) -> Outcome:
        configure.update_settings(self._state, settings)
        return self.on_timer(now)  # a shorter limit may already have passed

    def upsert_service(self, service: ServiceConfig, now: float) -> Outcome:
        out = Outcome()
        configure.upsert_service(self._state, service, now, out)
        _fire_due(self._state, now, out)
        return out

    def set_menus(self, menus: list[MenuConfig]) -> None:
        """The IVR menus as they are now. A caller in a menu that is gone leaves it at its next
        key or timeout (its fallback is gone with it: goodbye)."""
        configure.set_menus(self._state, menus)

    def upsert_agent(self, agent: AgentConfig, now: float) -> Outcome:
        out = Outcome()
        configure.upsert_agent(self._state, agent, now, out)
        return out

    def set_phone_reachable(self, agent_id: int, reachable: bool, now: float) -> Outcome:
        """Registration came or went; an unreachable phone is never offered calls.

        The same rule as a PhoneRegistered event, addressed by agent id (raises NotFound for an
        unknown agent, where the event is ignored).
        """
        s = self._state
        out = Outcome()
        agents.phone_reachable(s, agent_rec(s, agent_id), reachable, now, out)
        return out

    def restore_agent(self, agent_id: int, chosen: str, since: float) -> None:
        configure.restore_agent(self._state, agent_id, chosen, since)

    def restore_handle_times(self, service_id: int, talk_seconds: list[float]) -> None:
        """After a restart: the talk times of the service's last answered calls, oldest first
        (the expected wait announced to callers, announce.py)."""
        for seconds in talk_seconds[-announce.RECENT_CALLS :]:
            announce.answered(self._state, service_id, seconds)

    def restore_callback(self, pending: PendingCallback) -> None:
        """After a restart: a callback back in its queue (call these oldest first, before
        any call arrives; one whose service is gone is dropped)."""
        callback.restore(self._state, pending)

    # ---- queries ----------------------------------------------------------------------------
    def agent(self, agent_id: int) -> AgentView:
        return queries.agent(self._state, agent_id)

    def agents(self) -> list[AgentView]:
        return queries.agents(self._state)

    def call(self, call_id: str) -> CallView:
        return queries.call(self._state, call_id)

    def calls(self) -> list[CallView]:
        return queries.calls(self._state)

    def queues(self) -> list[QueueView]:
        """Per service, the inbound callers not yet talking to an agent, oldest first."""
        return queries.queues(self._state)

    def ready_agents(
        self, service_ids: frozenset[int] | None = None, query: str = ""
    ) -> list[AgentView]:
        """Ready agents whose phone is registered (optionally of some services, name/CTI number
        containing query), by name."""
        return queries.ready_agents(self._state, service_ids, query)


def _fire_due(s: EngineState, now: float, out: Outcome) -> None:
    """Decide every deadline at or before `now`, in deadline order."""
    while (due := s.timers.pop_due(now)) is not None:
        _token, kind, key = due
        match kind:
            case TimerKind.PICKUP:
                if (a := _timer_agent(s, key)) is not None:
                    a.offer_timer = 0
                    agents.pickup_expired(s, a, now, out)
            case TimerKind.WRAP_UP:
                if (a := _timer_agent(s, key)) is not None:
                    a.wrap_timer = 0
                    agents.wrap_up_expired(s, a, now, out)
            case TimerKind.CONNECT:
                if (call := _timer_call(s, key)) is not None:
                    call.connect_timer = 0
                    calls.connect_expired(s, call, now, out)
            case TimerKind.MAX_WAIT:
                if (call := _timer_call(s, key)) is not None:
                    calls.max_wait_expired(s, call, now, out)
            case TimerKind.MENU:
                if (call := _timer_call(s, key)) is not None:
                    ivr.timed_out(s, call, now, out)
            case TimerKind.ANNOUNCE:
                if (call := _timer_call(s, key)) is not None:
                    announce.due(s, call, now, out)
            case TimerKind.CALLBACK:
                if (call := _timer_call(s, key)) is not None:
                    callback.due(s, call, now, out)
            case _:
                assert_never(kind)


# A deadline's key is an agent id or a call id, by its kind; one that left meanwhile is None.
def _timer_agent(s: EngineState, key: int | str) -> AgentRecord | None:
    return s.agents.get(key) if isinstance(key, int) else None


def _timer_call(s: EngineState, key: int | str) -> CallRecord | None:
    return s.calls.get(key) if isinstance(key, str) else None
