"""Login, logout and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ringdesk.live.shapes import user_json
from ringdesk.store import calling_numbers, cti_agents, permissions, users
from ringdesk.store.security import token_digest, verify_no_user, verify_password
from ringdesk.web.auth import RuntimeDep, User, bearer_token, end_session, logins, open_session
from ringdesk.web.errors import ApiError
from ringdesk.web.responses import Login, Me, MyService, calling_number_json
from ringdesk.web.schemas import LoginBody
from ringdesk.web.throttle import LoginThrottle

router = APIRouter(prefix="/api", tags=["auth"])


@router.post(
    "/auth/login",
    responses={429: {"description": "Too many failed logins for the account or the address"}},
)
def login(body: LoginBody, runtime: RuntimeDep, request: Request) -> Login:
    # A plain def: argon2 is deliberately slow, so it runs in the thread pool, off the loop.
    throttle: LoginThrottle = request.app.state.throttle
    address = request.client.host if request.client else ""
    refused = throttle.retry_after(body.username, address)
    if refused is not None:
        kind, seconds = refused
        minutes = max(1, round(seconds / 60))
        whose = "this account" if kind == "account" else "your address"
        raise ApiError(
            429,
            "too_many_attempts",
            f"Too many failed logins for {whose}. Try again in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            headers={"Retry-After": str(seconds)},
        )
    with runtime.db() as db:
        user = users.by_username(db, username=body.username)
        # Unknown names cost one argon2 verification too, so timing does not tell them apart.
        if user is None:
            ok = verify_no_user(body.password)
        else:
            ok = verify_password(user.password_hash, body.password)
        if user is None or not ok:
            throttle.failed(body.username, address)
            raise ApiError(401, "invalid_credentials", "Wrong username or password.")
        result = user_json(user)
    throttle.succeeded(body.username)
    return {"token": open_session(runtime, result["id"]), "user": result}


@router.post("/auth/logout", status_code=204)
def logout(request: Request, user: User, runtime: RuntimeDep) -> Response:
    token = bearer_token(request)
    if token is not None:
        end_session(runtime, logins(request), token_digest(token))
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
