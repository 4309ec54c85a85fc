"""A supervisor on a live call: listen, whisper to the agent, or barge in.

The supervisor clicks on the board; their phone is rung (auto-answer) with a leg of the call,
and once it answers the switch mixes (media/mix.py): listening hears both sides; whispering,
the agent hears the supervisor as well; barging, everybody hears everybody. The mode changes
without ringing again. One supervisor per call. While monitoring, a supervisor who is logged in
to CTI is shown On Call and offered nothing.

Monitoring is for a call as it is: customer and agent talking. When the call changes (hold, a
consultation, a transfer, its end) the supervisor's leg is hung up and they may start again.
"""

from __future__ import annotations

from . import offers
from .commands import MonitorCall, StopMonitoring
from .errors import CoreError, IllegalAction, InvalidInput, NotFound
from .events import MonitorChanged
from .model import CallState
from .records import CallRecord, MonitorRecord
from .snapshots import Outcome
from .state import EngineState, agent_rec
from .telephony import HangUp, Monitor, RingAgent

MODES = ("listen", "whisper", "barge")


def _monitorable(call: CallRecord) -> bool:
    return (
        call.state is CallState.TALKING
        and call.customer_leg is not None
        and call.agent_leg is not None
        and call.agent_id is not None
    )


def start(s: EngineState, cmd: MonitorCall, now: float, out: Outcome) -> None:
    if cmd.mode not in MODES:
        raise InvalidInput("mode must be listen, whisper or barge.")
    call = s.calls.get(cmd.call_id)
    if call is None:
        raise NotFound(f"No live call {cmd.call_id}.")
    sup = agent_rec(s, cmd.supervisor_id)
    current = s.monitors.get(call.id)
    if current is not None:
        if current.supervisor_id != sup.config.id:
            name = agent_rec(s, current.supervisor_id).config.name
            raise CoreError(f"{name} is already on this call.", code="monitor_taken")
        if current.mode != cmd.mode:
            current.mode = cmd.mode
            if current.connected:
                out.actions.append(_media(call, current))
            out.events.append(_changed(call, current, now))
        return
    if not _monitorable(call):
        raise IllegalAction(
            "Only a call in progress can be monitored: not while it rings, is on hold or in a "
            "transfer.",
            code="call_not_monitorable",
        )
    if call.agent_id == sup.config.id:
        raise IllegalAction("This is your own call.", code="own_call")
    if sup.monitoring is not None or sup.call_id is not None or sup.offer is not None:
        raise IllegalAction(
            "Finish your own call (or the one you monitor) first.", code="supervisor_busy"
        )
    if not sup.config.cti_id:
        raise CoreError(
            "You have no CTI ID, so there is no phone to listen on; ask an administrator.",
            code="cti_not_assigned",
        )
    if not sup.reachable:
        raise CoreError(
            "Your phone is not registered: turn it on (or open the browser phone) first.",
            code="phone_not_registered",
        )
    leg = s.new_id()
    record = MonitorRecord(call.id, sup.config.id, leg, cmd.mode)
    s.monitors[call.id] = record
    s.monitor_legs[leg] = call.id
    sup.monitoring = call.id
    out.actions.append(
        RingAgent(call.id, leg, sup.config.id, sup.config.cti_id, caller=call.customer_number)
    )
    out.events.append(_changed(call, record, now))
    offers.refresh(s, sup, now, out)


def stop(s: EngineState, cmd: StopMonitoring, now: float, out: Outcome) -> None:
    record = s.monitors.get(cmd.call_id)
    if record is None or record.supervisor_id != cmd.supervisor_id:
        raise NotFound("You are not monitoring this call.", code="not_monitoring")
    end(s, record, "stopped", now, out)


def leg_answered(s: EngineState, leg_id: str, now: float, out: Outcome) -> bool:
    """The supervisor's phone answered: the mix starts. False if the leg is not a monitor's."""
    call_id = s.monitor_legs.get(leg_id)
    if call_id is None:
        return False
    record = s.monitors[call_id]
    call = s.calls.get(call_id)
    if call is None or not _monitorable(call):
        end(s, record, "call_changed", now, out)
        return True
    record.connected = True
    out.actions.append(_media(call, record))
    out.events.append(_changed(call, record, now))
    return True


def leg_gone(s: EngineState, leg_id: str, failed: bool, now: float, out: Outcome) -> bool:
    """The supervisor's leg hung up or could not be set up. False if it is not a monitor's."""
    call_id = s.monitor_legs.get(leg_id)
    if call_id is None:
        return False
    end(s, s.monitors[call_id], "failed" if failed else "supervisor_hung_up", now, out, gone=True)
    return True


def check(s: EngineState, now: float, out: Outcome) -> None:
    """After every input: a monitored call that ended or changed lets its supervisor go."""
    for call_id, record in list(s.monitors.items()):
        call = s.calls.get(call_id)
        if call is None or not _monitorable(call):
            end(s, record, "call_changed", now, out)


def end(
    s: EngineState,
    record: MonitorRecord,
    reason: str,
    now: float,
    out: Outcome,
    *,
    gone: bool = False,
) -> None:
    s.monitors.pop(record.call_id, None)
    s.monitor_legs.pop(record.leg_id, None)
    call = s.calls.get(record.call_id)
    if record.connected and call is not None and call.customer_leg and call.agent_leg:
        out.actions.append(Monitor(call.id, record.leg_id, call.customer_leg, call.agent_leg, None))
    if not gone:
        out.actions.append(HangUp(record.call_id, record.leg_id))
    agent_id = call.agent_id if call is not None and call.agent_id is not None else 0
    out.events.append(
        MonitorChanged(record.call_id, record.supervisor_id, agent_id, None, False, now, reason)
    )
    sup = s.agents.get(record.supervisor_id)
    if sup is not None and sup.monitoring == record.call_id:
        sup.monitoring = None
        offers.refresh(s, sup, now, out)


def _media(call: CallRecord, record: MonitorRecord) -> Monitor:
    assert call.customer_leg is not None and call.agent_leg is not None
    return Monitor(call.id, record.leg_id, call.customer_leg, call.agent_leg, record.mode)


def _changed(call: CallRecord, record: MonitorRecord, now: float) -> MonitorChanged:
    return MonitorChanged(
        call.id, record.supervisor_id, call.agent_id or 0, record.mode, record.connected, now
    )
