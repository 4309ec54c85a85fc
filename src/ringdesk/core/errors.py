"""One error base for the core. Each error carries a stable code and a sentence for people."""

from __future__ import annotations


class CoreError(Exception):
    """An agent asked for something the rules forbid. Nothing changed."""

    code = "core_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(CoreError):
    code = "not_found"


class Forbidden(CoreError):
    code = "forbidden"


class IllegalAction(CoreError):
    """The action is not allowed in the agent's current status (the message names it)."""

    code = "illegal_in_status"


class InvalidInput(CoreError):
    """The command itself is malformed (e.g. a status that cannot be chosen)."""

    code = "invalid_input"
