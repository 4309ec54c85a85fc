"""Wrap-up codes (dispositions): in Business (Ticket Processing) after a call the agent picks
one of the service's codes ("Resolved", "Call back later"). Where the service requires one, the
agent's own end of the wrap-up (a status chosen) is refused until it is picked; the wrap-up
time limit, a logout or a call taken away still end it, with no code."""

from __future__ import annotations

from .commands import PickDisposition
from .errors import CoreError, NotFound
from .events import DispositionPicked
from .records import AgentRecord, CallRecord
from .snapshots import Outcome
from .state import EngineState, agent_rec

REQUIRED = "disposition_required"


def start(a: AgentRecord, call: CallRecord) -> None:
    """The agent's wrap-up of `call` begins: no code picked yet."""
    a.wrap_call = call.id
    a.wrap_service = call.service_id
    a.disposition = None


def pick(s: EngineState, cmd: PickDisposition, now: float, out: Outcome) -> None:
    a = agent_rec(s, cmd.agent_id)
    if not a.wrap_up or a.wrap_call is None or a.wrap_service is None:
        raise CoreError(
            "A wrap-up code is picked in Ticket Processing, after a call.", code="not_wrapping_up"
        )
    service = s.services.get(a.wrap_service)
    codes = service.dispositions if service is not None else ()
    code = next((c for c in codes if c.id == cmd.code_id), None)
    if code is None:
        raise NotFound(
            "That wrap-up code is not one of this service's.", code="disposition_not_found"
        )
    a.disposition = code.id
    out.events.append(
        DispositionPicked(a.wrap_call, a.config.id, a.wrap_service, code.id, code.label, now)
    )


def check_leave(s: EngineState, a: AgentRecord) -> None:
    """Before the agent ends their wrap-up themselves: refused while a required code is missing."""
    if a.disposition is not None or a.wrap_service is None:
        return
    service = s.services.get(a.wrap_service)
    if service is not None and service.disposition_required and service.dispositions:
        raise CoreError(
            f"Pick a wrap-up code for this call of {service.name} first.", code=REQUIRED
        )
