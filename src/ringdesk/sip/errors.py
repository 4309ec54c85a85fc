"""The one exception the SIP parsers raise: it names the response a UAS should answer with."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Request


class SipParseError(ValueError):
    """Malformed or unacceptable message. `status` is the response to send (400, 416, 420, 483,
    505...); `request` holds what could be read of a request, enough to address that response
    when its Via was readable; `extra_headers` go into the response (Unsupported for 420)."""

    def __init__(
        self,
        status: int,
        reason: str,
        *,
        request: Request | None = None,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.request = request
        self.extra_headers = extra_headers
