"""RFC 4028 session timers: a dialog both ends keep confirming, so one whose far end vanished
(a crashed phone, a trunk that lost the call without a BYE) is ended by the clock.

Every INVITE we send says `Supported: timer` and offers `Session-Expires` (the setting, e.g.
1800 s) with our `Min-SE`; a 422 gets the INVITE again with the larger Min-SE it asks for. Every
INVITE or UPDATE we answer is negotiated as RFC 4028 section 9 says: too small an interval is
refused with 422 and our Min-SE; the 2xx carries `Session-Expires` with the refresher (the
caller's choice, else the caller when it supports timers, else us) and `Require: timer` when the
caller supports it. The refresher refreshes at half the interval (UPDATE without a body when the
peer allows it, else a re-INVITE with our unchanged SDP); the other side, when no refresh came
by `interval - min(32, interval / 3)` (section 10), ends the leg with a BYE and the cause
SESSION_TIMER_EXPIRED; the engine then ends the whole call. A refresh of ours that times out
or draws 408/481 means the same. A 2xx without Session-Expires means no timer (section 7.2).

Checked once a second by the switch's housekeeping (`tick`), not a loop timer per leg.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ringdesk.core.telephony import SESSION_TIMER_EXPIRED
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import Request, Response, make_response, new_tag
from ringdesk.sip.transaction import ClientInvite

from .direction import Direction
from .legs import AnyLeg, LegState
from .shared import SDP_TYPE, SwitchState
from .teardown import Teardown

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 1800.0  # seconds: what we offer and what we accept at most by default
MIN_SE = 90  # RFC 4028 section 4: the smallest interval a UA may ask for
RETRY_LATER = 2.0  # seconds before a refresh that could not go (glare, offer open) is retried


@dataclass(frozen=True, slots=True)
class SessionExpires:
    delta: int
    refresher: str | None = None  # "uac", "uas" or None (not said)


def parse_session_expires(value: str) -> SessionExpires:
    """`1800;refresher=uac`; SipParseError(400) when malformed (RFC 4028 section 9)."""
    delta_text, _, params = value.partition(";")
    delta_text = delta_text.strip()
    if not delta_text.isdigit() or len(delta_text) > 10:
        raise SipParseError(400, "Bad Session-Expires")
    refresher: str | None = None
    for param in params.split(";"):
        name, _, val = param.partition("=")
        if name.strip().lower() == "refresher":
            refresher = val.strip().lower()
            if refresher not in ("uac", "uas"):
                raise SipParseError(400, "Bad Session-Expires refresher")
    return SessionExpires(int(delta_text), refresher)


def parse_min_se(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.partition(";")[0].strip()
    if not text.isdigit() or len(text) > 10:
        raise SipParseError(400, "Bad Min-SE")
    return int(text)


def session_expires_of(message: Request | Response) -> SessionExpires | None:
    value = message.headers.get("session-expires")
    return None if value is None else parse_session_expires(value)


def supports_timer(message: Request | Response) -> bool:
    tokens = message.headers.tokens("supported") + message.headers.tokens("require")
    return any(t.lower() == "timer" for t in tokens)


def allows_update(message: Request | Response) -> bool:
    return any(t.upper() == "UPDATE" for t in message.headers.tokens("allow"))


@dataclass(slots=True)
class LegTimer:
    """One leg's session timer: who refreshes, and since when the session runs unrefreshed."""

    interval: float
    we_refresh: bool
    refreshed_at: float
    min_se: int  # what the peer said it accepts at least (our refreshes ask no less)
    use_update: bool = False  # the peer allows UPDATE: refresh without touching the media
    # The peer knows the extension: its 2xx without Session-Expires turns the timer off. One
    # that does not know it never sends one; our refreshes then only check it is still there.
    peer_supports: bool = True
    retry_at: float | None = None  # a refresh that could not go is tried again then
    in_flight: bool = False

    @property
    def refresh_at(self) -> float:
        return self.refreshed_at + self.interval / 2

    @property
    def expire_at(self) -> float:
        """When we give up on the session: as the side that does not refresh, a third (at most
        32 s) before its expiry (RFC 4028 section 10); as the refresher, at the expiry itself
        when no refresh of ours succeeded (one that fails for good ends it at once)."""
        if self.we_refresh:
            return self.refreshed_at + self.interval
        return self.refreshed_at + self.interval - min(32.0, self.interval / 3)


