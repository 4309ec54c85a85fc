"""The telephony port: actions the engine asks of the switch, and events the switch reports.

A leg is one side of a call as the switch sees it (the customer's, the agent's phone, a
consultation target). Leg ids are made by whoever creates the leg: the switch for an inbound
customer leg, the engine for legs it asks the switch to place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from .model import FailureReason
from .prompts import Prompt

# ---- actions (engine -> switch), imperative names ---------------------------------------------


@dataclass(frozen=True, slots=True)
class StartQueueMusic:
    call_id: str
    leg_id: str  # the customer's leg


@dataclass(frozen=True, slots=True)
class RingAgent:
    """Call the agent's registered phone; auto_answer asks the phone to pick up by itself."""

    call_id: str
    leg_id: str
    agent_id: int
    cti_id: str
    auto_answer: bool = True
    # The browser phone rung with the offer: it answers by itself at once, so its media (ICE,
    # DTLS) is up before the agent clicks Answer; the switch reports the leg answered only on
    # AnswerLeg (until then the leg is bridged to nothing: nobody hears anybody).
    prewarm: bool = False
    # Who the phone shows as calling when the switch has no caller leg to take it from (a
    # callback: the customer the agent is about to call back); "": the call's caller.
    caller: str = ""


@dataclass(frozen=True, slots=True)
class AnswerLeg:
    """The agent clicked Answer: report the prewarmed offer leg answered (LegAnswered) as soon
    as its phone is up (at once when it already is)."""

    call_id: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class Originate:
    """Call an outside number through the trunk with the calling number as caller ID."""

    call_id: str
    leg_id: str
    number: str
    calling_number: str


@dataclass(frozen=True, slots=True)
class Bridge:
    """Relay media between two answered legs (answering the first one if it is still ringing).
    `record`: the engine decided the conversation is recorded (the call's service, else the
    global setting): the switch records the pair into a 2-channel WAV and reports
    CallRecording."""

    call_id: str
    leg_a: str
    leg_b: str
    record: bool = False


@dataclass(frozen=True, slots=True)
class StartHoldMusic:
    """Put the leg on hold: the switch plays hold music to it and stops relaying."""

    call_id: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class StopHoldMusic:
    call_id: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class PlayThenHangUp:
    """Play a named prompt (core/prompts.py: "force_disconnect", "overflow", "closed.2",
    "goodbye"...) to the leg, then hang it up."""

    call_id: str
    leg_id: str
    sound: str


class AfterPrompt(enum.StrEnum):
    MUSIC = "music"  # the queue music again (an announcement over the queue)
    SILENCE = "silence"  # nothing: the caller keys a choice (a menu)
    HANG_UP = "hang_up"


@dataclass(frozen=True, slots=True)
class PlayPrompt:
    """Play the prompt's parts in order to the leg, then `after`. `answer`: answer the caller's
    call first (a menu: phones send their keys once answered); else early media will do. The
    switch reports PlaybackFinished when the prompt has been played (not when replaced)."""

    call_id: str
    leg_id: str
    prompt: Prompt
    after: AfterPrompt = AfterPrompt.MUSIC
    answer: bool = False


@dataclass(frozen=True, slots=True)
class RecordVoicemail:
    """Answer the caller, play the greeting and a beep, then record what the caller says until
    they hang up, press #, or `max_seconds` pass (then "goodbye" and the hang-up). The switch
    reports VoicemailRecorded, then the leg's end."""

    call_id: str
    leg_id: str
    greeting: Prompt
    max_seconds: float


@dataclass(frozen=True, slots=True)
class Monitor:
    """The supervisor's answered leg on a call whose customer and agent are bridged: "listen",
    "whisper" or "barge" (media/mix.py), again to change it; None: a plain relay again."""

    call_id: str
    leg_id: str  # the supervisor's
    customer_leg: str
    agent_leg: str
    mode: str | None


@dataclass(frozen=True, slots=True)
class HangUp:
    call_id: str
    leg_id: str
    reason: str = "normal"


TelephonyAction = (
    StartQueueMusic
    | RingAgent
    | AnswerLeg
    | Originate
    | Bridge
    | StartHoldMusic
    | StopHoldMusic
    | PlayThenHangUp
    | PlayPrompt
    | RecordVoicemail
    | Monitor
    | HangUp
)

# ---- events (switch -> engine), past facts ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallArrived:
    """An inbound call reached a service's number. The switch has not answered it yet."""

    call_id: str
    leg_id: str
    service_id: int
    caller: str
    called: str


@dataclass(frozen=True, slots=True)
class LegRinging:
    leg_id: str


@dataclass(frozen=True, slots=True)
class LegAnswered:
    leg_id: str


MEDIA_TIMEOUT = "media_timeout"  # LegHungUp cause: the far end sent no media for too long
QUEUE_FULL = "queue_full"  # HangUp reason: the service's queue is full (the switch sends 486)
# LegHungUp cause: the far end stopped refreshing the session (RFC 4028 session timer)
SESSION_TIMER_EXPIRED = "session_timer_expired"
# The causes by which the switch, not a person, ended a call whose far end was gone.
LOST_CAUSES = frozenset({MEDIA_TIMEOUT, SESSION_TIMER_EXPIRED})


@dataclass(frozen=True, slots=True)
class LegHungUp:
    """The far end of the leg hung up (BYE or CANCEL), or the switch hung it up on request."""

    leg_id: str
    cause: str = "normal"


@dataclass(frozen=True, slots=True)
class LegFailed:
    """A leg the engine asked for could not be set up."""

    leg_id: str
    reason: FailureReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    leg_id: str


@dataclass(frozen=True, slots=True)
class DigitPressed:
    """The caller on this leg keyed a digit (0-9, *, #, A-D): RFC 4733, SIP INFO or in-band."""

    leg_id: str
    digit: str


@dataclass(frozen=True, slots=True)
class VoicemailRecorded:
    """The caller's message on this leg is in `path` (a WAV the switch wrote under its data
    directory, relative to it), `seconds` long."""

    leg_id: str
    path: str
    seconds: float


@dataclass(frozen=True, slots=True)
class PhoneRegistered:
    """An agent's phone (by its CTI id) registered, or its registration expired or was removed
    (registered=False). A repeated report changes nothing."""

    cti_id: str
    registered: bool


@dataclass(frozen=True, slots=True)
class CallRecording:
    """The call this leg is in is being recorded (a Bridge with `record`) into `path`, a
    2-channel WAV relative to the switch's data directory: one per pair of legs bridged."""

    leg_id: str
    path: str


TelephonyEvent = (
    CallArrived
    | LegRinging
    | LegAnswered
    | LegHungUp
    | LegFailed
    | PlaybackFinished
    | DigitPressed
    | VoicemailRecorded
    | CallRecording
    | PhoneRegistered
)


class TelephonyPort(Protocol):
    """What the runtime needs of a switch. The SIP switch and the in-memory fake implement it."""

    def execute(self, action: TelephonyAction) -> None:
        """Start carrying out an action; results come back as events through the sink."""

    def is_registered(self, cti_id: str) -> bool:
        """Whether the agent's phone has a live registration (calls can reach it)."""
