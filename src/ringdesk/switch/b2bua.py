"""The B2BUA: every call is legs we terminate ourselves (customer, agent phone, consultation
target), each with its own dialog and media endpoint, joined only through the media server.
The engine drives it with TelephonyActions; facts come back through the sink, always from a
fresh loop callback so the engine is never re-entered while it is handing out actions."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import (
    Bridge,
    CallArrived,
    HangUp,
    LegAnswered,
    LegFailed,
    LegHungUp,
    LegRinging,
    Originate,
    PlaybackFinished,
    PlayThenHangUp,
    RingAgent,
    StartHoldMusic,
    StartQueueMusic,
    StopHoldMusic,
    TelephonyAction,
    TelephonyEvent,
)
from ringdesk.media.api import Media, RemoteMedia
from ringdesk.sip.auth import authorization, pick_challenge
from ringdesk.sip.dialog import Dialog, Retransmit2xx
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import (
    Headers,
    Request,
    Response,
    make_response,
    new_call_id,
    new_tag,
)
from ringdesk.sip.registrar import Registrar
from ringdesk.sip.sdp import (
    Negotiated,
    SdpError,
    answer_remote,
    build_sdp,
    negotiate,
    offer_payload_types,
    parse_sdp,
)
from ringdesk.sip.transaction import ClientInvite, ServerInvite, ServerTransaction, build_cancel
from ringdesk.sip.uri import NameAddr, SipUri, parse_name_addr
from ringdesk.telephony.directory import EventSink, SwitchDirectory

from .legs import Address, Leg, LegState, failure_reason, new_id
from .registration import RegistrationService
from .stack import RequestHandler, SipStack

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE"
SDP_TYPE = "application/sdp"


class Switch(RequestHandler):
    def __init__(
        self,
        host: str,
        port: int,
        *,
        directory: SwitchDirectory,
        sink: EventSink,
        data_dir: Path,
        media: Media | None = None,
    ) -> None:
        self.host = host
        self.directory = directory
        self.sink = sink
        self.data_dir = Path(data_dir)
        self.media: Media | None = media
        self._owns_media = media is None
        self.stack = SipStack(host, port, self)
        self.registrar = Registrar(on_change=self._registration_changed)
        self.registration = RegistrationService(
            self.stack, directory, self.registrar, secrets.token_bytes(32)
        )
        self.legs: dict[str, Leg] = {}
        self._by_dialog: dict[tuple[str, str], Leg] = {}  # (SIP Call-ID, our tag)
        self._by_invite: dict[tuple[str, str], Leg] = {}  # (SIP Call-ID, their From tag)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.started = False

    # ---- lifecycle ----------------------------------------------------------------------

    @property
    def local_port(self) -> int:
        return self.stack.port

    @property
    def media_host(self) -> str:
        return "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.media is None:
            from ringdesk.media.server import MediaServer  # the other half of issue #3

            server = MediaServer(self.host)
            await server.start()
            self.media = server
        await self.stack.start()
        self.registration.start()
        self.started = True

    async def stop(self) -> None:
        for leg in list(self.legs.values()):
            try:
                self._hang_up(leg, "shutdown", report=False)
            except Exception:
                log.exception("hang-up at shutdown failed")
        await asyncio.sleep(0.05)  # let the BYEs leave
        await self.registration.stop()
        for task in list(self._tasks):
            task.cancel()
        await self.stack.stop()
        if self._owns_media and self.media is not None:
            await self.media.close()
        self.started = False

    def is_registered(self, cti_id: str) -> bool:
        return self.started and self.registrar.is_registered(cti_id, self.stack.now())

    def _registration_changed(self, cti_id: str, registered: bool) -> None:
        self._later(lambda: self.directory.registration_changed(cti_id, registered))

    # ---- plumbing -----------------------------------------------------------------------

    def _emit(self, event: TelephonyEvent) -> None:
        self._later(lambda: self.sink(event))

    def _later(self, fn: Callable[[], None]) -> None:
        def run() -> None:
            try:
                fn()
            except Exception:
                log.exception("event delivery failed")

        assert self._loop is not None
        self._loop.call_soon(run)

    def _spawn(self, coro: Coroutine[Any, Any, None], leg: Leg | None = None) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("call task failed")
                if leg is not None and not leg.ended:
                    self._hang_up(leg, "error", report=True)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _contact(self, tp: str) -> str:
        suffix = ";transport=tcp" if tp == "tcp" else ""
        return f"<sip:ringdesk@{self.media_host}:{self.local_port}{suffix}>"

    def _local_sdp(self, leg: Leg) -> bytes:
        assert leg.endpoint is not None
        leg.sdp_version += 1
        return build_sdp(
            address=self.media_host,
            port=leg.endpoint.port,
            session_id=leg.session_id,
            version=leg.sdp_version,
            payload_types=leg.payload_types,
            telephone_event=leg.te_pt,
            direction=leg.direction,
        )

    def _set_remote(self, leg: Leg, neg: Negotiated) -> None:
        if leg.endpoint is not None:
            leg.endpoint.set_remote(
                RemoteMedia(neg.host, neg.port, neg.payload_type, neg.telephone_event_pt)
            )

    def _sound(self, name: str) -> Path | None:
        path = self.directory.media().sounds.get(name)
        if path is None or not Path(path).is_file():
            log.warning("sound %r is not configured or missing", name)
            return None
        return Path(path)

    # ---- requests from the network ------------------------------------------------------

    def on_request(
        self, req: Request, txn: ServerTransaction | None, src: Address, tp: str
    ) -> None:
        method = req.method
        if method == "ACK":
            self._on_ack(req)
            return
        assert txn is not None
        try:
            if method == "REGISTER":
                self.registration.handle(req, txn, src, tp)
            elif method == "OPTIONS":
                headers = [("Allow", ALLOW), ("Accept", SDP_TYPE)]
                self.stack.respond(txn, make_response(req, 200, to_tag=new_tag(), headers=headers))
            elif method == "CANCEL":
                self._on_cancel(req, txn)
            elif req.to_addr.tag is not None:
                self._in_dialog(req, txn)
            elif method == "INVITE":
                assert isinstance(txn, ServerInvite)
                self._on_invite(req, txn, src, tp)
            elif method == "BYE":
                self.stack.respond(txn, make_response(req, 481, to_tag=new_tag()))
            else:
                allow = [("Allow", ALLOW)]
                self.stack.respond(txn, make_response(req, 405, to_tag=new_tag(), headers=allow))
        except SipParseError as exc:
            self.stack.respond(txn, make_response(req, exc.status, exc.reason, to_tag=new_tag()))

    def on_stray_response(self, resp: Response, src: Address) -> None:
        # A 2xx retransmitted after our INVITE transaction ended: ACK it again (13.2.2.4).
        if resp.cseq[1] != "INVITE" or not 200 <= resp.status < 300:
            return
        leg = self._by_dialog.get((resp.call_id, resp.from_addr.tag or ""))
        if leg is not None and leg.dialog is not None:
            ack = leg.dialog.ack(resp.cseq[0], via=self.stack.via(leg.tp))
            self.stack.send_stateless(ack, leg.peer, leg.tp)

    def on_server_timeout(self, txn: ServerTransaction) -> None:
        log.info("no ACK for our final response to %s", txn.request.call_id)

    def _on_ack(self, req: Request) -> None:
        leg = self._by_dialog.get((req.call_id, req.to_addr.tag or ""))
        if leg is not None and leg.awaiting_answer and req.body:
            leg.awaiting_answer = False
            self._take_answer(leg, req)
        if leg is not None and leg.retrans is not None and leg.retrans.ack(req):
            if leg.retrans_handle is not None:
                leg.retrans_handle.cancel()
            leg.retrans = None
            if leg.queued_direction is not None and leg.reinvite is None:
                direction, leg.queued_direction = leg.queued_direction, None
                self._set_direction(leg, direction)

    def _on_cancel(self, req: Request, txn: ServerTransaction) -> None:
        invite_txn = self.stack.table.find_invite_for_cancel(req)
        if not isinstance(invite_txn, ServerInvite):
            self.stack.respond(txn, make_response(req, 481, to_tag=new_tag()))
            return
        self.stack.respond(txn, make_response(req, 200, to_tag=new_tag()))
        leg = self._by_invite.get((req.call_id, req.from_addr.tag or ""))
        if leg is None or leg.state not in (LegState.INCOMING, LegState.EARLY):
            return
        self.stack.respond(invite_txn, make_response(invite_txn.request, 487, to_tag=leg.local_tag))
        self._end_leg(leg, "cancelled", report=leg.announced)

    def _in_dialog(self, req: Request, txn: ServerTransaction) -> None:
        leg = self._by_dialog.get((req.call_id, req.to_addr.tag or ""))
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
            self._end_leg(leg, "remote_bye", report=True)
        elif req.method == "INVITE":
            assert isinstance(txn, ServerInvite)
            self._on_reinvite(leg, req, txn)
        elif req.method in ("INFO", "UPDATE", "NOTIFY"):
            self.stack.respond(txn, make_response(req, 200))
        else:
            self.stack.respond(txn, make_response(req, 405, headers=[("Allow", ALLOW)]))

    def _on_reinvite(self, leg: Leg, req: Request, txn: ServerInvite) -> None:
        """The peer holds or moves its media: follow it and mirror its direction."""
        if leg.reinvite is not None:
            self.stack.respond(txn, make_response(req, 491))  # glare (RFC 3261 14.2)
            return
        assert leg.dialog is not None
        if req.body:
            try:
                neg = negotiate(parse_sdp(req.body), self.directory.media().codecs)
            except SdpError as exc:
                self.stack.respond(txn, make_response(req, 488, str(exc)))
                return
            self._set_remote(leg, neg)
            their = neg.remote_direction
            leg.payload_types = [neg.payload_type]
            leg.te_pt = neg.telephone_event_pt
        else:
            their = "sendrecv"
        leg.dialog.refresh_target(req)
        ours = "sendonly" if leg.held else "sendrecv"
        leg.direction = _combine(ours, their)
        self._answer(leg, txn, req)

    # ---- inbound calls ------------------------------------------------------------------

    def _on_invite(self, req: Request, txn: ServerInvite, src: Address, tp: str) -> None:
        called = req.uri.user or ""
        route = self.directory.inbound_route(called)
        trunk = self.directory.trunk()
        tag = new_tag()
        if route is None:
            self.stack.respond(txn, make_response(req, 404, "No such number", to_tag=tag))
            return
        if not trunk.allow_any_source and src[0] != trunk.host:
            self.stack.respond(txn, make_response(req, 403, "Not from the trunk", to_tag=tag))
            return
        if not route.inbound_enabled:
            self.stack.respond(txn, make_response(req, 403, "Inbound CTI disabled", to_tag=tag))
            return
        codecs = self.directory.media().codecs
        neg: Negotiated | None = None
        try:
            if req.body:
                neg = negotiate(parse_sdp(req.body), codecs)
                payload_types, te_pt = [neg.payload_type], neg.telephone_event_pt
            else:
                # Delayed offer: we offer in the 2xx and the answer comes in the ACK.
                payload_types, te_pt = offer_payload_types(codecs), 101
        except SdpError as exc:
            self.stack.respond(txn, make_response(req, 488, str(exc), to_tag=tag))
            return
        self.stack.respond(txn, make_response(req, 100))
        leg = Leg(
            leg_id=new_id("leg"),
            call_id=new_id("call"),
            inbound=True,
            peer=src,
            tp=tp,
            sip_call_id=req.call_id,
            local_tag=tag,
            invite=req,
            state=LegState.INCOMING,
            server_txn=txn,
            payload_types=payload_types,
            te_pt=te_pt,
            caller=_caller(req),
            awaiting_answer=neg is None,
        )
        self.legs[leg.leg_id] = leg
        self._by_invite[(req.call_id, req.from_addr.tag or "")] = leg
        self._by_dialog[(req.call_id, tag)] = leg
        self._spawn(self._setup_inbound(leg, neg, route.service_id, called), leg)

    async def _setup_inbound(
        self, leg: Leg, neg: Negotiated | None, service_id: int, called: str
    ) -> None:
        assert self.media is not None
        endpoint = await self.media.open_endpoint(leg.leg_id)
        if leg.ended:  # cancelled while the port was being opened
            self.media.close_endpoint(leg.leg_id)
            return
        leg.endpoint = endpoint
        if neg is not None:
            self._set_remote(leg, neg)
        leg.announced = True
        self._emit(CallArrived(leg.call_id, leg.leg_id, service_id, leg.caller, called))

    def _early_media(self, leg: Leg) -> None:
        """183 Session Progress with our SDP, so the caller hears what we play before answer."""
        if leg.state is not LegState.INCOMING or leg.server_txn is None or leg.invite is None:
            return
        if leg.awaiting_answer:
            # Without the caller's offer an SDP in a 183 would need PRACK: just say it rings.
            self.stack.respond(leg.server_txn, make_response(leg.invite, 180, to_tag=leg.local_tag))
            return
        body = self._local_sdp(leg)
        resp = make_response(
            leg.invite,
            183,
            to_tag=leg.local_tag,
            headers=[("Contact", self._contact(leg.tp)), ("Content-Type", SDP_TYPE)],
            body=body,
        )
        self.stack.respond(leg.server_txn, resp)
        leg.state = LegState.EARLY

    def _answer_inbound(self, leg: Leg) -> None:
        if leg.state not in (LegState.INCOMING, LegState.EARLY) or leg.invite is None:
            return
        assert leg.server_txn is not None
        leg.dialog = Dialog.as_uas(leg.invite, leg.local_tag)
        leg.state = LegState.ANSWERED
        self._answer(leg, leg.server_txn, leg.invite)

    def _answer(self, leg: Leg, txn: ServerInvite, req: Request) -> None:
        """200 OK with our SDP, retransmitted until the ACK comes (RFC 3261 13.3.1.4)."""
        resp = make_response(
            req,
            200,
            to_tag=leg.local_tag,
            headers=[
                ("Contact", self._contact(leg.tp)),
                ("Allow", ALLOW),
                ("Content-Type", SDP_TYPE),
            ],
            body=self._local_sdp(leg),
        )
        self.stack.respond(txn, resp)
        if leg.retrans_handle is not None:
            leg.retrans_handle.cancel()
        leg.retrans = Retransmit2xx(resp, self.stack.now(), reliable=leg.tp != "udp")
        self._arm_retrans(leg)

    def _arm_retrans(self, leg: Leg) -> None:
        r = leg.retrans
        at = r.next_timer() if r is not None else None
        if at is None or self._loop is None:
            return
        leg.retrans_handle = self._loop.call_at(at, self._retrans_fire, leg)

    def _retrans_fire(self, leg: Leg) -> None:
        r = leg.retrans
        if r is None or leg.ended:
            return
        if r.handle_timer(self.stack.now()):
            self.stack.send_stateless(r.response, leg.peer, leg.tp)
        if r.gave_up:
            leg.retrans = None
            log.info("no ACK for 2xx on leg %s: hanging up", leg.leg_id)
            self._hang_up(leg, "no_ack", report=True)
            return
        self._arm_retrans(leg)

    # ---- outgoing legs ------------------------------------------------------------------

    def _ring_agent(self, action: RingAgent) -> None:
        bindings = self.registrar.lookup(action.cti_id, self.stack.now())
        if not bindings:
            self._emit(
                LegFailed(action.leg_id, FailureReason.NOT_REGISTERED, "phone not registered")
            )
            return
        binding = max(bindings, key=lambda b: b.expires_at)
        domain = self.directory.sip_domain()
        caller = next(
            (x.caller for x in self.legs.values() if x.call_id == action.call_id and x.inbound),
            "ringdesk",
        )
        extra: list[tuple[str, str]] = []
        if action.auto_answer:
            extra = [
                ("Call-Info", f"<sip:{self.media_host}>;answer-after=0"),
                ("Alert-Info", "<http://www.notused.com>;info=alert-autoanswer;delay=0"),
                ("Alert-Info", f"<sip:{self.media_host}>;info=auto-answer"),
            ]
        self._place_call(
            call_id=action.call_id,
            leg_id=action.leg_id,
            ruri=binding.uri,
            dest=binding.source,
            tp=binding.transport,
            from_addr=NameAddr(SipUri(host=domain, user=caller or "ringdesk"), caller or None),
            to_addr=NameAddr(SipUri(host=domain, user=action.cti_id)),
            extra=extra,
        )

    def _originate(self, action: Originate) -> None:
        trunk = self.directory.trunk()
        if not trunk.host:
            self._emit(LegFailed(action.leg_id, FailureReason.UNREACHABLE, "no trunk configured"))
            return
        domain = self.directory.sip_domain()
        ident = NameAddr(SipUri(host=domain, user=action.calling_number))
        self._place_call(
            call_id=action.call_id,
            leg_id=action.leg_id,
            ruri=SipUri(host=trunk.host, user=action.number, port=trunk.port),
            dest=(trunk.host, trunk.port),
            tp="udp",
            from_addr=ident,
            to_addr=NameAddr(SipUri(host=trunk.host, user=action.number)),
            extra=[("P-Asserted-Identity", f"<{ident.uri}>")],
        )

    def _place_call(
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
    ) -> None:
        try:
            pts = offer_payload_types(self.directory.media().codecs)
        except SdpError:
            pts = [0, 8]
        leg = Leg(
            leg_id=leg_id,
            call_id=call_id,
            inbound=False,
            peer=dest,
            tp=tp,
            sip_call_id=new_call_id(self.media_host),
            local_tag=new_tag(),
            payload_types=pts,
        )
        self.legs[leg_id] = leg
        self._by_dialog[(leg.sip_call_id, leg.local_tag)] = leg
        h = Headers()
        h.add("via", self.stack.via(tp))
        h.add("max-forwards", "70")
        h.add("from", str(from_addr.with_tag(leg.local_tag)))
        h.add("to", str(to_addr))
        h.add("call-id", leg.sip_call_id)
        h.add("cseq", "1 INVITE")
        h.add("contact", self._contact(tp))
        h.add("allow", ALLOW)
        for k, v in extra:
            h.add(k, v)
        h.add("content-type", SDP_TYPE)
        leg.invite = Request(headers=h, body=b"", method="INVITE", uri=ruri)
        self._spawn(self._send_invite(leg), leg)

    async def _send_invite(self, leg: Leg) -> None:
        assert self.media is not None and leg.invite is not None
        endpoint = await self.media.open_endpoint(leg.leg_id)
        if leg.ended:
            self.media.close_endpoint(leg.leg_id)
            return
        leg.endpoint = endpoint
        leg.invite.body = self._local_sdp(leg)
        self._send_leg_invite(leg)

    def _send_leg_invite(self, leg: Leg) -> None:
        assert leg.invite is not None
        invite = leg.invite
        txn = self.stack.send_request(
            invite,
            leg.peer,
            leg.tp,
            lambda resp: self._on_invite_response(leg, invite, resp),
            lambda: self._on_invite_timeout(leg),
        )
        assert isinstance(txn, ClientInvite)
        leg.client_txn = txn

    def _on_invite_timeout(self, leg: Leg) -> None:
        if leg.ended or leg.state is LegState.ANSWERED:
            return
        self._fail(leg, FailureReason.UNREACHABLE, "no response (timeout)")

    def _on_invite_response(self, leg: Leg, invite: Request, resp: Response) -> None:
        code = resp.status
        if code < 200:
            if code > 100:
                if leg.state is LegState.CALLING:
                    leg.state = LegState.EARLY
                if leg.cancel_pending:
                    leg.cancel_pending = False
                    self._send_cancel(leg)
                    return
                if resp.body and not leg.ended:
                    self._take_answer(leg, resp)
                if not leg.ringing_reported and not leg.ended:
                    leg.ringing_reported = True
                    self._emit(LegRinging(leg.leg_id))
            return
        if 200 <= code < 300:
            self._on_invite_2xx(leg, invite, resp)
            return
        if leg.ended:
            return  # the 487 after our CANCEL, or a failure after we gave up
        if code in (401, 407) and not leg.auth_tried and self._retry_with_auth(leg, resp):
            return
        self._fail(leg, failure_reason(code), f"{code} {resp.reason}")

    def _on_invite_2xx(self, leg: Leg, invite: Request, resp: Response) -> None:
        first = leg.dialog is None
        if first:
            leg.dialog = Dialog.as_uac(invite, resp)
            self._by_dialog[(leg.sip_call_id, leg.local_tag)] = leg
        assert leg.dialog is not None
        ack = leg.dialog.ack(resp.cseq[0], via=self.stack.via(leg.tp))
        self.stack.send_stateless(ack, leg.peer, leg.tp)
        if not first:
            return
        if leg.ended:
            # Answered after we hung up (CANCEL crossed the 200): end it properly.
            self._send_bye(leg)
            return
        self._take_answer(leg, resp)
        leg.dialog.refresh_target(resp)
        leg.state = LegState.ANSWERED
        self._emit(LegAnswered(leg.leg_id))

    def _take_answer(self, leg: Leg, msg: Request | Response) -> None:
        try:
            neg = answer_remote(parse_sdp(msg.body), leg.payload_types)
        except SdpError as exc:
            log.warning("leg %s: unusable SDP answer (%s)", leg.leg_id, exc)
            return
        leg.payload_types = [neg.payload_type]
        leg.te_pt = neg.telephone_event_pt
        self._set_remote(leg, neg)

    def _retry_with_auth(self, leg: Leg, resp: Response) -> bool:
        trunk = self.directory.trunk()
        header = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
        challenge = pick_challenge(resp.headers.get_all(header))
        if challenge is None or not trunk.username or trunk.password is None or leg.invite is None:
            return False
        leg.auth_tried = True
        old = leg.invite
        h = old.headers.copy()
        h.set("via", self.stack.via(leg.tp))
        h.set("cseq", f"{old.cseq[0] + 1} INVITE")
        name = "Authorization" if resp.status == 401 else "Proxy-Authorization"
        h.set(
            name,
            authorization(
                challenge,
                method="INVITE",
                uri=str(old.uri),
                username=trunk.username,
                password=trunk.password,
                cnonce=secrets.token_hex(8),
            ),
        )
        leg.invite = Request(headers=h, body=old.body, method="INVITE", uri=old.uri)
        self._send_leg_invite(leg)
        return True

    def _fail(self, leg: Leg, reason: FailureReason, detail: str) -> None:
        self._teardown(leg)
        self._emit(LegFailed(leg.leg_id, reason, detail))

    # ---- actions from the engine --------------------------------------------------------

    def execute(self, action: TelephonyAction) -> None:
        try:
            self._execute(action)
        except Exception:
            log.exception("action %r failed", action)
            leg = self.legs.get(getattr(action, "leg_id", ""))
            if leg is not None and not leg.ended:
                self._hang_up(leg, "error", report=True)

    def _execute(self, action: TelephonyAction) -> None:
        if isinstance(action, RingAgent):
            self._ring_agent(action)
        elif isinstance(action, Originate):
            self._originate(action)
        elif isinstance(action, Bridge):
            self._bridge(action.leg_a, action.leg_b)
        elif isinstance(action, HangUp):
            leg = self.legs.get(action.leg_id)
            if leg is not None and not leg.ended:
                self._hang_up(leg, action.reason, report=True)
        else:
            self._execute_media(action)

    def _execute_media(
        self, action: StartQueueMusic | StartHoldMusic | StopHoldMusic | PlayThenHangUp
    ) -> None:
        leg = self.legs.get(action.leg_id)
        if leg is None or leg.ended:
            log.info("%s for a leg that is gone", type(action).__name__)
            return
        if isinstance(action, StartQueueMusic):
            self._queue_music(leg)
        elif isinstance(action, StartHoldMusic):
            self._hold(leg)
        elif isinstance(action, StopHoldMusic):
            self._resume(leg)
        else:
            self._play_then_hang_up(leg, action.sound)

    def _queue_music(self, leg: Leg) -> None:
        if self.directory.media().queue_music_mode == "answered":
            self._answer_inbound(leg)
        else:
            self._early_media(leg)
        sound = self._sound("queue_music")
        if sound is not None and self.media is not None:
            self.media.play(leg.leg_id, sound, loop=True)

    def _bridge(self, leg_a_id: str, leg_b_id: str) -> None:
        a, b = self.legs.get(leg_a_id), self.legs.get(leg_b_id)
        if a is None or b is None or a.ended or b.ended:
            log.info("bridge of a leg that is gone: %s %s", leg_a_id, leg_b_id)
            return
        assert self.media is not None
        for leg in (a, b):
            if leg.inbound:
                self._answer_inbound(leg)
            if leg.held:
                leg.held = False
                leg.held_partner = None
                self._set_direction(leg, "sendrecv")
            self.media.stop_play(leg.leg_id)
            if leg.partner is not None and leg.partner not in (a.leg_id, b.leg_id):
                self.media.unbridge(leg.leg_id)
                old = self.legs.get(leg.partner)
                if old is not None:
                    old.partner = None
        self.media.bridge(a.leg_id, b.leg_id)
        a.partner, b.partner = b.leg_id, a.leg_id
        if self.directory.media().record_calls:
            path = self.data_dir / "recordings" / a.call_id / f"{a.leg_id}-{b.leg_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.media.start_recording(a.leg_id, b.leg_id, path)

    def _hold(self, leg: Leg) -> None:
        assert self.media is not None
        if leg.held:
            return
        leg.held = True
        leg.held_partner = leg.partner
        if leg.partner is not None:
            self.media.unbridge(leg.leg_id)
            other = self.legs.get(leg.partner)
            if other is not None:
                other.partner = None
            leg.partner = None
        sound = self._sound("hold_music")
        if sound is not None:
            self.media.play(leg.leg_id, sound, loop=True)
        self._set_direction(leg, "sendonly")

    def _resume(self, leg: Leg) -> None:
        assert self.media is not None
        if not leg.held:
            return
        leg.held = False
        self.media.stop_play(leg.leg_id)
        self._set_direction(leg, "sendrecv")
        partner = self.legs.get(leg.held_partner or "")
        leg.held_partner = None
        if partner is not None and not partner.ended and partner.partner is None:
            self.media.bridge(leg.leg_id, partner.leg_id)
            leg.partner, partner.partner = partner.leg_id, leg.leg_id

    def _play_then_hang_up(self, leg: Leg, sound_name: str) -> None:
        assert self.media is not None
        if leg.partner is not None:
            self.media.unbridge(leg.leg_id)
            other = self.legs.get(leg.partner)
            if other is not None:
                other.partner = None
            leg.partner = None
        if leg.state is LegState.INCOMING:
            self._early_media(leg)  # so the caller can hear the message before we reject
        leg.playing_then_hangup = True
        sound = self._sound(sound_name)

        def done() -> None:
            if leg.ended:
                return
            leg.playing_then_hangup = False
            self._emit(PlaybackFinished(leg.leg_id))
            self._hang_up(leg, sound_name, report=True)

        if sound is None:
            self._later(done)
        else:
            self.media.play(leg.leg_id, sound, on_done=done)

    # ---- hanging up ---------------------------------------------------------------------

    def _set_direction(self, leg: Leg, direction: str, *, force: bool = False) -> None:
        """Re-INVITE an answered leg with a new direction (RFC 3264 section 8.4 hold)."""
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
            via=self.stack.via(leg.tp),
            contact=self._contact(leg.tp),
            body=self._local_sdp(leg),
            content_type=SDP_TYPE,
        )
        txn = self.stack.send_request(
            req,
            leg.peer,
            leg.tp,
            lambda resp: self._on_reinvite_response(leg, req, resp),
            lambda: self._on_reinvite_done(leg),
        )
        assert isinstance(txn, ClientInvite)
        leg.reinvite = txn

    def _on_reinvite_response(self, leg: Leg, req: Request, resp: Response) -> None:
        if resp.status < 200:
            return
        if resp.status < 300 and leg.dialog is not None:
            ack = leg.dialog.ack(resp.cseq[0], via=self.stack.via(leg.tp))
            self.stack.send_stateless(ack, leg.peer, leg.tp)
            if resp.body:
                self._take_answer(leg, resp)
        elif resp.status in (408, 481):
            self._hang_up(leg, "dialog_lost", report=True)  # RFC 3261 14.1
            return
        elif resp.status == 491 and self._loop is not None:
            # Glare: both sides offered at once. Try again after a random pause (RFC 3261 14.1).
            leg.reinvite = None
            self._loop.call_later(random.uniform(0.5, 2.0), self._retry_direction, leg)
            return
        self._on_reinvite_done(leg)

    def _retry_direction(self, leg: Leg) -> None:
        if leg.ended or leg.reinvite is not None:
            return
        direction = leg.queued_direction or leg.direction
        leg.queued_direction = None
        self._set_direction(leg, direction, force=True)

    def _on_reinvite_done(self, leg: Leg) -> None:
        leg.reinvite = None
        if leg.queued_direction is not None and not leg.ended:
            direction, leg.queued_direction = leg.queued_direction, None
            self._set_direction(leg, direction)

    def _hang_up(self, leg: Leg, cause: str, *, report: bool) -> None:
        """End the leg the way its state calls for, then report LegHungUp."""
        if leg.state is LegState.ANSWERED:
            self._send_bye(leg)
        elif leg.inbound and leg.server_txn is not None and leg.invite is not None:
            status = 486 if cause == "busy" else 480
            resp = make_response(leg.invite, status, to_tag=leg.local_tag)
            self.stack.respond(leg.server_txn, resp)
        elif not leg.inbound:
            if leg.state is LegState.EARLY:
                self._send_cancel(leg)
            elif leg.client_txn is not None:
                leg.cancel_pending = True  # CANCEL only after a provisional (RFC 3261 9.1)
        self._end_leg(leg, cause, report=report and (leg.announced or not leg.inbound))

    def _send_bye(self, leg: Leg) -> None:
        if leg.dialog is None:
            return
        req = leg.dialog.new_request("BYE", via=self.stack.via(leg.tp))
        self.stack.send_request(req, leg.peer, leg.tp, lambda r: None, lambda: None)

    def _send_cancel(self, leg: Leg) -> None:
        txn = leg.client_txn
        if txn is None or txn.terminated:
            return
        self.stack.send_request(build_cancel(txn.request), leg.peer, leg.tp, _nop, _nop0)

    def _end_leg(self, leg: Leg, cause: str, *, report: bool) -> None:
        was_playing = leg.playing_then_hangup
        self._teardown(leg)
        if report:
            if was_playing:
                self._emit(PlaybackFinished(leg.leg_id))
            self._emit(LegHungUp(leg.leg_id, cause))

    def _teardown(self, leg: Leg) -> None:
        """Forget the leg's media and relay; its dialog stays findable for late messages."""
        if leg.state is LegState.ENDED:
            return
        leg.state = LegState.ENDED
        leg.playing_then_hangup = False
        if leg.retrans_handle is not None:
            leg.retrans_handle.cancel()
        leg.retrans = None
        if leg.partner is not None:
            other = self.legs.get(leg.partner)
            if other is not None:
                other.partner = None
            leg.partner = None
        if self.media is not None and leg.endpoint is not None:
            self.media.unbridge(leg.leg_id)
            self.media.stop_play(leg.leg_id)
            self.media.close_endpoint(leg.leg_id)
        leg.endpoint = None
        self.legs.pop(leg.leg_id, None)
        # Late retransmissions (BYE, 2xx) are still matched for a while, then forgotten.
        if self._loop is not None:
            self._loop.call_later(40.0, self._forget, leg)

    def _forget(self, leg: Leg) -> None:
        self._by_dialog.pop((leg.sip_call_id, leg.local_tag), None)
        if leg.invite is not None and leg.inbound:
            self._by_invite.pop((leg.sip_call_id, leg.invite.from_addr.tag or ""), None)


def _nop(_resp: Response) -> None:
    return None


def _nop0() -> None:
    return None


def _combine(ours: str, theirs: str) -> str:
    """Our answer's direction: what we want, limited by what the offer allows."""
    send = ours in ("sendrecv", "sendonly") and theirs in ("sendrecv", "recvonly")
    recv = ours in ("sendrecv", "recvonly") and theirs in ("sendrecv", "sendonly")
    return {(True, True): "sendrecv", (True, False): "sendonly", (False, True): "recvonly"}.get(
        (send, recv), "inactive"
    )


def _caller(req: Request) -> str:
    """The caller's number: P-Asserted-Identity when the trunk gives one, else From."""
    pai = req.headers.get("p-asserted-identity")
    if pai:
        try:
            user = parse_name_addr(pai).uri.user
            if user:
                return user
        except SipParseError:
            pass
    return req.from_addr.uri.user or ""
