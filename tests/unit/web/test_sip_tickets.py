"""The browser phone's socket tickets (web/sip_tickets.py): one use, 30 seconds."""

from __future__ import annotations

from ringdesk.web.sip_tickets import TICKET_SECONDS, SipTickets


def test_a_ticket_opens_once_and_only_in_time() -> None:
    tickets = SipTickets()
    first = tickets.issue(user_id=7, cti_id="1001", session="digest", now=100.0)
    grant = tickets.take(first, 100.0 + TICKET_SECONDS - 1)
    assert grant is not None and (grant.user_id, grant.cti_id) == (7, "1001")
    assert tickets.take(first, 101.0) is None  # used
    late = tickets.issue(user_id=7, cti_id="1001", session="digest", now=200.0)
    assert tickets.take(late, 200.0 + TICKET_SECONDS) is None  # expired
    assert tickets.take("", 200.0) is None
    assert tickets.take("x" * 500, 200.0) is None
