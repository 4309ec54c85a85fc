"""Phone permission: which agents take and make the calls of a service."""

from __future__ import annotations

from fastapi import APIRouter

from ringdesk.store import permissions, users
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.responses import AgentPermission
from ringdesk.web.routers.admin.common import PREFIX, Id, service_or_404, user_or_404
from ringdesk.web.schemas import PermissionBody

router = APIRouter(prefix=PREFIX, tags=["admin"])


@router.get("/services/{service_id}/agents")
def service_agents(service_id: Id, _: Admin, runtime: RuntimeDep) -> list[AgentPermission]:
    with runtime.db() as db:
        service_or_404(db, service_id)
        agents = users.list_(db, role="agent")
        granted = permissions.granted(db, service_id=service_id)
        return [
            {"user_id": u.id, "name": u.name, "phone_permission": u.id in granted} for u in agents
        ]


@router.put("/services/{service_id}/agents/{user_id}")
async def set_permission(
    service_id: Id, user_id: Id, body: PermissionBody, _: Admin, runtime: RuntimeDep
) -> AgentPermission:
    with runtime.db() as db:
        service_or_404(db, service_id)
        user = user_or_404(db, user_id)
        permissions.set_(
            db, service_id=service_id, user_id=user_id, phone_permission=body.phone_permission
        )
        result: AgentPermission = {
            "user_id": user.id,
            "name": user.name,
            "phone_permission": body.phone_permission,
        }
    runtime.reload_config()
    return result
