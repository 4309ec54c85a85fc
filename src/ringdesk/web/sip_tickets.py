"""Single-use tickets that open the browser phone's SIP WebSocket (/api/sip).

A ticket is made by an authenticated REST call (POST /api/cti/sip-ticket), bound to the session
that asked and to the agent's CTI ID, good for TICKET_SECONDS and for one socket. The socket
carries it in its URL: a browser WebSocket can send no header, and JsSIP's first frame is its
REGISTER. A ticket in a log is worthless: used at once, and dead 30 seconds later anyway. The
session token itself never goes into a URL (docs/security.md).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

TICKET_SECONDS = 30.0
MAX_TICKETS = 10_000  # outstanding at once (an agent asks one per connection)


@dataclass(frozen=True, slots=True)
class SipGrant:
    user_id: int
    cti_id: str
    session: str  # the token digest of the web session that asked
    expires_at: float


def _key(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class SipTickets:
    def __init__(self) -> None:
        self._grants: dict[str, SipGrant] = {}

    def issue(self, *, user_id: int, cti_id: str, session: str, now: float) -> str:
        if len(self._grants) >= MAX_TICKETS:
            self._grants = {k: g for k, g in self._grants.items() if g.expires_at > now}
            if len(self._grants) >= MAX_TICKETS:
                self._grants.clear()
        ticket = secrets.token_urlsafe(32)
        self._grants[_key(ticket)] = SipGrant(user_id, cti_id, session, now + TICKET_SECONDS)
        return ticket

    def take(self, ticket: str, now: float) -> SipGrant | None:
        """The grant of a ticket, once: None when unknown, used or expired."""
        if not ticket or len(ticket) > 100:
            return None
        grant = self._grants.pop(_key(ticket), None)
        if grant is None or grant.expires_at <= now:
            return None
        return grant
