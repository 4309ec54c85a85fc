"""Legs we place: the agent's phone (RingAgent, with auto-answer headers) and outside numbers
through the trunk (Originate, with digest auth when challenged), and their responses."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import (
    AnswerLeg,
    LegAnswered,
    LegFailed,
    LegRinging,
    Originate,
    RingAgent,
)
from ringdesk.media.api import MediaEndpoint
from ringdesk.sip.auth import authorization, pick_challenge
from ringdesk.sip.dialog import Dialog
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import (
    Headers,
    Request,
    Response,
    new_call_id,
    new_tag,
)
from ringdesk.sip.registrar import Binding
from ringdesk.sip.sdp import (
    SdpError,
    offer_payload_types,
)
from ringdesk.sip.transaction import ClientInvite
from ringdesk.sip.uri import NameAddr, SipUri

from .dns import SipResolver
from .legs import Address, Branch, Fork, LegState, OutgoingLeg, failure_reason
from .lookup import TrunkSettings
from .session_timer import SessionTimers
from .shared import ALLOW, RING_LIMIT, SDP_TYPE, SwitchState
from .teardown import Teardown
from .transport import WS_TRANSPORTS
from .trunk_identity import caller_id, format_out, uri_user
from .trunk_targets import TrunkTargets, by_dns, default_port, transport_of

log = logging.getLogger(__name__)


class OutboundCalls:
    def __init__(self, state: SwitchState, teardown: Teardown, timers: SessionTimers) -> None:
        self.state = state
        self.timers = timers
        self.stack = state.stack
        self.legs = state.legs
        self.teardown = teardown
        self._trunk_calls: dict[str, _TrunkCall] = {}
        # A trunk without a port is located by DNS (RFC 3263: NAPTR/SRV/A, switch/dns.py).
        self.dns = SipResolver(state.resolver.family)
        self.targets = TrunkTargets(self.dns)  # what DNS located, per trunk (trunk_targets.py)
        # The last transport error toward each trunk (a refused connect, a TLS certificate
        # not accepted), by trunk id, until it answers again: the admin's trunk list shows it.
        self.trunk_errors: dict[int, str] = {}
        # Whether a trunk may take calls now (one that must register and has not is skipped);
        # the switch sets it to the trunk registrations' answer.
        self.trunk_ready: Callable[[TrunkSettings], bool] = lambda _trunk: True

    def on_stray_response(self, resp: Response, src: Address) -> None:
        # A 2xx retransmitted after our INVITE transaction ended: ACK it again (13.2.2.4).
        if resp.cseq[1] != "INVITE" or not 200 <= resp.status < 300:
            return
        leg = self.state.by_dialog.get((resp.call_id, resp.from_addr.tag or ""))
        if leg is not None and leg.dialog is not None:
            ack = leg.dialog.ack(resp.cseq[0], via=self.stack.via(leg.tp, peer=leg.peer[0]))
            self.stack.send_stateless(ack, leg.peer, leg.tp)

    def ring_agent(self, action: RingAgent) -> None:
        bindings = self.state.registrar.lookup(action.cti_id, self.stack.now())
        if not bindings:
            self.state.emit(
                LegFailed(action.leg_id, FailureReason.NOT_REGISTERED, "phone not registered")
            )
            return
        # Every contact the agent registered rings (a desk phone and a softphone), newest
        # first; one device registering several contacts from one address is rung once.
        contacts: dict[tuple[Address, str], Binding] = {}
        for binding in sorted(bindings, key=lambda b: b.expires_at, reverse=True):
            contacts.setdefault((binding.source, binding.transport), binding)
        # A browser phone registered means the agent chose it (the page registers only then):
        # it alone rings, the newest one, with a WebRTC endpoint of its own (a fork's branches
        # share one plain endpoint).
        browsers = [b for b in contacts.values() if b.transport in WS_TRANSPORTS]
        if browsers:
            contacts = {(browsers[0].source, browsers[0].transport): browsers[0]}
        domain = self.state.directory.sip_domain()
        caller = action.caller or self.state.callers.get(action.call_id, "ringdesk")
        extra: list[tuple[str, str]] = []
        if action.auto_answer:
            extra = [
                ("Call-Info", f"<sip:{self.state.media_host}>;answer-after=0"),
                ("Alert-Info", "<http://www.notused.com>;info=alert-autoanswer;delay=0"),
                ("Alert-Info", f"<sip:{self.state.media_host}>;info=auto-answer"),
            ]

        def leg_to(binding: Binding, fork: Fork | None) -> OutgoingLeg:
            return self.new_outgoing_leg(
                call_id=action.call_id,
                leg_id=action.leg_id,
                ruri=binding.target,
                dest=binding.source,
                tp=binding.transport,
                from_addr=NameAddr(SipUri(host=domain, user=caller or "ringdesk"), caller or None),
                to_addr=NameAddr(SipUri(host=domain, user=action.cti_id)),
                extra=extra,
                cti_id=action.cti_id,
                fork=fork,
            )

        if len(contacts) == 1:
            leg = leg_to(next(iter(contacts.values())), None)
            leg.webrtc = leg.tp in WS_TRANSPORTS
            leg.prewarm = action.prewarm and leg.webrtc
            self._start(leg)
            return
        fork = Fork()
        for binding in contacts.values():
            leg_to(binding, fork)  # a Branch of the fork
        head = fork.branches[0]
        self.legs[action.leg_id] = head
        self.state.spawn(self._send_fork(fork), lambda: self.teardown.on_error(head))

    def originate(self, action: Originate) -> None:
        configured = self.state.directory.trunks()
        trunks = [t for t in configured if t.host and self.trunk_ready(t)]
        if not trunks:
            detail = "no trunk registered" if configured else "no trunk configured"
            self.state.emit(LegFailed(action.leg_id, FailureReason.UNREACHABLE, detail))
            return
        trunk, rest = trunks[0], trunks[1:]
        leg = self.new_outgoing_leg(
            call_id=action.call_id,
            leg_id=action.leg_id,
            ruri=SipUri(host="invalid"),  # set for the trunk by _aim_at
            dest=(trunk.host or "", trunk.port or default_port(trunk)),
            tp=transport_of(trunk),
            from_addr=NameAddr(SipUri(host="invalid")),
            to_addr=NameAddr(SipUri(host="invalid")),
            extra=[],
        )
        self._trunk_calls[leg.leg_id] = _TrunkCall(action.number, action.calling_number, rest)
        self._aim_at(leg, trunk)
        self._start(leg)

    def _aim_at(self, leg: OutgoingLeg, trunk: TrunkSettings) -> None:
        """Address the leg's INVITE to `trunk`: Request-URI and To with the number in its
        format, From and the caller-ID headers in its form, its transport; a new branch and
        CSeq when the INVITE was sent before (failover from the previous trunk)."""
        call = self._trunk_calls[leg.leg_id]
        call.trunk = trunk
        host = trunk.host or ""
        callee = uri_user(format_out(call.number, trunk))
        from_addr, extra = caller_id(call.calling_number, trunk, self.state.directory.sip_domain())
        # "auto" (located by NAPTR) and udp name no transport: RFC 3263 finds it from the URI.
        params: dict[str, str | None] = (
            {"transport": trunk.transport} if trunk.transport in ("tcp", "tls") else {}
        )
        ruri = SipUri(host=host, user=callee, port=trunk.port or None, params=params)
        old = leg.invite
        h = old.headers.copy()
        leg.tp = transport_of(trunk)
        leg.peer = (host, trunk.port or default_port(trunk))
        leg.alternates = []
        leg.auth_tried = False
        h.set("via", self.stack.via(leg.tp, peer=host))
        h.set("cseq", f"{old.cseq[0] + (1 if leg.client_txn is not None else 0)} INVITE")
        h.set("from", str(from_addr.with_tag(leg.local_tag)))
        h.set("to", str(NameAddr(SipUri(host=host, user=callee))))
        h.set("contact", self.state.contact(leg.tp, peer=host))
        for name in (
            "p-asserted-identity",
            "remote-party-id",
            "privacy",
            "authorization",
            "proxy-authorization",
        ):
            h.remove(name)
        for k, v in extra:
            h.add(k, v)
        leg.invite = Request(headers=h, body=old.body, method="INVITE", uri=ruri)
        # The URIs keep the configured name; the INVITE goes to what it resolves to.
        leg.resolve_host = host

    def _next_trunk(self, leg: OutgoingLeg, why: str) -> bool:
        """The trunk in use failed the call for a reason of its own (503, 408, no answer, not
        reachable): send the call to the next trunk by priority. False when none is left or
        the leg is not a trunk call still being set up."""
        call = self._trunk_calls.get(leg.leg_id)
        if call is None or not call.rest or leg.ended or leg.state is LegState.ANSWERED:
            return False
        failed = call.trunk
        trunk = call.rest.pop(0)
        log.warning(
            "leg %s: trunk %s failed (%s): trying trunk %s",
            leg.leg_id,
            failed.name if failed else "?",
            why,
            trunk.name,
        )
        leg.state = LegState.CALLING
        self._aim_at(leg, trunk)
        self.state.spawn(self._resend(leg), lambda: self.teardown.on_error(leg))
        return True

    async def _resend(self, leg: OutgoingLeg) -> None:
        if leg.resolve_host is not None and not await self._resolve_peer(leg, leg.resolve_host):
            return
        self._send_leg_invite(leg)

    def _start(self, leg: OutgoingLeg) -> None:
        self.legs[leg.leg_id] = leg
        self.state.spawn(self._send_invite(leg), lambda: self.teardown.on_error(leg))

    def new_outgoing_leg(
        self,
        *,
        call_id: str,
        leg_id: str,
        ruri: SipUri,
        dest: Address,
        tp: str,
        from_addr: NameAddr,
        to_addr: NameAddr,
        extra: list[tuple[str, str]],
        cti_id: str | None = None,
        fork: Fork | None = None,
    ) -> OutgoingLeg:
        """A leg we call, with its INVITE ready but for the SDP (sent once media is open); with
        a fork, a Branch of it."""
        try:
            pts = offer_payload_types(self.state.directory.media().codecs)
        except SdpError:
            pts = [0, 8]
        first = self.state.call_codecs.get(call_id)
        if first in pts:
            pts.sort(key=lambda pt: pt != first)
        sip_call_id = new_call_id(self.state.media_host)
        local_tag = new_tag()
        h = Headers()
        h.add("via", self.stack.via(tp, peer=dest[0]))
        h.add("max-forwards", "70")
        h.add("from", str(from_addr.with_tag(local_tag)))
        h.add("to", str(to_addr))
        h.add("call-id", sip_call_id)
        h.add("cseq", "1 INVITE")
        h.add("contact", self.state.contact(tp, sips=ruri.scheme == "sips", peer=dest[0]))
        h.add("allow", ALLOW)
        for k, v in extra:
            h.add(k, v)
        for k, v in self.timers.offer_headers():  # RFC 4028 session timer
            h.add(k, v)
        h.add("content-type", SDP_TYPE)
        invite = Request(headers=h, body=b"", method="INVITE", uri=ruri)
        # A fork's branch is an outgoing leg that also knows its fork.
        make: Callable[..., OutgoingLeg] = (
            OutgoingLeg if fork is None else partial(Branch, fork=fork)
        )
        leg = make(
            leg_id=leg_id,
            call_id=call_id,
            peer=dest,
            tp=tp,
            sip_call_id=sip_call_id,
            local_tag=local_tag,
            invite=invite,
            state=LegState.CALLING,
            payload_types=pts,
            cti_id=cti_id,
        )
        if fork is not None:
            assert isinstance(leg, Branch)
            fork.branches.append(leg)
        self.state.by_dialog[(sip_call_id, local_tag)] = leg
        return leg

    async def _send_fork(self, fork: Fork) -> None:
        """One media endpoint for the leg, offered to every branch; all INVITEs at once."""
        media = self.state.media
        assert media is not None
        head = fork.branches[0]
        try:
            endpoint = await media.open_endpoint(head.leg_id)
        except OSError as exc:  # the RTP port range is exhausted: the leg fails, one line
            log.warning("leg %s: no RTP port (%s)", head.leg_id, exc)
            for leg in fork.live():
                self.teardown.fail(leg, FailureReason.UNREACHABLE, "no RTP port")
            return
        live = fork.live()
        if not live:  # hung up while the port was being opened
            media.close_endpoint(head.leg_id)
            return
        for leg in live:
            leg.endpoint = endpoint
            leg.invite.body = self.state.local_sdp(leg)
            self._send_leg_invite(leg)

    async def _send_invite(self, leg: OutgoingLeg) -> None:
        media = self.state.media
        assert media is not None
        if leg.resolve_host is not None and not await self._resolve_peer(leg, leg.resolve_host):
            return
        try:
            if leg.webrtc:
                endpoint: MediaEndpoint = await media.open_webrtc_endpoint(leg.leg_id)
            else:
                endpoint = await media.open_endpoint(leg.leg_id)
        except OSError as exc:  # the RTP port range is exhausted: the leg fails, one line
            log.warning("leg %s: no RTP port (%s)", leg.leg_id, exc)
            self.teardown.fail(leg, FailureReason.UNREACHABLE, "no RTP port")
            return
        if leg.ended:
            media.close_endpoint(leg.leg_id)
            return
        leg.endpoint = endpoint
        leg.invite.body = self.state.local_sdp(leg)
        self._send_leg_invite(leg)

    async def _resolve_peer(self, leg: OutgoingLeg, host: str) -> bool:
        """Point the leg at the trunk's first address (the others kept for failover); an
        unresolvable trunk fails the leg as unreachable. False when the leg is not to be sent."""
        call = self._trunk_calls.get(leg.leg_id)
        if call is not None and call.trunk is not None and by_dns(call.trunk):
            return await self._locate_peer(leg, host, call.trunk)
        addresses = await self.state.resolver.resolve(host)
        if leg.ended:
            return False
        if not addresses:
            why = self.state.resolver.error(host)
            detail = f"trunk host {host} cannot be resolved" + (f" ({why})" if why else "")
            if self._next_trunk(leg, detail):
                return False
            self.teardown.fail(leg, FailureReason.UNREACHABLE, detail)
            return False
        port = leg.peer[1]
        self._retarget(leg, (addresses[0], port), leg.tp)
        leg.alternates = [((address, port), leg.tp) for address in addresses[1:]]
        return True

    async def _locate_peer(self, leg: OutgoingLeg, host: str, trunk: TrunkSettings) -> bool:
        """A trunk without a port: its RFC 3263 targets by DNS (with "auto": NAPTR, then SRV,
        then A/AAAA, the transport from what was found; with a transport: SRV for it, else
        A/AAAA on its default port), the first one used and the others kept for failover."""
        targets = await self.targets.locate(trunk)
        if leg.ended:
            return False
        if not targets:
            detail = f"trunk host {host} cannot be located ({self.dns.error(host)})"
            if self._next_trunk(leg, detail):
                return False
            self.teardown.fail(leg, FailureReason.UNREACHABLE, detail)
            return False
        first = targets[0]
        self._retarget(leg, (first.address, first.port), first.transport)
        leg.alternates = [((t.address, t.port), t.transport) for t in targets[1:]]
        return True

    def _retarget(self, leg: OutgoingLeg, peer: Address, tp: str) -> None:
        """Point the leg's INVITE (not sent to this target yet) at `peer` over `tp`: its Via
        and Contact follow the transport (a NAPTR may pick TCP or TLS for a UDP default) and
        the address: ours as chosen for `peer` (the trunk's name was in no local network)."""
        leg.peer = peer
        leg.tp = tp
        old = leg.invite
        h = old.headers.copy()
        h.set("via", self.stack.via(tp, peer=peer[0]))
        h.set("contact", self.state.contact(tp, peer=peer[0]))
        leg.invite = Request(headers=h, body=old.body, method="INVITE", uri=old.uri)

    def _try_next_address(self, leg: OutgoingLeg, why: str = "no answer") -> bool:
        """The trunk address in use gave no answer (or a 503, RFC 3263 section 4.3): send the
        INVITE to its next address, as a new transaction (new branch and CSeq). False when
        none is left."""
        if not leg.alternates or leg.state is not LegState.CALLING:
            return False
        leg.peer, leg.tp = leg.alternates.pop(0)
        old = leg.invite
        h = old.headers.copy()
        h.set("via", self.stack.via(leg.tp, peer=leg.peer[0]))
        h.set("contact", self.state.contact(leg.tp, peer=leg.peer[0]))
        h.set("cseq", f"{old.cseq[0] + 1} INVITE")
        h.remove("authorization")  # another server: its own challenge, if any
        h.remove("proxy-authorization")
        leg.auth_tried = False
        leg.invite = Request(headers=h, body=old.body, method="INVITE", uri=old.uri)
        log.info("leg %s: %s from the trunk, trying %s:%s", leg.leg_id, why, *leg.peer)
        self._send_leg_invite(leg)
        return True

    def _send_leg_invite(self, leg: OutgoingLeg) -> None:
        invite = leg.invite
        call = self._trunk_calls.get(leg.leg_id)
        if call is not None and call.trunk is not None and leg.tp == "tls":
            # We open the TLS connection to the trunk, verifying its certificate for the
            # trunk's host name (RFC 5922: the configured name, not an SRV target's).
            self.stack.transport.dial_as(leg.peer, call.trunk.host or leg.peer[0])
        txn = self.stack.send_request(
            invite,
            leg.peer,
            leg.tp,
            lambda resp: self._on_invite_response(leg, invite, resp),
            lambda: self._on_invite_timeout(leg),
        )
        assert isinstance(txn, ClientInvite)
        leg.client_txn = txn
        leg.ring_deadline = self.stack.now() + RING_LIMIT

    def ring_limit(self, leg: OutgoingLeg) -> None:
        """Like a proxy's timer C: a phone or trunk that rings for ever is given up on."""
        if isinstance(leg, Branch):
            for other in leg.fork.live(but=leg):
                self.teardown.cancel_branch(other)
        self.teardown.send_cancel(leg)
        self.teardown.fail(leg, FailureReason.NO_ANSWER, f"no answer in {RING_LIMIT:.0f} s")

    def _on_invite_timeout(self, leg: OutgoingLeg) -> None:
        if leg.ended or leg.state is LegState.ANSWERED:
            return
        txn = leg.client_txn
        unreachable = txn is not None and txn.transport_error
        if unreachable:
            self._note_trunk_error(leg)
        if self._try_next_address(leg, "not reachable" if unreachable else "no answer"):
            return
        if self._next_trunk(leg, "not reachable" if unreachable else "no response"):
            return
        self._trunk_calls.pop(leg.leg_id, None)
        if txn is not None and txn.transport_error:
            if leg.cti_id is not None and self.state.registrar.drop_source(leg.cti_id, leg.peer):
                # The phone is gone (its port is closed): stop offering it calls until it
                # registers again, and let the widget say so.
                log.info("phone %s at %s:%s is gone: registration dropped", leg.cti_id, *leg.peer)
                self.state.save_bindings()
            self.teardown.fail(leg, FailureReason.UNREACHABLE, "destination unreachable")
            return
        self.teardown.fail(leg, FailureReason.UNREACHABLE, "no response (timeout)")

    def _note_trunk_error(self, leg: OutgoingLeg) -> None:
        """A transport error toward a trunk: remembered with its reason for the admin."""
        call = self._trunk_calls.get(leg.leg_id)
        if call is None or call.trunk is None:
            return
        why = self.stack.transport.dial_error(leg.peer, leg.tp) or "not reachable"
        self.trunk_errors[call.trunk.id] = f"{leg.peer[0]}:{leg.peer[1]}/{leg.tp}: {why}"

    def _on_invite_response(self, leg: OutgoingLeg, invite: Request, resp: Response) -> None:
        code = resp.status
        call = self._trunk_calls.get(leg.leg_id)
        if call is not None and call.trunk is not None:
            self.trunk_errors.pop(call.trunk.id, None)  # it answers
        if code < 200:
            if code > 100:
                if leg.state is LegState.CALLING:
                    leg.state = LegState.EARLY
                if leg.cancel_pending:
                    leg.cancel_pending = False
                    self.teardown.send_cancel(leg)
                    return
                if resp.body and not leg.ended:
                    leg.answer_problem = self.state.answer_problem(leg, resp)
                    if isinstance(leg, Branch):
                        leg.early_answer = resp  # the shared media follows the winner only
                    elif leg.answer_problem is None:
                        self.state.take_answer(leg, resp)
                if not leg.ended and self._first_ringing(leg):
                    self.state.emit(LegRinging(leg.leg_id))
            return
        if 200 <= code < 300:
            self._on_invite_2xx(leg, invite, resp)
            return
        if leg.ended:
            self._trunk_calls.pop(leg.leg_id, None)
            return  # the 487 after our CANCEL, or a failure after we gave up
        if code in (401, 407) and not leg.auth_tried and self._retry_with_auth(leg, resp):
            return
        if code == 503 and leg.alternates and leg.state is not LegState.ANSWERED:
            leg.state = LegState.CALLING  # the trunk's next address (SRV target) afresh
            if self._try_next_address(leg, f"{code} {resp.reason}"):
                return
        if code in FAILOVER_CODES and self._next_trunk(leg, f"{code} {resp.reason}"):
            return
        if code == 488 and leg.crypto and not leg.plain_retried:
            self._retry_plain(leg, resp)
            return
        if code == 422 and (retry := self.timers.retry_after_422(leg, resp)) is not None:
            leg.invite = retry  # the interval it asks for (RFC 4028 section 7.4)
            self._send_leg_invite(leg)
            return
        self._trunk_calls.pop(leg.leg_id, None)
        self.teardown.fail(leg, failure_reason(code), f"{code} {resp.reason}")

    def _on_invite_2xx(self, leg: OutgoingLeg, invite: Request, resp: Response) -> None:
        first = leg.dialog is None
        if first:
            try:
                leg.dialog = Dialog.as_uac(invite, resp)
            except SipParseError as exc:
                self._unusable_2xx(leg, invite, resp, exc)
                return
            self.state.by_dialog[(leg.sip_call_id, leg.local_tag)] = leg
            self._trunk_calls.pop(leg.leg_id, None)
        assert leg.dialog is not None
        ack = leg.dialog.ack(resp.cseq[0], via=self.stack.via(leg.tp, peer=leg.peer[0]))
        self.stack.send_stateless(ack, leg.peer, leg.tp)
        if not first:
            return
        if leg.ended:
            # Answered after we hung up (CANCEL crossed the 200), or another of the agent's
            # phones answered first: end it properly.
            self.teardown.send_bye(leg)
            return
        if resp.body:
            leg.answer_problem = self.state.answer_problem(leg, resp)
        if leg.answer_problem is not None:
            # Answered with media we cannot use: a call without audio is worse than none
            # (RFC 3264 section 6: the offerer ends it). Hung up, and the leg fails at once.
            log.warning(
                "leg %s: %s:%s answered with unusable SDP (%s): hung up",
                leg.leg_id,
                *leg.peer,
                leg.answer_problem,
            )
            self.teardown.send_bye(leg)
            self.teardown.fail(leg, FailureReason.REJECTED, f"unusable SDP: {leg.answer_problem}")
            return
        if isinstance(leg, Branch):
            self._won(leg)
        if resp.body:  # else the answer came already in a 183
            self.state.take_answer(leg, resp)
        elif isinstance(leg, Branch) and leg.early_answer is not None:
            self.state.take_answer(leg, leg.early_answer)
        leg.dialog.refresh_target(resp)
        leg.state = LegState.ANSWERED
        self.timers.answered_as_uac(leg, resp)
        if leg.prewarm and not leg.answer_asked:
            # The browser took the offer: its ICE and DTLS come up now, bridged to nothing,
            # and Answer (answer_leg) reports it at once.
            log.info("leg %s: the browser phone is up with the offer", leg.leg_id)
            return
        self.state.emit(LegAnswered(leg.leg_id))

    def answer_leg(self, action: AnswerLeg) -> None:
        """Answer clicked on a prewarmed offer: the leg is reported answered now if the browser
        has taken it, else as soon as it does (_on_invite_2xx)."""
        leg = self.legs.get(action.leg_id)
        if not isinstance(leg, OutgoingLeg) or leg.ended or not leg.prewarm or leg.answer_asked:
            return
        leg.answer_asked = True
        if leg.state is LegState.ANSWERED:
            self.state.emit(LegAnswered(leg.leg_id))

    def _unusable_2xx(
        self, leg: OutgoingLeg, invite: Request, resp: Response, exc: SipParseError
    ) -> None:
        """A 2xx whose Contact cannot be parsed: acknowledged (else it comes again for 32 s)
        and hung up where it came from, and the leg fails at once, so the agent is not left
        Dialing until the ring limit."""
        log.warning(
            "leg %s: unusable 2xx from %s:%s (%s): acknowledged and hung up",
            leg.leg_id,
            *leg.peer,
            exc.reason,
        )
        leg.dialog = Dialog.as_uac(invite, resp, target_fallback=True)
        self.state.by_dialog[(leg.sip_call_id, leg.local_tag)] = leg  # its retransmissions
        ack = leg.dialog.ack(resp.cseq[0], via=self.stack.via(leg.tp, peer=leg.peer[0]))
        self.stack.send_stateless(ack, leg.peer, leg.tp)
        self.teardown.send_bye(leg)
        self.teardown.fail(leg, FailureReason.REJECTED, "unusable answer (bad Contact)")

    def _first_ringing(self, leg: OutgoingLeg) -> bool:
        """LegRinging once per leg, however many of its branches ring."""
        holder: Fork | OutgoingLeg = leg.fork if isinstance(leg, Branch) else leg
        if holder.ringing_reported:
            return False
        holder.ringing_reported = True
        return True

    def _won(self, leg: Branch) -> None:
        """The first branch to answer is the leg from now on; the others are cancelled. Its
        bridges (bridges.py, by leg id) are the leg's: nothing to move."""
        fork = leg.fork
        fork.winner = leg
        self.legs[leg.leg_id] = leg
        for other in fork.live(but=leg):
            log.info(
                "leg %s answered at %s:%s: cancelling the other contact", leg.leg_id, *leg.peer
            )
            self.teardown.cancel_branch(other)

    def _retry_plain(self, leg: OutgoingLeg, resp: Response) -> None:
        """The peer refused our SRTP offer (a phone or trunk without SDES answers 488): offer
        it plain RTP once, as a peer that does SRTP would have taken it. Over TLS nobody else
        can send that 488; over plain SIP whoever could forge it could read the SDES keys too,
        so the fallback gives an attacker nothing SDES did not already give."""
        log.info(
            "leg %s: %s:%s refused SRTP (%s %s): offering plain RTP",
            leg.leg_id,
            *leg.peer,
            resp.status,
            resp.reason,
        )
        leg.plain_retried = True
        leg.profile, leg.crypto = "RTP/AVP", []
        old = leg.invite
        h = old.headers.copy()
        h.set("via", self.stack.via(leg.tp, peer=leg.peer[0]))
        h.set("cseq", f"{old.cseq[0] + 1} INVITE")
        leg.invite = Request(headers=h, body=b"", method="INVITE", uri=old.uri)
        leg.invite.body = self.state.local_sdp(leg)
        self._send_leg_invite(leg)

    def _retry_with_auth(self, leg: OutgoingLeg, resp: Response) -> bool:
        """A trunk's 401/407 answered once: Authorization for a 401, Proxy-Authorization for a
        407 (RFC 3261 22.2, 22.3), as a new transaction (new branch and CSeq, the same Call-ID
        and From tag); the transaction layer has ACKed the challenge. A phone's challenge, or
        one for a realm other than the trunk's, is not answered."""
        call = self._trunk_calls.get(leg.leg_id)
        trunk = call.trunk if call is not None else None
        header = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
        challenge = pick_challenge(resp.headers.get_all(header))
        if trunk is None or challenge is None or not trunk.digest_user or trunk.password is None:
            return False
        if trunk.realm and challenge.realm != trunk.realm:
            log.warning(
                "leg %s: trunk %s challenged for realm %r, not %r: not answered",
                leg.leg_id,
                trunk.name,
                challenge.realm,
                trunk.realm,
            )
            return False
        leg.auth_tried = True
        old = leg.invite
        h = old.headers.copy()
        h.set("via", self.stack.via(leg.tp, peer=leg.peer[0]))
        h.set("cseq", f"{old.cseq[0] + 1} INVITE")
        name = "Authorization" if resp.status == 401 else "Proxy-Authorization"
        h.set(
            name,
            authorization(
                challenge,
                method="INVITE",
                uri=str(old.uri),
                username=trunk.digest_user,
                password=trunk.password,
                cnonce=secrets.token_hex(8),
            ),
        )
        leg.invite = Request(headers=h, body=old.body, method="INVITE", uri=old.uri)
        self._send_leg_invite(leg)
        return True


FAILOVER_CODES = frozenset({408, 500, 502, 503, 504})
"""Final responses about the trunk, not the number: the call moves to the next trunk. A 4xx
like 404 or 486 is about the number and would get the same answer elsewhere."""


@dataclass(slots=True)
class _TrunkCall:
    """An outside call's number, caller ID, the trunk in use and the ones left to try."""

    number: str
    calling_number: str
    rest: list[TrunkSettings]
    trunk: TrunkSettings | None = None
