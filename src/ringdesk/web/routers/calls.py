"""Call control: every button of the widget during a call. Each returns the agent's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ringdesk.core import commands as c
from ringdesk.live.shapes import AgentState, agent_state
from ringdesk.web.auth import RuntimeDep, User
from ringdesk.web.errors import ApiError
from ringdesk.web.schemas import DialBody, TransferBody

router = APIRouter(prefix="/api/calls", tags=["calls"])

CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.post("/dial")
async def dial(body: DialBody, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(
        c.Dial(
            agent_id=user.id,
            service_id=body.service_id,
            number=body.number,
            calling_number=body.calling_number,
        )
    )
    return agent_state(runtime.live, user.id)


@router.post("/{call_id}/answer")
async def answer(call_id: CallId, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(c.Answer(agent_id=user.id, call_id=call_id))
    return agent_state(runtime.live, user.id)


@router.post("/{call_id}/hold/start")
async def hold(call_id: CallId, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(c.Hold(agent_id=user.id, call_id=call_id))
    return agent_state(runtime.live, user.id)


@router.post("/{call_id}/hold/stop")
async def resume(call_id: CallId, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(c.Resume(agent_id=user.id, call_id=call_id))
    return agent_state(runtime.live, user.id)


@router.post("/{call_id}/transfer")
async def transfer(
    call_id: CallId, body: TransferBody, user: User, runtime: RuntimeDep
) -> AgentState:
    if (body.number is None) == (body.agent_id is None):
        raise ApiError(422, "invalid_input", "Give either a number or an agent_id.")
    runtime.command(
        c.StartConsultation(
            agent_id=user.id, call_id=call_id, number=body.number, target_agent_id=body.agent_id
        )
    )
    return agent_state(runtime.live, user.id)


@router.post("/{call_id}/transfer/complete")
async def complete(call_id: CallId, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(c.ConnectToCustomer(agent_id=user.id, call_id=call_id))
    return agent_state(runtime.live, user.id)


@router.post("/{call_id}/transfer/cancel")
async def cancel(call_id: CallId, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(c.CancelConsultation(agent_id=user.id, call_id=call_id))
    return agent_state(runtime.live, user.id)


@router.post("/{call_id}/force-disconnect")
async def force_disconnect(call_id: CallId, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(c.ForceDisconnect(agent_id=user.id, call_id=call_id))
    return agent_state(runtime.live, user.id)


@router.post("/{call_id}/end")
async def end(call_id: CallId, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(c.EndCall(agent_id=user.id, call_id=call_id))
    return agent_state(runtime.live, user.id)
