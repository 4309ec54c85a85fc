"""Calls that reach us: the customer's INVITE, queue music in early media, the answer and
its 2xx retransmission, and what the caller does later (ACK, CANCEL, BYE, re-INVITE, UPDATE)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

from ringdesk.core.telephony import (
    CallArrived,
)
from ringdesk.sip.dialog import Dialog, Retransmit2xx
from ringdesk.sip.info_digits import digit_from_info
from ringdesk.sip.message import (
    Request,
    Response,
    make_response,
    new_tag,
)
from ringdesk.sip.sdp import (
    Negotiated,
    SdpError,
    negotiate,
    offer_payload_types,
    parse_sdp,
)
from ringdesk.sip.transaction import ServerInvite, ServerTransaction, State
from ringdesk.switch.lookup import TrunkSettings
from ringdesk.switch.trunk_identity import called_forms, normalise_in

from .direction import Direction
from .dns import Target
from .gate import parse_sources
from .legs import Address, AnyLeg, IncomingLeg, LegState, new_id
from .limits import RETRY_AFTER, TOTAL_LIMIT, UNTRUSTED
from .resolver import ip_literal
from .session_timer import SessionTimers
from .shared import (
    ALLOW,
    CONTACT_USER,
    SDP_TYPE,
    SwitchState,
    caller_number,
    combine_directions,
)
from .teardown import NO_MEDIA_PORT, Teardown

log = logging.getLogger(__name__)


class InboundCalls:
    def __init__(
        self, state: SwitchState, teardown: Teardown, direction: Direction, timers: SessionTimers
    ) -> None:
        self.state = state
        self.timers = timers
        self.stack = state.stack
        self.legs = state.legs
        self.teardown = teardown
        self.direction = direction
        # Where DNS located a trunk without a port (trunk_targets.py; the switch sets it).
        self.located: Callable[[TrunkSettings], Sequence[Target]] = lambda _trunk: ()
        # A key sent in a SIP INFO (media_actions.py; the switch sets it).
        self.on_digit: Callable[[AnyLeg, str], None] = lambda _leg, _digit: None

    def on_ack(self, req: Request) -> None:
        leg = self.state.by_dialog.get((req.call_id, req.to_addr.tag or ""))
        if leg is not None and leg.awaiting_answer and req.body:
            leg.awaiting_answer = False
            self.state.take_answer(leg, req)
        if leg is not None and leg.retrans is not None and leg.retrans.ack(req):
            if leg.retrans_handle is not None:
                leg.retrans_handle.cancel()
            leg.retrans = None
            if leg.queued_direction is not None and leg.reinvite is None:
                direction, leg.queued_direction = leg.queued_direction, None
                self.direction.set(leg, direction)

    def on_cancel(self, req: Request, txn: ServerTransaction) -> None:
        invite_txn = self.stack.table.find_invite_for_cancel(req)
        if not isinstance(invite_txn, ServerInvite):
            self.stack.respond(txn, make_response(req, 481, to_tag=new_tag()))
            return
        self.stack.respond(txn, make_response(req, 200, to_tag=new_tag()))
        leg = self.state.by_invite.get((req.call_id, req.from_addr.tag or ""))
        if leg is None and invite_txn.state is State.PROCEEDING:
            # Cancelled while we were still looking up the trunk's name: no leg yet.
            resp = make_response(invite_txn.request, 487, to_tag=new_tag())
            self.stack.respond(invite_txn, resp)
            return
        if leg is None or leg.state not in (LegState.INCOMING, LegState.EARLY):
            return
        self.stack.respond(invite_txn, make_response(invite_txn.request, 487, to_tag=leg.local_tag))
        self.teardown.end_leg(leg, "cancelled", report=leg.announced)

    def in_dialog(self, req: Request, txn: ServerTransaction) -> None:
        leg = self.state.by_dialog.get((req.call_id, req.to_addr.tag or ""))
        if (
            leg is None
            or leg.dialog is None
            or leg.ended
            or req.from_addr.tag != leg.dialog.remote_tag
        ):
            self.stack.respond(txn, make_response(req, 481))
            return
        if not leg.dialog.check_remote_seq(req):
            self.stack.respond(txn, make_response(req, 500, "CSeq out of order"))
            return
        if req.method == "BYE":
            self.stack.respond(txn, make_response(req, 200))
            self.teardown.end_leg(leg, "remote_bye", report=True)
        elif req.method == "INVITE":
            assert isinstance(txn, ServerInvite)
            self._on_reinvite(leg, req, txn)
        elif req.method == "UPDATE" and req.body:
            self._on_update(leg, req, txn)
        elif req.method == "UPDATE":
            self._on_refresh(leg, req, txn)
        elif req.method == "INFO":
            self.stack.respond(txn, make_response(req, 200))
            digit = digit_from_info(req.headers.get("content-type") or "", req.body)
            if digit is not None:
                self.on_digit(leg, digit)
        elif req.method == "NOTIFY":
            self.stack.respond(txn, make_response(req, 200))
        else:
            self.stack.respond(txn, make_response(req, 405, headers=[("Allow", ALLOW)]))

    def _on_update(self, leg: AnyLeg, req: Request, txn: ServerTransaction) -> None:
        """An offer in UPDATE (RFC 3311): answered in its 200, like a re-INVITE's."""
        if leg.reinvite is not None:
            self.stack.respond(txn, make_response(req, 491))
            return
        if (too_small := self.timers.too_small(req)) is not None:
            self.stack.respond(txn, too_small)
            return
        try:
            neg = self.state.check_family(
                negotiate(parse_sdp(req.body), self.state.directory.media().codecs),
                f"leg {leg.leg_id}",
            )
        except SdpError as exc:
            self.stack.respond(txn, make_response(req, 488, str(exc)))
            return
        self.state.set_remote(leg, neg)
        leg.payload_types, leg.te_pt = [neg.payload_type], neg.telephone_event_pt
        leg.direction = combine_directions(
            "sendonly" if leg.held else "sendrecv", neg.remote_direction
        )
        headers = [("Contact", self.state.leg_contact(leg)), ("Content-Type", SDP_TYPE)]
        headers += self.timers.answer_headers(leg, req)
        body = self.state.local_sdp(leg)
        self.stack.respond(txn, make_response(req, 200, headers=headers, body=body))

    def _on_refresh(self, leg: AnyLeg, req: Request, txn: ServerTransaction) -> None:
        """UPDATE without an offer: a session refresh (RFC 4028) or a keep-alive; the media
        stays as it is."""
        if (too_small := self.timers.too_small(req)) is not None:
            self.stack.respond(txn, too_small)
            return
        assert leg.dialog is not None
        leg.dialog.refresh_target(req)
        headers = [("Contact", self.state.leg_contact(leg)), *self.timers.answer_headers(leg, req)]
        self.stack.respond(txn, make_response(req, 200, headers=headers))

    def _on_reinvite(self, leg: AnyLeg, req: Request, txn: ServerInvite) -> None:
        """The peer holds or moves its media (follow it and mirror its direction), or only
        refreshes the session (RFC 4028: the same SDP, answered with ours unchanged)."""
        if leg.reinvite is not None:
            self.stack.respond(txn, make_response(req, 491))  # glare (RFC 3261 14.2)
            return
        if (too_small := self.timers.too_small(req)) is not None:
            self.stack.respond(txn, too_small)
            return
        assert leg.dialog is not None
        if req.body:
            try:
                neg = self.state.check_family(
                    negotiate(parse_sdp(req.body), self.state.directory.media().codecs),
                    f"leg {leg.leg_id}",
                )
            except SdpError as exc:
                self.stack.respond(txn, make_response(req, 488, str(exc)))
                return
            self.state.set_remote(leg, neg)
            their = neg.remote_direction
            leg.payload_types = [neg.payload_type]
            leg.te_pt = neg.telephone_event_pt
        else:
            their = "sendrecv"
            leg.awaiting_answer = True  # we offer in the 2xx; the answer comes in the ACK
        leg.dialog.refresh_target(req)
        ours = "sendonly" if leg.held else "sendrecv"
        leg.direction = combine_directions(ours, their)
        self._send_2xx(leg, txn, req)

    def on_invite(self, req: Request, txn: ServerInvite, src: Address, tp: str) -> None:
        trusted, trunk = self._trunk_of(src, tp)
        if trusted is None:
            # A trunk's name is not resolved yet: stop the retransmissions, ask, retry.
            self.stack.respond(txn, make_response(req, 100))
            self.state.spawn(self._check_source_later(req, txn, src, tp))
            return
        self._take(req, txn, src, tp, trusted, trunk)

    def _trunk_of(self, src: Address, tp: str) -> tuple[bool | None, TrunkSettings | None]:
        """Whether `src` is one of the enabled trunks (its address and port, or a source listed
        on it), and which; None while a trunk's name is not resolved yet and no other matched."""
        pending = False
        for trunk in self.state.directory.trunks():
            match self._from_trunk(src, tp, trunk):
                case True:
                    return True, trunk
                case None:
                    pending = True
        return (None if pending else False), None

    def _take(
        self,
        req: Request,
        txn: ServerInvite,
        src: Address,
        tp: str,
        from_trunk: bool,
        from_which: TrunkSettings | None = None,
    ) -> None:
        """Trust first, then the limits, then the number: a source that may not call in learns
        nothing about which numbers exist (the same 403 for every one of them)."""
        trunk = self.state.directory.trunk()
        counts = self.state.inbound_counts
        if not from_trunk and not trunk.allow_any_source:
            counts.count_refusal(UNTRUSTED)
            self.stack.respond(txn, untrusted_response(req))
            return
        limited = counts.refusal(src[0], from_trunk, self.state.directory.limits())
        if limited is not None:
            self.stack.respond(txn, limit_response(req, limited))
            return
        called = called_number(req, from_trunk, from_which)
        route = None
        # The number as sent, else another spelling of it with the trunk's country code.
        for form in called_forms(called, from_which.country_code if from_which else None):
            route = self.state.directory.inbound_route(form)
            if route is not None:
                called = form
                break
        tag = new_tag()
        if route is None:
            self.stack.respond(txn, make_response(req, 404, "No such number", to_tag=tag))
            return
        if not route.inbound_enabled:
            self.stack.respond(txn, make_response(req, 403, "Inbound CTI disabled", to_tag=tag))
            return
        if (too_small := self.timers.too_small(req)) is not None:
            self.stack.respond(txn, too_small)  # RFC 4028 section 8.1: ask for a longer one
            return
        codecs = self.state.directory.media().codecs
        neg: Negotiated | None = None
        try:
            if req.body:
                neg = self.state.check_family(
                    negotiate(parse_sdp(req.body), codecs), f"INVITE {req.call_id} from {src[0]}"
                )
                payload_types, te_pt = [neg.payload_type], neg.telephone_event_pt
            else:
                # Delayed offer: we offer in the 2xx and the answer comes in the ACK.
                payload_types, te_pt = offer_payload_types(codecs), 101
        except SdpError as exc:
            self.stack.respond(txn, make_response(req, 488, str(exc), to_tag=tag))
            return
        self.stack.respond(txn, make_response(req, 100))
        leg = IncomingLeg(
            leg_id=new_id("leg"),
            call_id=new_id("call"),
            peer=src,
            tp=tp,
            sip_call_id=req.call_id,
            local_tag=tag,
            invite=req,
            state=LegState.INCOMING,
            server_txn=txn,
            payload_types=payload_types,
            te_pt=te_pt,
            caller=normalise_in(
                caller_number(req, from_trunk=from_trunk),
                from_which.country_code if from_which is not None else None,
            ),
            awaiting_answer=neg is None,
        )
        self.legs[leg.leg_id] = leg
        counts.add(leg.leg_id, src[0])
        self.state.callers[leg.call_id] = leg.caller
        if neg is not None:
            self.state.call_codecs[leg.call_id] = neg.payload_type
        self.state.by_invite[(req.call_id, req.from_addr.tag or "")] = leg
        self.state.by_dialog[(req.call_id, tag)] = leg
        self.state.spawn(
            self._setup_inbound(leg, neg, route.service_id, called),
            lambda: self.teardown.on_error(leg),
        )

    def _from_trunk(self, src: Address, tp: str, trunk: TrunkSettings) -> bool | None:
        """Whether `src` is the trunk: one of the sources an admin listed, or one of the trunk
        host's addresses on its port; None while the host's name is not resolved yet. The port
        is compared over UDP only: a TCP or TLS connection comes from a port of the moment."""
        address = ip_literal(src[0]) or src[0]
        hosts, peers = _sources(trunk.sources)
        if address in hosts:
            return True
        if tp == "udp":
            if (address, src[1]) in peers:
                return True
        elif any(address == peer for peer, _ in peers):
            return True
        if not trunk.host:
            return False
        for target in self.located(trunk):  # where DNS located it: the provider's addresses
            if address == target.address and (tp != "udp" or src[1] == target.port):
                return True
        addresses = self.state.resolver.cached(trunk.host, self.stack.now())
        if addresses is None:
            return None
        return address in addresses and (tp != "udp" or src[1] == trunk.port)

    async def _check_source_later(
        self, req: Request, txn: ServerInvite, src: Address, tp: str
    ) -> None:
        now = self.stack.now()
        for each in self.state.directory.trunks():
            if each.host and self.state.resolver.cached(each.host, now) is None:
                await self.state.resolver.resolve(each.host)
        if txn.state is not State.PROCEEDING:
            return  # cancelled meanwhile (487 sent)
        # Resolved to nothing usable for now: not a trunk (rather than ask again in a loop).
        trusted, which = self._trunk_of(src, tp)
        self._take(req, txn, src, tp, bool(trusted), which)

    async def _setup_inbound(
        self, leg: IncomingLeg, neg: Negotiated | None, service_id: int, called: str
    ) -> None:
        media = self.state.media
        assert media is not None
        try:
            endpoint = await media.open_endpoint(leg.leg_id)
        except OSError as exc:  # the RTP port range is exhausted: 503, one line
            log.warning("leg %s: no RTP port (%s): 503", leg.leg_id, exc)
            self.teardown.hang_up(leg, NO_MEDIA_PORT, report=True)
            return
        if leg.ended:  # cancelled while the port was being opened
            media.close_endpoint(leg.leg_id)
            return
        leg.endpoint = endpoint
        if neg is not None:
            self.state.set_remote(leg, neg)
        leg.announced = True
        self.state.emit(CallArrived(leg.call_id, leg.leg_id, service_id, leg.caller, called))

    def early_media(self, leg: IncomingLeg) -> None:
        """183 Session Progress with our SDP, so the caller hears what we play before answer."""
        if leg.state is not LegState.INCOMING:
            return
        if leg.awaiting_answer:
            # Without the caller's offer an SDP in a 183 would need PRACK: just say it rings.
            self.stack.respond(leg.server_txn, make_response(leg.invite, 180, to_tag=leg.local_tag))
            return
        body = self.state.local_sdp(leg)
        resp = make_response(
            leg.invite,
            183,
            to_tag=leg.local_tag,
            headers=[("Contact", self.state.leg_contact(leg)), ("Content-Type", SDP_TYPE)],
            body=body,
        )
        self.stack.respond(leg.server_txn, resp)
        leg.state = LegState.EARLY

    def answer(self, leg: IncomingLeg) -> None:
        if leg.state not in (LegState.INCOMING, LegState.EARLY):
            return
        leg.dialog = Dialog.as_uas(leg.invite, leg.local_tag)
        leg.state = LegState.ANSWERED
        self._send_2xx(leg, leg.server_txn, leg.invite)

    def _send_2xx(self, leg: AnyLeg, txn: ServerInvite, req: Request) -> None:
        """200 OK with our SDP, retransmitted until the ACK comes (RFC 3261 13.3.1.4)."""
        resp = make_response(
            req,
            200,
            to_tag=leg.local_tag,
            headers=[
                ("Contact", self.state.leg_contact(leg)),
                ("Allow", ALLOW),
                *self.timers.answer_headers(leg, req),
                ("Content-Type", SDP_TYPE),
            ],
            body=self.state.local_sdp(leg),
        )
        self.stack.respond(txn, resp)
        if leg.retrans_handle is not None:
            leg.retrans_handle.cancel()
        leg.retrans = Retransmit2xx(resp, self.stack.now(), reliable=leg.tp != "udp")
        self._arm_retrans(leg)

    def _arm_retrans(self, leg: AnyLeg) -> None:
        r = leg.retrans
        at = r.next_timer() if r is not None else None
        loop = self.state.loop
        if at is None or loop is None:
            return
        leg.retrans_handle = loop.call_at(at, self._retrans_fire, leg)

    def _retrans_fire(self, leg: AnyLeg) -> None:
        r = leg.retrans
        if r is None or leg.ended:
            return
        if r.handle_timer(self.stack.now()):
            self.stack.send_stateless(r.response, leg.peer, leg.tp)
        if r.gave_up:
            leg.retrans = None
            log.info("no ACK for 2xx on leg %s: hanging up", leg.leg_id)
            self.teardown.hang_up(leg, "no_ack", report=True)
            return
        self._arm_retrans(leg)


