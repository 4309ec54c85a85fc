"""Login, logout and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ringdesk.live.shapes import user_json
from ringdesk.store import calling_numbers, cti_agents, permissions, sessions, users
from ringdesk.store.security import token_digest, verify_password
from ringdesk.web.auth import RuntimeDep, User, bearer_token, logins, open_session
from ringdesk.web.errors import ApiError
from ringdesk.web.responses import Login, Me, MyService, calling_number_json
from ringdesk.web.schemas import LoginBody

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/login")
def login(body: LoginBody, runtime: RuntimeDep) -> Login:
    # A plain def: argon2 is deliberately slow, so it runs in the thread pool, off the loop.
    with runtime.db() as db:
        user = users.by_username(db, username=body.username)
        if user is None or not verify_password(user.password_hash, body.password):
            raise ApiError(401, "invalid_credentials", "Wrong username or password.")
        result = user_json(user)
    return {"token": open_session(runtime, result["id"]), "user": result}


@router.post("/auth/logout", status_code=204)
def logout(request: Request, user: User, runtime: RuntimeDep) -> Response:
    token = bearer_token(request)
    if token is not None:
        digest = token_digest(token)
        logins(request).drop(digest)
        with runtime.db() as db:
            sessions.delete(db, digest=digest)
    return Response(status_code=204)


@router.get("/me")
def me(user: User, runtime: RuntimeDep) -> Me:
    with runtime.db() as db:
        row = users.get(db, user_id=user.id)
        if row is None:
            raise ApiError(401, "not_authenticated", "Your account no longer exists.")
        services: list[MyService] = []
        for service in permissions.services_of(db, user_id=user.id):
            numbers = calling_numbers.list_(db, service_id=service.id)
            services.append(
                {
                    "id": service.id,
                    "name": service.name,
                    "inbound_enabled": service.inbound_enabled,
                    "outbound_enabled": service.outbound_enabled,
                    "calling_numbers": [calling_number_json(n) for n in numbers],
                }
            )
        cti = cti_agents.get(db, user_id=user.id)
        return {
            **user_json(row),
            "services": services,
            "cti": {"cti_id": cti.cti_id, "cti_number": cti.cti_number} if cti else None,
        }
