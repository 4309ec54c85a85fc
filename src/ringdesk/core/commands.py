"""Commands: what an agent (or admin) asks for. Named after what a person does."""

from __future__ import annotations

from dataclasses import dataclass

from .model import AgentStatus


@dataclass(frozen=True, slots=True)
class CtiLogin:
    agent_id: int


@dataclass(frozen=True, slots=True)
class CtiLogout:
    agent_id: int
    # Why, as the agent's status reason says it: "logout" (her own click), "browser_gone"
    # (her pages were closed too long: runtime/presence.py), "by_supervisor".
    reason: str = "logout"
    note: str = ""  # what the agent is told, in words (a supervisor's message)


@dataclass(frozen=True, slots=True)
class SetStatus:
    """Business, Ready or Rest. During a call the choice is kept and applied when it ends."""

    agent_id: int
    status: AgentStatus
    # Set by someone else (a supervisor on the board): the reason code and the words the
    # agent sees; empty for the agent's own click.
    reason: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    agent_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class Dial:
    agent_id: int
    service_id: int
    number: str
    calling_number: str


@dataclass(frozen=True, slots=True)
class Hold:
    agent_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class Resume:
    """Leaves On Hold (after Hold, or after a cancelled consultation)."""

    agent_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class StartConsultation:
    """Consultation call to a number (direct input / frequently used) or to a Ready agent."""

    agent_id: int
    call_id: str
    number: str | None = None
    target_agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectToCustomer:
    """Completes the transfer: customer bridged to the target, transferring agent released."""

    agent_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class CancelConsultation:
    """Ends the consultation leg; the customer stays on hold (status On Hold) until Resume."""

    agent_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class ForceDisconnect:
    agent_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class EndCall:
    agent_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class MonitorCall:
    """A supervisor listens to a live call from their phone, or changes how: "listen" (hears
    both), "whisper" (the agent hears the supervisor too), "barge" (everybody hears everybody).
    Who may supervise which call is the web layer's check (the role and the services)."""

    supervisor_id: int
    call_id: str
    mode: str


@dataclass(frozen=True, slots=True)
class StopMonitoring:
    supervisor_id: int
    call_id: str


@dataclass(frozen=True, slots=True)
class PickDisposition:
    """The agent picks the wrap-up code of the call they are wrapping up (Ticket Processing)."""

    agent_id: int
    code_id: int


Command = (
    PickDisposition
    | MonitorCall
    | StopMonitoring
    | CtiLogin
    | CtiLogout
    | SetStatus
    | Answer
    | Dial
    | Hold
    | Resume
    | StartConsultation
    | ConnectToCustomer
    | CancelConsultation
    | ForceDisconnect
    | EndCall
)
