"""The engine's mutable bookkeeping for one agent and one call. Private to ringdesk.core."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .model import AgentConfig, AgentStatus, CallState, Direction


@dataclass(slots=True)
class AgentRecord:
    config: AgentConfig
    logged_in: bool = False
    # The agent's own choice (Business / Ready / Rest), applied whenever no call work is going on.
    chosen: AgentStatus = AgentStatus.LOGGED_OUT
    # What the widget shows, derived from the facts below (offers.refresh); kept to see changes.
    status: AgentStatus = AgentStatus.LOGGED_OUT
    announced_chosen: AgentStatus = AgentStatus.LOGGED_OUT  # `chosen` as last reported
    since: float = 0.0
    reason: str = ""
    note: str = ""  # words with `reason` when someone else changed the status (a supervisor)
    reachable: bool = False
    offer: str | None = None  # call id offered to this agent (the widget blinks)
    offer_expires: float = 0.0
    offer_timer: int = 0
    # The phone's leg rung with the offer (AgentConfig.ring_on_offer), until the offer ends.
    offer_leg: str | None = None
    answer_asked: bool = False  # Answer clicked on a prewarmed offer leg (AnswerLeg sent)
    call_id: str | None = None  # the call this agent is in (as its agent or consultation target)
    wrap_up: bool = False  # Business (Ticket Processing)
    wrap_timer: int = 0
    picked_in_call: bool = False  # chose a status during the call (applied after wrap-up)
    # The call whose wrap-up runs, its service and the wrap-up code picked (core/dispositions.py)
    wrap_call: str | None = None
    wrap_service: int | None = None
    disposition: int | None = None
    missed: int = 0  # offers in a row that rang out
    idle_since: float = 0.0  # longest-idle key: login or end of the last call
    calls_taken: int = 0  # fewest-calls key: calls connected since login
    last_offered: int = 0  # round-robin key: sequence number of the last offer
    indexed: bool = False  # currently in the Ready pools of its services
    monitoring: str | None = None  # the call this supervisor listens to (shown On Call)


class LegRole(enum.Enum):
    CUSTOMER = "customer"
    AGENT = "agent"
    CONSULT = "consult"
    OFFER = "offer"  # an agent's phone rung with the offer; picking it up answers the call


@dataclass(slots=True)
class ConsultRecord:
    leg_id: str
    number: str | None
    agent_id: int | None
    answered: bool = False
    # The consulted agent put her end on hold: the handling agent's leg hears the hold music.
    held: bool = False


@dataclass(slots=True)
class CallbackInfo:
    """A caller who asked to be called back: the number, and the tries so far (callback.py)."""

    number: str
    requested_at: float
    attempts: int = 0  # customer legs placed so far (one at a time)
    next_try_at: float | None = None  # in the retry delay (CallState.CALLBACK_WAIT)


@dataclass(slots=True)
class CallRecord:
    id: str
    service_id: int
    direction: Direction
    customer_number: str
    called: str
    calling_number: str | None
    state: CallState
    arrived_at: float
    seq: int  # arrival order, the queue position key
    customer_leg: str | None = None
    agent_id: int | None = None
    agent_leg: str | None = None
    connected_at: float | None = None
    offered_to: dict[int, None] = field(default_factory=dict)  # ordered set of agent ids
    ticket: bool = False
    consult: ConsultRecord | None = None
    # The last consultation that ended without a transfer and why (busy, no_answer, rejected,
    # unreachable, target_hung_up, cancelled), until the agent resumes or consults again.
    consult_ended: tuple[ConsultRecord, str] | None = None
    wait_timer: int = 0
    connect_timer: int = 0
    overflow_due: bool = False  # max wait passed while the call was ringing an agent
    # Before the queue: the IVR menu the caller is in, the tries spent on it, and the caller's
    # way so far (the ticket's timeline gets it); one timer for the menu or the announcements.
    menu_id: int | None = None
    menu_tries: int = 0
    path: list[tuple[float, str]] = field(default_factory=list)
    flow_timer: int = 0
    # Queued callback: while the caller confirms (CALLBACK_SETUP), the number offered and the
    # digits keyed so far (None: not keying); once booked, `callback` (the call has no customer
    # leg until the switch calls the customer back).
    setup_number: str = ""
    keyed: str | None = None
    setup_tries: int = 0
    callback: CallbackInfo | None = None
    notice_heard: bool = False  # the "this call may be recorded" notice was played to the caller


@dataclass(slots=True)
class MonitorRecord:
    """A supervisor on a call (monitor.py): their phone's leg, the mode, whether it answered."""

    call_id: str
    supervisor_id: int
    leg_id: str
    mode: str
    connected: bool = False


@dataclass(slots=True)
class Relay:
    """Two legs left bridged after the call left the contact center (external transfer, forward).

    The engine only hangs one up when the other goes; `pending` is a forward leg not answered yet.
    """

    call_id: str
    peer: str
    pending: bool = False
    agent_id: int | None = None  # who transferred it out (their live outbound call)
