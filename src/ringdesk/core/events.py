"""Domain events: past facts the engine reports, for the store (persist) and the feed (publish).

Every event carries `at`, the engine's clock when it happened (seconds, as passed in by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import AgentStatus, CallOutcome, Direction


@dataclass(frozen=True, slots=True)
class AgentStatusChanged:
    agent_id: int
    status: AgentStatus  # what the widget shows now
    chosen: AgentStatus  # the agent's own choice, applied when the call work ends
    at: float
    reason: str = ""  # e.g. "pickup_timeout", "missed_offers", "wrap_up_limit", "restart"


@dataclass(frozen=True, slots=True)
class CallQueued:
    call_id: str
    service_id: int
    caller: str
    called: str
    position: int
    at: float


@dataclass(frozen=True, slots=True)
class CallRouted:
    """A step of an inbound caller's way before the queue (a menu heard, a key chosen), kept
    with the call record and written into the ticket's timeline."""

    call_id: str
    service_id: int
    caller: str
    called: str
    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class CallOffered:
    call_id: str
    agent_id: int
    service_id: int
    caller: str
    expires_at: float
    at: float
    callback: bool = False  # a queued callback: Answer calls the customer back


@dataclass(frozen=True, slots=True)
class OfferWithdrawn:
    call_id: str
    agent_id: int
    reason: str  # "pickup_timeout", "answered_elsewhere", "caller_hung_up", "agent_logged_out"
    at: float


@dataclass(frozen=True, slots=True)
class CallDialed:
    """An outbound call was placed by an agent."""

    call_id: str
    agent_id: int
    service_id: int
    number: str
    calling_number: str
    at: float


@dataclass(frozen=True, slots=True)
class CallConnected:
    """The customer and the agent are talking."""

    call_id: str
    agent_id: int
    service_id: int
    direction: Direction
    customer_number: str
    wait_seconds: float  # time from arrival (or dial) to connect
    at: float


@dataclass(frozen=True, slots=True)
class CallHeld:
    call_id: str
    agent_id: int
    at: float


@dataclass(frozen=True, slots=True)
class CallResumed:
    call_id: str
    agent_id: int
    at: float


@dataclass(frozen=True, slots=True)
class ConsultationStarted:
    call_id: str
    agent_id: int
    target_number: str | None
    target_agent_id: int | None
    at: float


@dataclass(frozen=True, slots=True)
class ConsultationAnswered:
    call_id: str
    agent_id: int
    at: float
    target_agent_id: int | None = None  # the consulted agent (their widget shows it too)


@dataclass(frozen=True, slots=True)
class ConsultationHeld:
    """The consulted agent put the consultation on hold: the handling agent hears the music."""

    call_id: str
    agent_id: int  # the handling agent, who is held
    target_agent_id: int  # the consulted agent, who holds
    at: float


@dataclass(frozen=True, slots=True)
class ConsultationResumed:
    """The consulted agent took the consultation off hold: the two agents talk again."""

    call_id: str
    agent_id: int
    target_agent_id: int
    at: float


@dataclass(frozen=True, slots=True)
class ConsultationEnded:
    """The consultation leg ended without a transfer (Cancel, target hung up, or failed)."""

    call_id: str
    agent_id: int
    reason: str
    at: float
    target_agent_id: int | None = None  # the consulted agent (their widget shows it too)


@dataclass(frozen=True, slots=True)
class CallTransferred:
    call_id: str
    from_agent_id: int
    to_agent_id: int | None
    to_number: str | None
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    service_id: int
    direction: Direction
    agent_id: int | None
    outcome: CallOutcome
    wait_seconds: float
    talk_seconds: float
    ended_by: str  # "customer", "agent", "system"
    at: float
    cause: str = ""  # why, when it was not a hang-up: e.g. MEDIA_TIMEOUT (core/telephony.py)
    # The caller, for a call that ends without ever having been queued (refused, rejected).
    customer_number: str = ""


