"""Login (with its second step when the account has TOTP), logout and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ringdesk.live.shapes import user_json
from ringdesk.store import calling_numbers, cti_agents, permissions, totp, users
from ringdesk.store.security import token_digest, verify_no_user, verify_password
from ringdesk.web.auth import RuntimeDep, User, bearer_token, end_session, logins, open_session
from ringdesk.web.errors import ApiError
from ringdesk.web.responses import Login, Me, MyService, calling_number_json
from ringdesk.web.schemas import LoginBody, SecondFactorBody
from ringdesk.web.second_factor import PendingLogins
from ringdesk.web.throttle import client_address, refuse_if_throttled, throttle_of

router = APIRouter(prefix="/api", tags=["auth"])


@router.post(
    "/auth/login",
    responses={
        401: {
            "description": "Wrong username or password (`invalid_credentials`), or the password "
            "was right and the account has TOTP (`second_factor_required`, with `pending_token` "
            "and `expires_in`): send a code to /api/auth/login/second-factor"
        },
        429: {"description": "Too many failed logins for the account or the address"},
    },
)
def login(body: LoginBody, runtime: RuntimeDep, request: Request) -> Login:
    # A plain def: argon2 is deliberately slow, so it runs in the thread pool, off the loop.
    throttle = throttle_of(request)
    address = client_address(request)
    refuse_if_throttled(throttle, body.username, address)
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
        second_factor = totp.is_enabled(db, user_id=user.id)
    if second_factor:
        # No session yet, and the account's failures are not forgiven until the code is right:
        # otherwise each correct password would buy a fresh set of code guesses.
        token = pending_logins(request).start(result["id"], body.username)
        raise ApiError(
            401,
            "second_factor_required",
            "Enter the 6-digit code from your authenticator app, or a recovery code.",
            extra={"pending_token": token, "expires_in": int(pending_logins(request).lifetime)},
        )
    throttle.succeeded(body.username)
    return {"token": open_session(runtime, result["id"]), "user": result}


@router.post(
    "/auth/login/second-factor",
    responses={
        401: {
            "description": "A wrong or already used code (`invalid_code`), or the pending login "
            "expired, was used or had too many wrong codes (`second_factor_expired`)"
        },
        429: {"description": "Too many failed logins for the account or the address"},
    },
)
def login_second_factor(body: SecondFactorBody, runtime: RuntimeDep, request: Request) -> Login:
    """The second step of a login with TOTP: a current code or an unused recovery code."""
    if (body.code is None) == (body.recovery_code is None):
        raise ApiError(422, "invalid_input", "Give either a code or a recovery_code.")
    pendings = pending_logins(request)
    pending = pendings.get(body.pending_token)
    if pending is None:
        raise ApiError(401, "second_factor_expired", _EXPIRED)
    throttle = throttle_of(request)
    address = client_address(request)
    refuse_if_throttled(throttle, pending.username, address)
    with runtime.db() as db:
        if body.code is not None:
            ok = totp.check_code(db, user_id=pending.user_id, code=body.code)
        else:
            ok = totp.use_recovery_code(db, user_id=pending.user_id, code=body.recovery_code or "")
        row = users.get(db, user_id=pending.user_id) if ok else None
        result = user_json(row) if row is not None else None
    if result is None:
        # Wrong codes count like wrong passwords: 6 digits fall to guessing otherwise.
        throttle.failed(pending.username, address)
        pendings.failed(body.pending_token)
        message = (
            "Wrong code. Check that your phone's clock is right, or use a recovery code."
            if body.code is not None
            else "That recovery code is wrong or was already used."
        )
        raise ApiError(401, "invalid_code", message)
    if pendings.finish(body.pending_token) is None:
        raise ApiError(401, "second_factor_expired", _EXPIRED)
    throttle.succeeded(pending.username)
    return {"token": open_session(runtime, result["id"]), "user": result}


_EXPIRED = "This sign-in has expired; enter your username and password again."


def pending_logins(request: Request) -> PendingLogins:
    pendings: PendingLogins = request.app.state.pending_logins
    return pendings


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
            "totp_setup_required": user.needs_totp,
        }
