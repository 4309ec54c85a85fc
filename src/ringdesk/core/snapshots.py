"""What the engine returns (Outcome) and what its queries show (views). Immutable snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import DomainEvent
from .telephony import TelephonyAction


@dataclass(slots=True)
class Outcome:
    events: list[DomainEvent] = field(default_factory=list)
    actions: list[TelephonyAction] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OfferView:
    call_id: str
    service_id: int
    caller: str
    expires_at: float
    phone_ringing: bool = False  # the agent's phone rings with the offer (ring_on_offer)
    callback: bool = False  # a queued callback: Answer calls `callback_number` back
    callback_number: str | None = None  # the caller's number, or the one they keyed in


@dataclass(frozen=True, slots=True)
class CallView:
    call_id: str
    service_id: int
    direction: str  # Direction value
    state: str  # CallState value
    customer_number: str
    agent_id: int | None
    calling_number: str | None
    arrived_at: float
    connected_at: float | None
    consult_number: str | None
    consult_agent_id: int | None
    consult_answered: bool
    # Why the last consultation ended without a transfer, and whom it called (records.py).
    consult_ended_reason: str | None = None
    consult_ended_number: str | None = None
    consult_ended_agent_id: int | None = None
    # The consulted agent holds her end of the consultation (the handling agent hears music).
    consult_held: bool = False
    # A queued callback: the number called back and the attempts so far.
    callback_number: str | None = None
    callback_attempts: int = 0
    # A supervisor on the call (core/monitor.py): who, how, and whether their phone answered.
    monitor_supervisor_id: int | None = None
    monitor_mode: str | None = None
    monitor_connected: bool = False


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: int
    name: str
    status: str  # AgentStatus value shown
    chosen: str  # the agent's chosen status (business/ready/rest) or logged_out
    since: float  # when `status` began
    reason: str
    call: CallView | None
    offer: OfferView | None
    missed_offers: int
    services: frozenset[int]
    phone_reachable: bool  # registered: without it the agent is offered no calls
    monitoring: str | None = None  # the call this supervisor monitors
    note: str = ""  # with the reason "by_supervisor": what the supervisor said
    # In Ticket Processing: the call wrapped up, its service and the wrap-up code picked.
    wrap_call: str | None = None
    wrap_service: int | None = None
    disposition: int | None = None


@dataclass(frozen=True, slots=True)
class QueueView:
    service_id: int
    waiting: tuple[CallView, ...]  # in order
    longest_wait_since: float | None
    in_menu: int = 0  # callers of the service's number still choosing in its menu
    callbacks: int = 0  # of `waiting`, callbacks (the caller hung up; called back in turn)
