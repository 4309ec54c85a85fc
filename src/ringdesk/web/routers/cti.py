"""The agent's own CTI: state, login/logout, status, Ready colleagues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from ringdesk.core.commands import CtiLogin, CtiLogout, PickDisposition, SetStatus
from ringdesk.core.model import AgentStatus
from ringdesk.live.shapes import AgentState, agent_state, iso, label
from ringdesk.web.auth import RuntimeDep, User
from ringdesk.web.responses import ReadyAgent
from ringdesk.web.schemas import Body, StatusBody

router = APIRouter(prefix="/api/cti", tags=["cti"])


@router.get("/state")
async def get_state(user: User, runtime: RuntimeDep) -> AgentState:
    return agent_state(runtime.live, user.id)


@router.post("/login")
async def login(user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(CtiLogin(agent_id=user.id))
    return agent_state(runtime.live, user.id)


@router.post("/logout")
async def logout(user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(CtiLogout(agent_id=user.id))
    return agent_state(runtime.live, user.id)


@router.put("/status")
async def set_status(body: StatusBody, user: User, runtime: RuntimeDep) -> AgentState:
    runtime.command(SetStatus(agent_id=user.id, status=AgentStatus(body.status)))
    return agent_state(runtime.live, user.id)


class DispositionBody(Body):
    code_id: Annotated[int, Field(ge=1, le=2**31 - 1)]


@router.put("/disposition")
async def pick_disposition(body: DispositionBody, user: User, runtime: RuntimeDep) -> AgentState:
    """The wrap-up code of the call the agent is wrapping up (Ticket Processing): one of its
    service's (AgentState.wrap_up.codes); picking again replaces it. 409 not_wrapping_up."""
    runtime.command(PickDisposition(agent_id=user.id, code_id=body.code_id))
    return agent_state(runtime.live, user.id)


@router.get("/ready-agents")
async def ready_agents(
    user: User,
    runtime: RuntimeDep,
    q: str = Query(default="", max_length=100),
) -> list[ReadyAgent]:
    me = runtime.engine.agent(user.id)
    found = runtime.engine.ready_agents(me.services or frozenset({-1}), q.strip())
    return [
        {
            "agent_id": a.agent_id,
            "name": a.name,
            "cti_number": runtime.config.cti_number(a.agent_id),
            "status": a.status,
            "status_label": label(a.status),
            "since": iso(a.since),
        }
        for a in found
        if a.agent_id != user.id
    ]
