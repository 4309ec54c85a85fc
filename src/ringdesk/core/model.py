"""Values shared by the whole core: statuses, directions, settings.

Everything here is immutable and free of I/O, so the engine can be replayed from its inputs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .dialplan import DEFAULT_PLAN, DialPlan
from .hours import OpeningHours


class AgentStatus(enum.StrEnum):
    """What the widget shows. The first three are chosen by the agent, the rest are driven."""

    LOGGED_OUT = "logged_out"
    BUSINESS = "business"
    READY = "ready"
    REST = "rest"
    RINGING = "ringing"  # a call is being offered (the widget blinks)
    DIALING = "dialing"
    ON_CALL = "on_call"
    ON_CALL_TRANSFER = "on_call_transfer"  # "On Call (Transfer in Progress)"
    ON_HOLD = "on_hold"
    TICKET_PROCESSING = "ticket_processing"  # "Business (Ticket Processing)"


CHOSEN_STATUSES = frozenset({AgentStatus.BUSINESS, AgentStatus.READY, AgentStatus.REST})

STATUS_LABELS: dict[AgentStatus, str] = {
    AgentStatus.LOGGED_OUT: "Logged out",
    AgentStatus.BUSINESS: "Business",
    AgentStatus.READY: "Ready",
    AgentStatus.REST: "Rest",
    AgentStatus.RINGING: "Incoming call",
    AgentStatus.DIALING: "Dialing",
    AgentStatus.ON_CALL: "On Call",
    AgentStatus.ON_CALL_TRANSFER: "On Call (Transfer in Progress)",
    AgentStatus.ON_HOLD: "On Hold",
    AgentStatus.TICKET_PROCESSING: "Business (Ticket Processing)",
}


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallState(enum.StrEnum):
    IN_MENU = "in_menu"  # inbound, hearing an IVR menu and choosing
    QUEUED = "queued"  # inbound, waiting for a Ready agent
    OFFERED = "offered"  # inbound, offered to one agent (or several with ring-all)
    CONNECTING = "connecting"  # agent accepted; the switch is calling the agent's phone
    DIALING = "dialing"  # outbound, customer is being called
    TALKING = "talking"
    ON_HOLD = "on_hold"
    CONSULTING = "consulting"  # customer on hold, agent talks to a transfer target
    VOICEMAIL = "voicemail"  # inbound, the caller leaves a message
    CALLBACK_SETUP = "callback_setup"  # inbound, confirming or keying the number to call back
    CALLBACK_WAIT = "callback_wait"  # a callback whose customer did not answer: the retry delay
    ENDED = "ended"


class Strategy(enum.StrEnum):
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    RING_ALL = "ring_all"


class OverflowAction(enum.StrEnum):
    NONE = "none"
    HANG_UP_WITH_MESSAGE = "hang_up_with_message"
    FORWARD = "forward"


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"  # connected and ended normally
    ABANDONED = "abandoned"  # customer hung up before an agent connected
    OVERFLOWED = "overflowed"
    FORCE_DISCONNECTED = "force_disconnected"
    TRANSFERRED = "transferred"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the agent hung up an outbound call before the customer answered
    INTERRUPTED = "interrupted"  # the server restarted during the call
    REFUSED = "refused"  # inbound, not queued: the service's queue was full (486 Busy Here)
    CLOSED = "closed"  # inbound outside opening hours or on a holiday: the closed message
    FORWARDED = "forwarded"  # inbound, sent on to another number by a menu choice
    CLOSED_FORWARDED = "closed_forwarded"  # inbound while closed, sent on to the closed number
    MENU_ENDED = "menu_ended"  # an IVR menu ended the call (its hang-up choice, or no choice)
    VOICEMAIL = "voicemail"  # the caller left a message (a ticket for the service's agents)
    CALLBACK_FAILED = "callback_failed"  # a callback whose customer never answered, every try


class FailureReason(enum.StrEnum):
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"
    NOT_REGISTERED = "not_registered"


class ClosedAction(enum.StrEnum):
    """What a call gets when the service is closed."""

    MESSAGE = "message"  # the closed message, then hang up
    FORWARD = "forward"  # sent on to `closed_number`
    VOICEMAIL = "voicemail"  # the service's voicemail


class MenuAction(enum.StrEnum):
    QUEUE = "queue"  # into a service's queue (`target`: the service id)
    MENU = "menu"  # to another menu (`target`: the menu id)
    FORWARD = "forward"  # to an outside number (`number`)
    VOICEMAIL = "voicemail"  # a service's voicemail (`target`: the service id)
    REPEAT = "repeat"  # the menu's prompt again
    HANG_UP = "hang_up"  # goodbye, then hang up


@dataclass(frozen=True, slots=True)
class MenuChoice:
    action: MenuAction
    target: int | None = None
    number: str | None = None


@dataclass(frozen=True, slots=True)
class MenuConfig:
    """An IVR menu: its prompt (named "menu.<id>"), a choice per digit, and what happens when
    the caller keys nothing or a digit with no choice: the prompt again (after "menu_invalid"
    for a wrong digit) until `max_tries` are spent, then `fallback`."""

    id: int
    name: str
    choices: tuple[tuple[str, MenuChoice], ...] = ()
    timeout_seconds: float = 6.0  # after the prompt ends
    max_tries: int = 3
    fallback: MenuChoice = MenuChoice(MenuAction.HANG_UP)

    def choice(self, digit: str) -> MenuChoice | None:
        for key, choice in self.choices:
            if key == digit:
                return choice
        return None


@dataclass(frozen=True, slots=True)
class DispositionCode:
    """A wrap-up code (disposition) its agents pick for a call of a service, e.g. "Resolved"."""

    id: int
    label: str


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """A service (queue) as the engine needs it; the store keeps the full record."""

    id: int
    name: str
    inbound_enabled: bool = True  # contract: Use Phone CTI - IB
    outbound_enabled: bool = True  # contract: Use Phone CTI - OB
    calling_numbers: frozenset[str] = frozenset()
    strategy: Strategy = Strategy.LONGEST_IDLE
    max_wait_seconds: float | None = None
    overflow_action: OverflowAction = OverflowAction.NONE
    overflow_number: str | None = None
    service_level_seconds: float = 20.0
    dial_plan: DialPlan = DEFAULT_PLAN  # what its agents may dial (core/dialplan.py)
    hours: OpeningHours | None = None  # None: always open (core/hours.py)
    closed_action: ClosedAction = ClosedAction.MESSAGE
    closed_number: str | None = None  # for ClosedAction.FORWARD
    menu_id: int | None = None  # a call to the service's number hears this menu first
    # Queue announcements: the caller's position and expected wait at join and then every
    # `announce_every_seconds` (0: at join only), and the "queue_message" prompt at each interval.
    announce_position: bool = False
    announce_message: bool = False
    announce_every_seconds: float = 60.0
    voicemail_max_seconds: float = 120.0  # the longest message a caller can leave
    # Queued callback (core/callback.py): "press 1 to be called back" with the announcements;
    # the callback keeps the caller's place; a customer who does not answer is tried again
    # after `callback_retry_seconds`, `callback_max_attempts` times in all.
    callback_enabled: bool = False
    callback_retry_seconds: float = 300.0
    callback_max_attempts: int = 3
    # The admin's position announcement ({position}, {wait}; core/prompts.py); "": built in.
    position_template: str = ""
    # Whether its calls are recorded: None follows the global setting (CtiSettings.record_calls).
    record_calls: bool | None = None
    # Wrap-up codes its agents pick in Ticket Processing (core/dispositions.py); required: the
    # agent's own end of the wrap-up is refused until one is picked (the time limit still ends it).
    dispositions: tuple[DispositionCode, ...] = ()
    disposition_required: bool = False


@dataclass(frozen=True, slots=True)
class CtiSettings:
    """Global CTI settings that change the engine's behaviour."""

    default_login_status: AgentStatus = AgentStatus.BUSINESS
    pickup_seconds: float = 20.0
    # Where an agent who let an offer run out goes, so calls do not bounce back to them.
    pickup_timeout_status: AgentStatus = AgentStatus.REST
    outbound_ticket_on_dial: bool = False  # "Automatic Outbound Ticket Creation" enabled
    wrap_up_seconds: float | None = None  # None: the agent goes Ready themselves
    max_missed_offers: int = 3  # after this many unanswered offers in a row the agent is paused
    max_queued_per_service: int = 50  # a call that would wait behind this many is refused
    record_calls: bool = False  # conversations recorded, unless the service says otherwise
    # A caller whose call is recorded hears the "recording_notice" prompt once, at the queue.
    recording_notice: bool = True


@dataclass(frozen=True, slots=True)
class AgentConfig:
    id: int
    name: str
    cti_id: str | None
    cti_number: str | None
    services: frozenset[int] = field(default_factory=frozenset)  # phone permission per service
    # Auto Answer (headset agents): an offer is answered in the same step, with no Answer click.
    auto_answer: bool = False
    # A SIP phone that does not answer by itself: it rings with the offer (no auto-answer
    # headers) and picking it up answers the call, as Answer in the widget does.
    ring_on_offer: bool = False
    # The browser phone: rung with the offer to set up its media before Answer (RingAgent
    # prewarm), so Answer is heard at once; Answer asks the switch for the leg (AnswerLeg).
    prewarm: bool = False
