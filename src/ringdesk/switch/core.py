"""What every part of the B2BUA shares: the switch's state, the plumbing to the media server
and the engine, and how a leg is hung up and torn down. Switch (b2bua.py) puts the parts
together: inbound.py, outbound.py and media_actions.py."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections import deque
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import (
    LegFailed,
    LegHungUp,
    PhoneRegistered,
    PlaybackFinished,
    TelephonyEvent,
)
from ringdesk.media.api import Media, RemoteMedia
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import (
    Request,
    Response,
    make_response,
)
from ringdesk.sip.registrar import Registrar
from ringdesk.sip.sdp import (
    Negotiated,
    SdpError,
    answer_remote,
    build_sdp,
    parse_sdp,
)
from ringdesk.sip.transaction import build_cancel
from ringdesk.sip.uri import parse_name_addr
from ringdesk.switch.lookup import EventSink, SwitchDirectory

from .legs import Leg, LegState, best_failure
from .persist import save_bindings
from .registration import RegistrationService
from .resolver import TrunkResolver
from .stack import RequestHandler, SipStack

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE"
SDP_TYPE = "application/sdp"
RING_LIMIT = 180.0  # seconds an outgoing leg may ring before we give up on it
FORGET_AFTER = 40.0  # seconds an ended leg's dialog still answers late retransmissions


class SwitchCore(RequestHandler):
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
            self.stack, directory, self.registrar, secrets.token_bytes(32), self._save_bindings
        )
        # The trunk may be a host name: resolved for our socket's address family.
        self.resolver = TrunkResolver(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.legs: dict[str, Leg] = {}
        self._by_dialog: dict[tuple[str, str], Leg] = {}  # (SIP Call-ID, our tag)
        self._by_invite: dict[tuple[str, str], Leg] = {}  # (SIP Call-ID, their From tag)
        self._tasks: set[asyncio.Task[None]] = set()
        self._ended: deque[tuple[float, Leg]] = deque()
        self._callers: dict[str, str] = {}  # call id -> the customer's number, for phones
        # call id -> the customer's codec: offered first to the other legs, so the relay
        # seldom has to transcode.
        self._call_codecs: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.started = False

    @property
    def local_port(self) -> int:
        return self.stack.port

    @property
    def media_host(self) -> str:
        return "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host

    def _registration_changed(self, cti_id: str, registered: bool) -> None:
        self._emit(PhoneRegistered(cti_id, registered))

    @property
    def _bindings_file(self) -> Path:
        return self.data_dir / "sip-registrations.json"

    def _save_bindings(self) -> None:
        save_bindings(self._bindings_file, self.registrar.all_bindings(), self.stack.now())

    def _emit(self, event: TelephonyEvent) -> None:
        # Straight to the sink: the runtime queues every report and decides it on a later tick
        # (one deferral, there), so the engine is never re-entered while the switch acts.
        try:
            self.sink(event)
        except Exception:
            log.exception("event delivery failed")

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
                RemoteMedia(
                    neg.host,
                    neg.port,
                    neg.payload_type,
                    neg.telephone_event_pt,
                    rtcp_port=neg.rtcp_port,
                    rtcp_host=neg.rtcp_host,
                )
            )

    def _sound(self, name: str) -> Path | None:
        path = self.directory.media().sounds.get(name)
        if path is None or not Path(path).is_file():
            log.warning("sound %r is not configured or missing", name)
            return None
        return Path(path)

    def _take_answer(self, leg: Leg, msg: Request | Response) -> None:
        try:
            neg = answer_remote(parse_sdp(msg.body), leg.payload_types)
        except SdpError as exc:
            log.warning("leg %s: unusable SDP answer (%s)", leg.leg_id, exc)
            return
        leg.payload_types = [neg.payload_type]
        leg.te_pt = neg.telephone_event_pt
        self._set_remote(leg, neg)

    def _fail(self, leg: Leg, reason: FailureReason, detail: str) -> None:
        fork = leg.fork
        if fork is not None and fork.winner is None:
            fork.failures.append((reason, detail))
            others = fork.live(but=leg)
            if others:
                # Another contact of the agent still rings: only this branch is over.
                self._end_branch(leg)
                if self.legs.get(leg.leg_id) is leg:
                    self.legs[leg.leg_id] = others[0]
                return
            reason, detail = best_failure(fork.failures)
        self._teardown(leg)
        self._emit(LegFailed(leg.leg_id, reason, detail))

    def _cancel_branch(self, leg: Leg) -> None:
        """A forked branch that lost (or whose leg is hung up): CANCEL it once it has rung,
        and forget it without touching the shared media or the leg's place in `legs`. If its
        2xx crosses the CANCEL, the answer is ACKed and BYEd (see outbound.py)."""
        if leg.state is LegState.EARLY:
            self._send_cancel(leg)
        elif leg.state is LegState.ANSWERED:
            self._send_bye(leg)
        elif leg.client_txn is not None:
            leg.cancel_pending = True  # CANCEL only after a provisional (RFC 3261 9.1)
        self._end_branch(leg)

    def _end_branch(self, leg: Leg) -> None:
        if leg.state is LegState.ENDED:
            return
        leg.state = LegState.ENDED
        leg.endpoint = None  # shared with the other branches: not ours to close
        if self.started:
            self._ended.append((self.stack.now() + FORGET_AFTER, leg))

    def _hang_up(self, leg: Leg, cause: str, *, report: bool) -> None:
        """End the leg the way its state calls for, then report LegHungUp."""
        if leg.fork is not None and leg.fork.winner is None:
            for other in leg.fork.live(but=leg):
                self._cancel_branch(other)
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
        self.stack.send_request(
            build_cancel(txn.request), leg.peer, leg.tp, ignore_response, ignore_timeout
        )

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
        if self.started:
            self._ended.append((self.stack.now() + FORGET_AFTER, leg))

    def _forget(self, leg: Leg) -> None:
        self._by_dialog.pop((leg.sip_call_id, leg.local_tag), None)
        if leg.invite is not None and leg.inbound:
            self._by_invite.pop((leg.sip_call_id, leg.invite.from_addr.tag or ""), None)
            self._callers.pop(leg.call_id, None)
            self._call_codecs.pop(leg.call_id, None)

    # ---- provided by the other parts of Switch (see inbound.py and media_actions.py) ---------

    def _answer_inbound(self, leg: Leg) -> None:
        raise NotImplementedError

    def _early_media(self, leg: Leg) -> None:
        raise NotImplementedError

    def _set_direction(self, leg: Leg, direction: str, *, force: bool = False) -> None:
        raise NotImplementedError


def ignore_response(_resp: Response) -> None:
    return None


def ignore_timeout() -> None:
    return None


def combine_directions(ours: str, theirs: str) -> str:
    """Our answer's direction: what we want, limited by what the offer allows."""
    send = ours in ("sendrecv", "sendonly") and theirs in ("sendrecv", "recvonly")
    recv = ours in ("sendrecv", "recvonly") and theirs in ("sendrecv", "sendonly")
    return {(True, True): "sendrecv", (True, False): "sendonly", (False, True): "recvonly"}.get(
        (send, recv), "inactive"
    )


def caller_number(req: Request) -> str:
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