@dataclass(frozen=True, slots=True)
class TicketOpened:
    """Ask the store to open a ticket for the call (it assigns the id and matches the customer)."""

    call_id: str
    agent_id: int
    service_id: int
    direction: Direction
    customer_number: str
    at: float
    path: tuple[tuple[float, str], ...] = ()  # the caller's way here (CallRouted details)


@dataclass(frozen=True, slots=True)
class VoicemailLeft:
    """A caller left a message: a ticket for the service's agents, the recording with it."""

    call_id: str
    service_id: int
    customer_number: str
    path: str  # the WAV, relative to the data directory
    seconds: float
    at: float
    path_steps: tuple[tuple[float, str], ...] = ()  # the caller's way (CallRouted details)


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    """The call is recorded into `path` (relative to the data directory): kept with its
    ticket, listed there for those who may hear it."""

    call_id: str
    path: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """A queued caller asked to be called back at `number` and hung up: the callback keeps
    the caller's place; a ticket for the service's agents (nobody's until one calls back)."""

    call_id: str
    service_id: int
    caller: str
    called: str
    number: str
    arrived_at: float  # when the caller joined the queue: the callback's place in it
    at: float
    path: tuple[tuple[float, str], ...] = ()  # the caller's way (CallRouted details)


@dataclass(frozen=True, slots=True)
class CallbackAttempted:
    """An agent took the callback: the switch calls the customer (attempt 1, 2, ...)."""

    call_id: str
    agent_id: int
    attempt: int
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackAttemptFailed:
    """The customer did not answer the callback (`reason` a FailureReason value, or
    "cancelled" when the agent gave up): tried again at `next_try_at`, or never (None)."""

    call_id: str
    agent_id: int
    attempt: int
    reason: str
    next_try_at: float | None
    at: float


@dataclass(frozen=True, slots=True)
class CallbackClosed:
    """A callback is over: talked (answered), or every attempt failed (callback_failed)."""

    call_id: str
    outcome: CallOutcome
    at: float


@dataclass(frozen=True, slots=True)
class CallFailed:
    """A call could not be set up (busy, no answer, rejected, unreachable, phone not registered).

    `reason` is a FailureReason value, so the widget can say in plain words what went wrong.
    """

    call_id: str
    agent_id: int
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentPaused:
    """The agent missed too many offers in a row and was moved out of Ready."""

    agent_id: int
    missed: int
    status: AgentStatus
    at: float


@dataclass(frozen=True, slots=True)
class DispositionPicked:
    """The agent picked the wrap-up code of a call (again: the new one replaces it)."""

    call_id: str
    agent_id: int
    service_id: int
    code_id: int
    label: str
    at: float


@dataclass(frozen=True, slots=True)
class PhoneReachabilityChanged:
    """The agent's phone became reachable (registered) or unreachable: calls are offered to the
    agent only while it is reachable, so their shown state must be republished."""

    agent_id: int
    reachable: bool
    at: float


@dataclass(frozen=True, slots=True)
class MonitorChanged:
    """A supervisor's place on a call: asked (their phone rings), connected, a new mode, or
    gone (`mode` None, with the reason: "stopped", "supervisor_hung_up", "call_changed",
    "failed")."""

    call_id: str
    supervisor_id: int
    agent_id: int  # the call's agent (their widget may show it)
    mode: str | None
    connected: bool
    at: float
    reason: str = ""


DomainEvent = (
    MonitorChanged
    | AgentStatusChanged
    | CallQueued
    | CallRouted
    | CallOffered
    | OfferWithdrawn
    | CallDialed
    | CallConnected
    | CallHeld
    | CallResumed
    | ConsultationStarted
    | ConsultationAnswered
    | ConsultationHeld
    | ConsultationResumed
    | ConsultationEnded
    | CallTransferred
    | CallEnded
    | TicketOpened
    | VoicemailLeft
    | RecordingStarted
    | CallbackRequested
    | CallbackAttempted
    | CallbackAttemptFailed
    | CallbackClosed
    | AgentPaused
    | CallFailed
    | PhoneReachabilityChanged
    | DispositionPicked
)