class SessionTimers:
    """The session timers of every answered leg; `interval` None turns them off."""

    def __init__(
        self,
        state: SwitchState,
        teardown: Teardown,
        direction: Direction,
        interval: float | None = DEFAULT_INTERVAL,
        *,
        on_established: Callable[[], None] | None = None,
    ) -> None:
        self.state = state
        self.stack = state.stack
        self.teardown = teardown
        self.direction = direction
        self.interval = interval
        # The Min-SE we demand: RFC 4028's 90 s, or the interval itself when a test (or a lab)
        # sets a shorter one; never more than what we offer.
        self.min_se = int(min(MIN_SE, interval)) if interval else MIN_SE
        self.timers: dict[AnyLeg, LegTimer] = {}
        self._on_established = on_established or (lambda: None)

    # ---- as UAC: our INVITEs --------------------------------------------------------------

    def offer_headers(self) -> list[tuple[str, str]]:
        """Headers of an INVITE we place."""
        if self.interval is None:
            return []
        return [
            ("Supported", "timer"),
            ("Session-Expires", str(int(self.interval))),
            ("Min-SE", str(self.min_se)),
        ]

    def retry_after_422(self, leg: AnyLeg, resp: Response) -> Request | None:
        """The leg's INVITE again with the interval the 422 asks for (RFC 4028 section 7.4),
        as a new transaction; None when there is nothing larger to offer."""
        invite = leg.invite
        try:
            wanted = parse_min_se(resp.headers.get("min-se"))
            offered = session_expires_of(invite)
        except SipParseError:
            return None
        if wanted is None or offered is None or wanted <= offered.delta or wanted > 86400:
            return None
        h = invite.headers.copy()
        h.set("via", self.stack.via(leg.tp, peer=leg.peer[0]))
        h.set("cseq", f"{invite.cseq[0] + 1} INVITE")
        h.set("session-expires", str(wanted))
        h.set("min-se", str(wanted))
        return Request(headers=h, body=invite.body, method="INVITE", uri=invite.uri)

    def answered_as_uac(self, leg: AnyLeg, resp: Response) -> None:
        """Our INVITE's 2xx: the timer it sets, if any (a 2xx without one sets none)."""
        self._on_established()
        if self.interval is None:
            return
        try:
            se = session_expires_of(resp)
            min_se = parse_min_se(leg.invite.headers.get("min-se"))
        except SipParseError:
            log.info("leg %s: unreadable Session-Expires in the 2xx: no session timer", leg.leg_id)
            return
        if se is None or se.delta <= 0:
            return
        self.timers[leg] = LegTimer(
            interval=float(se.delta),
            we_refresh=se.refresher != "uas",
            refreshed_at=self.stack.now(),
            min_se=min_se or self.min_se,
            use_update=allows_update(resp),
            peer_supports=supports_timer(resp),
        )

    # ---- as UAS: INVITEs and UPDATEs we answer ---------------------------------------------

    def too_small(self, req: Request) -> Response | None:
        """422 with our Min-SE for an interval below it (RFC 4028 section 8.1); raises
        SipParseError (a 400) for a malformed Session-Expires or Min-SE."""
        if self.interval is None:
            return None
        se = session_expires_of(req)  # malformed: SipParseError, a 400 (RFC 4028 section 9)
        parse_min_se(req.headers.get("min-se"))  # checked here, before anything changes
        if se is None or se.delta >= self.min_se:
            return None
        tag = req.to_addr.tag
        return make_response(
            req,
            422,
            "Session Interval Too Small",
            to_tag=None if tag else new_tag(),
            headers=[("Min-SE", str(self.min_se))],
        )

    def answer_headers(self, leg: AnyLeg, req: Request) -> list[tuple[str, str]]:
        """Negotiate the timer of an INVITE or UPDATE we accept (its 2xx is being sent: the
        session counts as refreshed now) and return the 2xx's headers for it."""
        if req.method == "INVITE" and req.to_addr.tag is None:
            self._on_established()
        if self.interval is None:
            return []
        se = session_expires_of(req)
        peer_min = parse_min_se(req.headers.get("min-se")) or 0
        supported = supports_timer(req)
        if se is None:
            delta = max(self.interval, float(peer_min), float(self.min_se))
            refresher = "uac" if supported else "uas"
        else:
            # Never longer than asked; shorter, down to what both ends accept at least.
            delta = min(float(se.delta), max(self.interval, float(peer_min)))
            refresher = se.refresher or ("uac" if supported else "uas")
        if refresher == "uac" and not supported:
            refresher = "uas"  # it cannot refresh what it does not know about
        old = self.timers.get(leg)
        self.timers[leg] = LegTimer(
            interval=delta,
            we_refresh=refresher == "uas",
            refreshed_at=self.stack.now(),
            min_se=max(peer_min, self.min_se),
            use_update=allows_update(req) or (old is not None and old.use_update),
            peer_supports=supported,
        )
        headers = [
            ("Supported", "timer"),
            ("Session-Expires", f"{int(delta)};refresher={refresher}"),
        ]
        if supported:
            headers.append(("Require", "timer"))
        return headers

    # ---- the clock -------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        for leg, timer in list(self.timers.items()):
            if leg.ended or leg.state is not LegState.ANSWERED:
                if leg.ended:
                    del self.timers[leg]
                continue
            if now >= timer.expire_at:
                log.info(
                    "leg %s: session not refreshed in %.0f s: hung up", leg.leg_id, timer.interval
                )
                del self.timers[leg]
                self.teardown.hang_up(leg, SESSION_TIMER_EXPIRED, report=True)
                continue
            due = timer.retry_at if timer.retry_at is not None else timer.refresh_at
            if timer.we_refresh and not timer.in_flight and now >= due:
                self._refresh(leg, timer)

    # ---- our refreshes ---------------------------------------------------------------------

    def _refresh(self, leg: AnyLeg, timer: LegTimer) -> None:
        dialog = leg.dialog
        if dialog is None:
            return
        timer.retry_at = None
        headers = [
            ("Supported", "timer"),
            ("Session-Expires", f"{int(timer.interval)};refresher=uac"),
            ("Min-SE", str(timer.min_se)),
        ]
        contact = self.state.leg_contact(leg)
        if timer.use_update:
            req = dialog.new_request(
                "UPDATE",
                via=self.stack.via(leg.tp, peer=leg.peer[0]),
                contact=contact,
                extra=headers,
            )
        else:
            if leg.reinvite is not None or (leg.retrans is not None and not leg.retrans.acked):
                timer.retry_at = self.stack.now() + RETRY_LATER  # one INVITE at a time
                return
            req = dialog.new_request(
                "INVITE",
                via=self.stack.via(leg.tp, peer=leg.peer[0]),
                contact=contact,
                body=self.state.local_sdp(leg),
                content_type=SDP_TYPE,
                extra=headers,
            )
        timer.in_flight = True
        txn = self.stack.send_request(
            req,
            leg.peer,
            leg.tp,
            lambda resp: self._on_response(leg, timer, req, resp),
            lambda: self._on_timeout(leg, timer, req),
        )
        if isinstance(txn, ClientInvite):
            leg.reinvite = txn  # a peer's re-INVITE meanwhile is glare (491)

    def _on_response(self, leg: AnyLeg, timer: LegTimer, req: Request, resp: Response) -> None:
        if resp.status < 200:
            return
        self._done(leg, req)
        timer.in_flight = False
        if leg.ended or self.timers.get(leg) is not timer:
            if 200 <= resp.status < 300 and req.method == "INVITE" and leg.dialog is not None:
                self._ack(leg, resp)
            return
        now = self.stack.now()
        if 200 <= resp.status < 300:
            if req.method == "INVITE":
                self._ack(leg, resp)
                if resp.body:
                    self.state.take_answer(leg, resp)
            self.refreshed(leg, resp)
            return
        if resp.status in (408, 481):
            log.info("leg %s: session refresh got %s: hung up", leg.leg_id, resp.status)
            del self.timers[leg]
            self.teardown.hang_up(leg, SESSION_TIMER_EXPIRED, report=True)
            return
        if resp.status == 422:
            try:
                wanted = parse_min_se(resp.headers.get("min-se"))
            except SipParseError:
                wanted = None
            if wanted is not None and timer.interval < wanted <= 86400:
                timer.interval = float(wanted)
                timer.min_se = wanted
                timer.retry_at = now
                return
        if resp.status in (405, 501) and req.method == "UPDATE":
            timer.use_update = False  # it does not take UPDATE after all: re-INVITE
            timer.retry_at = now
            return
        # Glare (491) or anything else: the session is not lost; try again shortly, until the
        # expiry ends it if nothing ever succeeds.
        timer.retry_at = now + RETRY_LATER

    # ---- our other re-INVITEs (hold, resume: direction.py) refresh the session too ----------

    def request_headers(self, leg: AnyLeg) -> list[tuple[str, str]]:
        """What a re-INVITE or UPDATE of ours says to keep the leg's timer as it is (one
        without Session-Expires would turn it off, RFC 4028 section 7.4)."""
        timer = self.timers.get(leg)
        if timer is None:
            return []
        refresher = "uac" if timer.we_refresh else "uas"  # we are this request's UAC
        return [
            ("Supported", "timer"),
            ("Session-Expires", f"{int(timer.interval)};refresher={refresher}"),
            ("Min-SE", str(timer.min_se)),
        ]

    def refreshed(self, leg: AnyLeg, resp: Response) -> None:
        """A 2xx to a re-INVITE or UPDATE of ours: the session is refreshed, with the interval
        and refresher it names (section 7.2)."""
        timer = self.timers.get(leg)
        if timer is None:
            return
        try:
            se = session_expires_of(resp)
        except SipParseError:
            se = None
        timer.refreshed_at = self.stack.now()
        timer.retry_at = None
        if se is None:
            if timer.peer_supports:
                del self.timers[leg]  # the peer wants no timer any more
            return
        timer.interval = float(se.delta)
        timer.we_refresh = se.refresher != "uas"

    def _on_timeout(self, leg: AnyLeg, timer: LegTimer, req: Request) -> None:
        self._done(leg, req)
        timer.in_flight = False
        if leg.ended or self.timers.get(leg) is not timer:
            return
        log.info("leg %s: no answer to the session refresh: hung up", leg.leg_id)
        del self.timers[leg]
        self.teardown.hang_up(leg, SESSION_TIMER_EXPIRED, report=True)

    def _ack(self, leg: AnyLeg, resp: Response) -> None:
        assert leg.dialog is not None
        ack = leg.dialog.ack(resp.cseq[0], via=self.stack.via(leg.tp, peer=leg.peer[0]))
        self.stack.send_stateless(ack, leg.peer, leg.tp)

    def _done(self, leg: AnyLeg, req: Request) -> None:
        """Our re-INVITE is over: a hold or resume that waited for it goes now."""
        if req.method != "INVITE" or leg.reinvite is None or leg.reinvite.request is not req:
            return
        leg.reinvite = None
        if leg.queued_direction is not None and not leg.ended:
            direction, leg.queued_direction = leg.queued_direction, None
            self.direction.set(leg, direction)
