"""An in-memory telephony port for unit tests of the pure core (a test fake, not product code).

It records every action the engine asks for, keeps which legs are up, and builds the events a
switch would report (handing them to `sink` when one is set). It places no real calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import (
    AfterPrompt,
    Bridge,
    CallArrived,
    HangUp,
    LegAnswered,
    LegFailed,
    LegHungUp,
    LegRinging,
    Originate,
    PlaybackFinished,
    PlayPrompt,
    PlayThenHangUp,
    RingAgent,
    StartHoldMusic,
    StopHoldMusic,
    TelephonyAction,
    TelephonyEvent,
)

EventSink = Callable[[TelephonyEvent], None]
A = TypeVar("A")


class MemoryTelephony:
    def __init__(self, sink: EventSink | None = None) -> None:
        self.sink = sink
        self.actions: list[TelephonyAction] = []
        self.emitted: list[TelephonyEvent] = []
        self.registered: set[str] = set()
        self.live_legs: dict[str, str] = {}  # leg id -> call id, legs that are up or ringing
        # Legs hearing the hold music, as the switch keeps it: a bridge ends a leg's hold.
        self.music: set[str] = set()

    # ---- TelephonyPort ----------------------------------------------------------------------
    def execute(self, action: TelephonyAction) -> None:
        self.actions.append(action)
        if isinstance(action, RingAgent | Originate):
            self.live_legs[action.leg_id] = action.call_id
        elif isinstance(action, HangUp | PlayThenHangUp):
            self.live_legs.pop(action.leg_id, None)
            self.music.discard(action.leg_id)
        elif isinstance(action, PlayPrompt) and action.after is AfterPrompt.HANG_UP:
            self.live_legs.pop(action.leg_id, None)
        elif isinstance(action, StartHoldMusic):
            self.music.add(action.leg_id)
        elif isinstance(action, StopHoldMusic):
            self.music.discard(action.leg_id)
        elif isinstance(action, Bridge):
            self.music.difference_update((action.leg_a, action.leg_b))

    def execute_all(self, actions: list[TelephonyAction]) -> None:
        for action in actions:
            self.execute(action)

    def is_registered(self, cti_id: str) -> bool:
        return cti_id in self.registered

    # ---- inspection -------------------------------------------------------------------------
    def of_type(self, kind: type[A]) -> list[A]:
        return [a for a in self.actions if isinstance(a, kind)]

    def last(self, kind: type[A]) -> A:
        found = self.of_type(kind)
        if not found:
            raise AssertionError(f"no {kind.__name__} action was executed")
        return found[-1]

    def clear(self) -> None:
        self.actions.clear()

    # ---- events a switch would report -------------------------------------------------------
    def _emit(self, event: TelephonyEvent) -> TelephonyEvent:
        self.emitted.append(event)
        if self.sink is not None:
            self.sink(event)
        return event

    def call_arrives(
        self, call_id: str, leg_id: str, service_id: int, caller: str, called: str
    ) -> TelephonyEvent:
        self.live_legs[leg_id] = call_id
        return self._emit(CallArrived(call_id, leg_id, service_id, caller, called))

    def ringing(self, leg_id: str) -> TelephonyEvent:
        return self._emit(LegRinging(leg_id))

    def answered(self, leg_id: str) -> TelephonyEvent:
        return self._emit(LegAnswered(leg_id))

    def hung_up(self, leg_id: str, cause: str = "normal") -> TelephonyEvent:
        self.live_legs.pop(leg_id, None)
        self.music.discard(leg_id)
        return self._emit(LegHungUp(leg_id, cause))

    def failed(self, leg_id: str, reason: FailureReason) -> TelephonyEvent:
        self.live_legs.pop(leg_id, None)
        self.music.discard(leg_id)
        return self._emit(LegFailed(leg_id, reason))

    def playback_finished(self, leg_id: str) -> TelephonyEvent:
        return self._emit(PlaybackFinished(leg_id))