@functools.lru_cache(maxsize=8)
def _sources(entries: tuple[str, ...]) -> tuple[frozenset[str], frozenset[Address]]:
    """The listed trunk sources, parsed once per settings value (asked on every INVITE)."""
    hosts, peers = parse_sources(entries)
    return frozenset(hosts), frozenset(peers)


def called_number(req: Request, from_trunk: bool, trunk: TrunkSettings | None = None) -> str:
    """The number called: the Request-URI's user. A trunk we registered to sends its calls to
    the Contact we registered (RFC 3261 10.2.1: the Request-URI is that Contact, whose user is
    ours, or has none; some providers put the account's user name there instead) with the
    number called in To: from a trunk, that To user."""
    user = req.uri.user or ""
    ours = ("", CONTACT_USER, *((trunk.username,) if trunk and trunk.username else ()))
    if from_trunk and user in ours:
        return req.to_addr.uri.user or user
    return user


def untrusted_response(req: Request) -> Response:
    """The one answer to an INVITE from a source that may not call in, whatever its number:
    the same status, reason and headers as for a number that does not exist to them."""
    return make_response(req, 403, "Forbidden", to_tag=new_tag())


def limit_response(req: Request, reason: str) -> Response:
    if reason == TOTAL_LIMIT:
        # Overloaded: the carrier may try again later or elsewhere (RFC 3261 21.5.4).
        headers = [("Retry-After", str(RETRY_AFTER))]
        return make_response(req, 503, "Too many calls", to_tag=new_tag(), headers=headers)
    return make_response(req, 486, "Busy Here", to_tag=new_tag())
