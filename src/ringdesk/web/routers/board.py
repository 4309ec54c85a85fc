"""Supervisor board and daily statistics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ringdesk.store import stats
from ringdesk.web.auth import Admin, RuntimeDep, User
from ringdesk.web.errors import ApiError
from ringdesk.web.views import board as board_view

router = APIRouter(prefix="/api", tags=["board"])
IdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@router.get("/board")
async def board(_: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        return board_view(runtime, db)


@router.get("/stats")
def day_stats(
    user: User,
    runtime: RuntimeDep,
    date: Annotated[str | None, Query(max_length=10)] = None,
    service_id: IdQuery = None,
    agent_id: IdQuery = None,
) -> dict[str, Any]:
    if not user.is_admin:
        # An agent may see their own figures, nobody else's.
        if agent_id is not None and agent_id != user.id:
            raise ApiError(403, "forbidden", "Agents can only see their own statistics.")
        agent_id = user.id
    try:
        day = dt.date.fromisoformat(date) if date else dt.datetime.now(dt.UTC).date()
    except ValueError as exc:
        raise ApiError(422, "invalid_input", "date must be YYYY-MM-DD.") from exc
    start, end = stats.day_bounds(day)
    with runtime.db() as db:
        services = stats.per_service(db, start, end, service_id) if user.is_admin else []
        agents = stats.per_agent(db, start, end, service_id, agent_id)
    return {"date": day.isoformat(), "services": services, "agents": agents}
