"""One error shape for every failure: {"code": "...", "message": "..."} (+ "fields" for 422)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ringdesk.core.errors import CoreError, Forbidden, InvalidInput, NotFound
from ringdesk.store.errors import Conflict

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Log in first."),
    403: ("forbidden", "You are not allowed to do this."),
    404: ("not_found", "There is nothing here."),
    405: ("method_not_allowed", "This method is not allowed here."),
    409: ("conflict", "This conflicts with the current state."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "This content type is not supported."),
    422: ("invalid_input", "The input is not valid."),
    429: ("too_many_attempts", "Too many requests; try again later."),
}


# The core says what went wrong; the HTTP status is this layer's word for whose fault it is.
_CORE_STATUS: tuple[tuple[type[CoreError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (InvalidInput, 422),
)


def core_status(exc: CoreError) -> int:
    """404, 403 or 422 for those kinds of refusal; else 409 (the rules forbid it now)."""
    for kind, status in _CORE_STATUS:
        if isinstance(exc, kind):
            return status
    return 409


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra or {}  # more fields of the answer (the pending-login token)


T = TypeVar("T")


def found(row: T | None, message: str) -> T:
    """The row, or a 404 `not_found` with this message."""
    if row is None:
        raise ApiError(404, "not_found", message)
    return row


@contextmanager
def unique(what: str) -> Iterator[None]:
    """A store write whose Conflict is a 409 `already_exists` naming `what`."""
    try:
        yield
    except Conflict as exc:
        raise ApiError(409, "already_exists", f"{what} is already in use.") from exc


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


# Pydantic's own sentences name regular expressions; people get these instead.
_PATTERN_WORDS = {
    r"^\+?[0-9*#]{2,20}$": "is not a phone number (2 to 20 digits, optionally a leading +, "
    "* and # for extensions)",
    r"^[^@\s]+@[^@\s]+$": "is not an email address",
    r"^[0-9]{6}$": "is not a 6-digit code",
}


def _human(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return _PATTERN_WORDS.get(
            str(ctx.get("pattern", "")), "contains characters not allowed here"
        )
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "missing":
        return "is required"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    words = _BOUND_WORDS.get(kind)
    if words is not None:
        shown = {
            k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in ctx.items()
        }
        try:
            return words.format(**shown)
        except (KeyError, IndexError):
            pass
    return str(error.get("msg", "is not valid"))


# Pydantic's sentences for bounds and types, said as a form would ("must be at most 65535"):
# the admin pages put them after the field's label.
_BOUND_WORDS = {
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} characters",
    "too_long": "must have at most {max_length} entries",
    "too_short": "must have at least {min_length} entries",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be on or off",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, **exc.extra),
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(CoreError)
    async def core_error(_: Request, exc: CoreError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=core_status(exc))

    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": _field_name(e.get("loc", ())), "message": _human(e)} for e in exc.errors()
        ]
        first = fields[0] if fields else {"field": "", "message": "invalid"}
        name = first["field"].removeprefix("body.").removeprefix("query.") or "The input"
        message = f"{name} {first['message']}."
        if first["message"][:1].isupper():  # Pydantic's sentence (e.g. "Input should be ...")
            message = f"{name}: {first['message']}."
        return JSONResponse(error_body("invalid_input", message, fields=fields), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_CODES.get(exc.status_code, ("error", "The request failed."))
        if isinstance(exc.detail, str) and exc.detail and exc.status_code not in (404, 405):
            message = exc.detail
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "Something went wrong on the server."), status_code=500
        )
