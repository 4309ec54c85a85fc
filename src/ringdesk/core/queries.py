"""What the engine's queries show: immutable snapshots (snapshots.py) built from the state."""

from __future__ import annotations

from . import state, waiting
from .errors import NotFound
from .model import CallState, Direction
from .records import AgentRecord, CallRecord, MonitorRecord
from .snapshots import AgentView, CallView, OfferView, QueueView
from .state import EngineState


def call_view(call: CallRecord, monitor: MonitorRecord | None = None) -> CallView:
    consult = call.consult
    ended = call.consult_ended
    return CallView(
        call_id=call.id,
        service_id=call.service_id,
        direction=call.direction.value,
        state=call.state.value,
        customer_number=call.customer_number,
        agent_id=call.agent_id,
        calling_number=call.calling_number,
        arrived_at=call.arrived_at,
        connected_at=call.connected_at,
        consult_number=consult.number if consult else None,
        consult_agent_id=consult.agent_id if consult else None,
        consult_answered=consult.answered if consult else False,
        consult_ended_reason=ended[1] if ended else None,
        consult_ended_number=ended[0].number if ended else None,
        consult_ended_agent_id=ended[0].agent_id if ended else None,
        consult_held=consult.held if consult else False,
        callback_number=call.callback.number if call.callback else None,
        callback_attempts=call.callback.attempts if call.callback else 0,
        monitor_supervisor_id=monitor.supervisor_id if monitor else None,
        monitor_mode=monitor.mode if monitor else None,
        monitor_connected=monitor.connected if monitor else False,
    )


def agent_view(s: EngineState, a: AgentRecord) -> AgentView:
    offer = None
    if a.offer is not None:
        call = s.calls[a.offer]
        offer = OfferView(
            call.id,
            call.service_id,
            call.customer_number,
            a.offer_expires,
            phone_ringing=a.offer_leg is not None and not a.config.prewarm,
            callback=call.callback is not None,
            callback_number=call.callback.number if call.callback else None,
        )
    return AgentView(
        agent_id=a.config.id,
        name=a.config.name,
        status=a.status.value,
        chosen=a.chosen.value,
        since=a.since,
        reason=a.reason,
        note=a.note if a.reason == "by_supervisor" else "",
        call=call_view(s.calls[a.call_id], s.monitors.get(a.call_id)) if a.call_id else None,
        offer=offer,
        missed_offers=a.missed,
        services=a.config.services,
        phone_reachable=a.reachable,
        monitoring=a.monitoring,
        wrap_call=a.wrap_call if a.wrap_up else None,
        wrap_service=a.wrap_service if a.wrap_up else None,
        disposition=a.disposition if a.wrap_up else None,
    )


def agent(s: EngineState, agent_id: int) -> AgentView:
    return agent_view(s, state.agent_rec(s, agent_id))


def agents(s: EngineState) -> list[AgentView]:
    return [agent_view(s, a) for a in s.agents.values()]


def call(s: EngineState, call_id: str) -> CallView:
    found = s.calls.get(call_id)
    if found is None:
        raise NotFound(f"There is no call {call_id}.", code="call_not_found")
    return call_view(found, s.monitors.get(found.id))


def calls(s: EngineState) -> list[CallView]:
    return [
        call_view(c, s.monitors.get(c.id)) for c in sorted(s.calls.values(), key=lambda c: c.seq)
    ]


def queues(s: EngineState) -> list[QueueView]:
    """Per service, the inbound callers not yet talking to an agent, oldest first."""
    by_service: dict[int, list[CallRecord]] = {sid: [] for sid in s.services}
    in_menu: dict[int, int] = {}
    for c in s.calls.values():
        if c.direction is Direction.INBOUND and (
            c.state in waiting.WAITING or c.state is CallState.CALLBACK_WAIT
        ):
            by_service.setdefault(c.service_id, []).append(c)
        elif c.state is CallState.IN_MENU:
            in_menu[c.service_id] = in_menu.get(c.service_id, 0) + 1
            by_service.setdefault(c.service_id, [])
    views = []
    for sid in sorted(by_service):
        ordered = sorted(by_service[sid], key=lambda c: c.seq)
        views.append(
            QueueView(
                service_id=sid,
                waiting=tuple(call_view(c) for c in ordered),
                longest_wait_since=ordered[0].arrived_at if ordered else None,
                in_menu=in_menu.get(sid, 0),
                callbacks=sum(1 for c in ordered if c.callback is not None),
            )
        )
    return views


def ready_agents(s: EngineState, service_ids: frozenset[int] | None, query: str) -> list[AgentView]:
    """Ready agents whose phone is registered (optionally of some services, name/CTI number
    containing query), by name."""
    pools = s.pools if service_ids is None else {sid: state.pool(s, sid) for sid in service_ids}
    ids: set[int] = set()
    for ready in pools.values():
        ids.update(ready)
    needle = query.strip().casefold()
    found = []
    for agent_id in ids:
        a = s.agents[agent_id]
        if needle and not (
            needle in a.config.name.casefold() or needle in (a.config.cti_number or "")
        ):
            continue
        found.append(a)
    found.sort(key=lambda a: (a.config.name.casefold(), a.config.id))
    return [agent_view(s, a) for a in found]
