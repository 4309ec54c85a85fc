"""The signed-in user's own account: two-step sign-in (TOTP) on, its recovery codes, off.

Every change here asks again for what it protects: the password to start or end it, a current
code to confirm it or to get new recovery codes. Wrong answers count toward the login throttle
like failed logins, so a stolen session cannot guess the password or the codes either. The
handlers are plain defs: argon2 runs in the thread pool, off the loop.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ringdesk.store import totp, users
from ringdesk.store.security import verify_password
from ringdesk.web.auth import RuntimeDep, User, logins
from ringdesk.web.errors import ApiError
from ringdesk.web.principals import Principal
from ringdesk.web.responses import RecoveryCodes, TotpEnrolment, TotpStatus
from ringdesk.web.schemas import TotpCodeBody, TotpDisableBody, TotpStartBody
from ringdesk.web.throttle import client_address, refuse_if_throttled, throttle_of

router = APIRouter(prefix="/api/me/totp", tags=["profile"])

_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "A wrong password (`wrong_password`) or code (`invalid_code`)"},
    409: {"description": "Two-step sign-in is not in the state this needs"},
    429: {"description": "Too many wrong passwords or codes for the account or the address"},
}


@router.get("")
def totp_status(user: User, runtime: RuntimeDep) -> TotpStatus:
    with runtime.db() as db:
        row = totp.get(db, user_id=user.id)
        return {
            "enabled": bool(row and row.enabled),
            "pending": bool(row and not row.enabled),
            "recovery_codes_left": totp.recovery_codes_left(db, user_id=user.id),
        }


@router.post("", responses=_REFUSALS)
def start_totp(
    body: TotpStartBody, user: User, runtime: RuntimeDep, request: Request
) -> TotpEnrolment:
    """Start enrolment: a new secret, on only after /confirm with a code from the app."""
    _password(runtime, request, user, body.password)
    secret = totp.new_secret()
    with runtime.db() as db:
        if totp.is_enabled(db, user_id=user.id):
            raise ApiError(
                409,
                "totp_already_enabled",
                "Two-step sign-in is already on. Turn it off first to move it to another device.",
            )
        totp.start(db, user_id=user.id, secret=secret)
    uri = totp.provisioning_uri(secret, user.username)
    return {"secret": secret, "uri": uri, "qr": totp.qr_modules(uri)}


@router.post("/confirm", responses=_REFUSALS)
def confirm_totp(
    body: TotpCodeBody, user: User, runtime: RuntimeDep, request: Request
) -> RecoveryCodes:
    """Turn two-step sign-in on with a current code; the recovery codes come back this once."""
    with runtime.db() as db:
        row = totp.get(db, user_id=user.id)
        if row is None or row.enabled:
            raise ApiError(409, "no_totp_enrolment", "Start setting up two-step sign-in first.")
    _code(runtime, request, user, body.code, pending=True)
    with runtime.db() as db:
        totp.enable(db, user_id=user.id)
        codes = totp.replace_recovery_codes(db, user_id=user.id)
    logins(request).drop_user(user.id)  # an admin who had to set it up may work now
    return {"recovery_codes": codes}


@router.post("/recovery-codes", responses=_REFUSALS)
def new_recovery_codes(
    body: TotpCodeBody, user: User, runtime: RuntimeDep, request: Request
) -> RecoveryCodes:
    """A new set of ten recovery codes; the old ones stop working."""
    _enabled(runtime, user)
    _code(runtime, request, user, body.code)
    with runtime.db() as db:
        return {"recovery_codes": totp.replace_recovery_codes(db, user_id=user.id)}


@router.post("/disable", status_code=204, responses=_REFUSALS)
def disable_totp(
    body: TotpDisableBody, user: User, runtime: RuntimeDep, request: Request
) -> Response:
    """Turn two-step sign-in off: the password and a current code (or a recovery code)."""
    if (body.code is None) == (body.recovery_code is None):
        raise ApiError(422, "invalid_input", "Give either a code or a recovery_code.")
    _enabled(runtime, user)
    _password(runtime, request, user, body.password)
    if body.code is not None:
        _code(runtime, request, user, body.code)
    else:
        _recovery_code(runtime, request, user, body.recovery_code or "")
    with runtime.db() as db:
        totp.delete(db, user_id=user.id)
    logins(request).drop_user(user.id)  # where it is required, admin work stops until set up
    return Response(status_code=204)


def _enabled(runtime: RuntimeDep, user: Principal) -> None:
    with runtime.db() as db:
        if not totp.is_enabled(db, user_id=user.id):
            raise ApiError(409, "totp_not_enabled", "Two-step sign-in is not on.")


def _password(runtime: RuntimeDep, request: Request, user: Principal, password: str) -> None:
    throttle, address = throttle_of(request), client_address(request)
    refuse_if_throttled(throttle, user.username, address)
    with runtime.db() as db:
        row = users.get(db, user_id=user.id)
        ok = row is not None and verify_password(row.password_hash, password)
    if not ok:
        throttle.failed(user.username, address)
        # 403, not 401: the session is fine, only this answer was wrong.
        raise ApiError(403, "wrong_password", "Your password is wrong.")


def _code(
    runtime: RuntimeDep, request: Request, user: Principal, code: str, *, pending: bool = False
) -> None:
    throttle, address = throttle_of(request), client_address(request)
    refuse_if_throttled(throttle, user.username, address)
    with runtime.db() as db:
        ok = totp.check_code(db, user_id=user.id, code=code, pending=pending)
    if not ok:
        throttle.failed(user.username, address)
        raise ApiError(
            403,
            "invalid_code",
            "Wrong code. Check that your phone's clock is right and enter the code shown now.",
        )


def _recovery_code(runtime: RuntimeDep, request: Request, user: Principal, code: str) -> None:
    throttle, address = throttle_of(request), client_address(request)
    refuse_if_throttled(throttle, user.username, address)
    with runtime.db() as db:
        ok = totp.use_recovery_code(db, user_id=user.id, code=code)
    if not ok:
        throttle.failed(user.username, address)
        raise ApiError(403, "invalid_code", "That recovery code is wrong or was already used.")
