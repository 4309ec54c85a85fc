"""The re-INVITEs that tell an answered leg its media direction (RFC 3264 section 8.4 hold):
one offer at a time, queued while another is open, retried after glare."""

from __future__ import annotations

import random
from collections.abc import Callable

from ringdesk.sip.message import Request, Response
from ringdesk.sip.transaction import ClientInvite

from .legs import AnyLeg, LegState
from .shared import SDP_TYPE, SwitchState
from .teardown import Teardown


class Direction:
    def __init__(self, state: SwitchState, teardown: Teardown) -> None:
        self.state = state
        self.stack = state.stack
        self.teardown = teardown
        # Our re-INVITEs refresh the RFC 4028 session timer too (session_timer.py sets these).
        self.session_headers: Callable[[AnyLeg], list[tuple[str, str]]] = lambda _leg: []
        self.session_refreshed: Callable[[AnyLeg, Response], None] = lambda _leg, _resp: None

    def set(self, leg: AnyLeg, direction: str, *, force: bool = False) -> None:
        """Re-INVITE an answered leg with a new direction; before the answer, just note it."""
        if leg.direction == direction and leg.queued_direction is None and not force:
            return
        if leg.state is not LegState.ANSWERED or leg.dialog is None:
            leg.direction = direction
            return
        if leg.reinvite is not None or (leg.retrans is not None and not leg.retrans.acked):
            leg.queued_direction = direction  # one offer at a time (RFC 3264 section 4)
            return
        leg.direction = direction
        leg.queued_direction = None
        req = leg.dialog.new_request(
            "INVITE",
            via=self.stack.via(leg.tp, peer=leg.peer[0]),
            contact=self.state.leg_contact(leg),
            body=self.state.local_sdp(leg),
            content_type=SDP_TYPE,
            extra=self.session_headers(leg),
        )
        txn = self.stack.send_request(
            req,
            leg.peer,
            leg.tp,
            lambda resp: self._on_response(leg, req, resp),
            lambda: self._on_done(leg),
        )
        assert isinstance(txn, ClientInvite)
        leg.reinvite = txn

    def _on_response(self, leg: AnyLeg, req: Request, resp: Response) -> None:
        if resp.status < 200:
            return
        if resp.status < 300 and leg.dialog is not None:
            ack = leg.dialog.ack(resp.cseq[0], via=self.stack.via(leg.tp, peer=leg.peer[0]))
            self.stack.send_stateless(ack, leg.peer, leg.tp)
            if resp.body:
                self.state.take_answer(leg, resp)
            self.session_refreshed(leg, resp)
        elif resp.status in (408, 481):
            self.teardown.hang_up(leg, "dialog_lost", report=True)  # RFC 3261 14.1
            return
        elif resp.status == 491 and self.state.loop is not None:
            # Glare: both sides offered at once. Try again after a random pause (RFC 3261 14.1).
            leg.reinvite = None
            self.state.loop.call_later(random.uniform(0.5, 2.0), self._retry, leg)
            return
        self._on_done(leg)

    def _retry(self, leg: AnyLeg) -> None:
        if leg.ended or leg.reinvite is not None:
            return
        direction = leg.queued_direction or leg.direction
        leg.queued_direction = None
        self.set(leg, direction, force=True)

    def _on_done(self, leg: AnyLeg) -> None:
        leg.reinvite = None
        if leg.queued_direction is not None and not leg.ended:
            direction, leg.queued_direction = leg.queued_direction, None
            self.set(leg, direction)
