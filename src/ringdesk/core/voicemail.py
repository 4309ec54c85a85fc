"""Voicemail: the caller hears the service's greeting and leaves a message, which becomes a
ticket for the service's agents with the recording (the store keeps it with the ticket).

The switch records (RecordVoicemail) until the caller hangs up, presses # or the service's
longest message passes, then reports VoicemailRecorded and the leg's end. A message of under a
second is no message: the call ends abandoned, without a ticket.
"""

from __future__ import annotations

from . import endings
from .events import CallRouted, VoicemailLeft
from .model import CallOutcome, CallState, ServiceConfig
from .prompts import Sound, per
from .records import CallRecord
from .snapshots import Outcome
from .state import EngineState
from .telephony import RecordVoicemail, VoicemailRecorded

SHORTEST = 1.0  # seconds: anything shorter is a hang-up at the beep


def start(
    s: EngineState, call: CallRecord, service: ServiceConfig, now: float, out: Outcome
) -> None:
    assert call.customer_leg is not None
    s.timers.cancel(call.flow_timer)
    call.flow_timer = 0
    call.menu_id = None
    call.service_id = service.id
    call.state = CallState.VOICEMAIL
    note = f"Voicemail of {service.name}"
    call.path.append((now, note))
    out.events.append(CallRouted(call.id, service.id, call.customer_number, call.called, note, now))
    greeting = (Sound(per("voicemail", service.id)),)
    out.actions.append(
        RecordVoicemail(call.id, call.customer_leg, greeting, service.voicemail_max_seconds)
    )


def recorded(
    s: EngineState, call: CallRecord, ev: VoicemailRecorded, now: float, out: Outcome
) -> None:
    if call.state is not CallState.VOICEMAIL or call.ticket or ev.seconds < SHORTEST:
        return
    call.ticket = True  # the message is the ticket's: the call's end closes it
    out.events.append(
        VoicemailLeft(
            call.id,
            call.service_id,
            call.customer_number,
            ev.path,
            ev.seconds,
            now,
            tuple(call.path),
        )
    )


def ended(s: EngineState, call: CallRecord, by: str, now: float, out: Outcome, leg: str) -> None:
    """The caller's leg is gone (they hung up, or the switch did after the message)."""
    outcome = CallOutcome.VOICEMAIL if call.ticket else CallOutcome.ABANDONED
    endings.end_call(s, call, outcome, by, now, out, keep={leg})
