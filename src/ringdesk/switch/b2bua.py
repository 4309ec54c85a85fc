"""The B2BUA: every call is legs we terminate ourselves (customer, agent phone, consultation
target), each with its own dialog and media endpoint, joined only through the media server.
The engine drives it with TelephonyActions; facts come back through the sink.

Switch puts the parts together and calls them by name: one SwitchState (state.py) shared by
Bridges (bridges.py, which legs' media are joined), Teardown (teardown.py, how a leg ends),
Direction (direction.py, our re-INVITEs), InboundCalls (inbound.py, what reaches us),
OutboundCalls (outbound.py, what we place) and MediaActions (media_actions.py, music, bridges
and messages)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import assert_never

from ringdesk.core.telephony import (
    MEDIA_TIMEOUT,
    AnswerLeg,
    Bridge,
    HangUp,
    Monitor,
    Originate,
    PlayPrompt,
    PlayThenHangUp,
    RecordVoicemail,
    RingAgent,
    StartHoldMusic,
    StartQueueMusic,
    StopHoldMusic,
    TelephonyAction,
)
from ringdesk.media.api import Media
from ringdesk.media.speech import INSTALL_HINT, Speech
from ringdesk.sip.dialog import Dialog
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import KNOWN_METHODS, Request, Response, make_response, new_tag
from ringdesk.sip.registrar import Registrar
from ringdesk.sip.transaction import ServerInvite, ServerTransaction
from ringdesk.switch.lookup import EventSink, SwitchDirectory

from .addresses import Addresses
from .bridges import Bridges
from .direction import Direction
from .gate import Gate, GateSettings
from .inbound import InboundCalls
from .keepalive import DEFAULT_INTERVAL as KEEPALIVE_INTERVAL
from .keepalive import KeepAlive
from .legs import Address, AnyLeg, LegState, OutgoingLeg
from .limits import CallCounts
from .liveness import DEFAULT_TIMEOUT, Liveness
from .media_actions import MediaActions
from .orphans import WaitingOrphans
from .outbound import OutboundCalls
from .persist import (
    BANS_FILE,
    DIALOGS_FILE,
    FLUSH_DELAY,
    DialogJournal,
    LiveDialog,
    SavedDialog,
    load_bans,
    load_bindings,
    load_dialogs,
    save_bans,
)
from .playback import Playback
from .reattach import BrowserReattach
from .registration import RegistrationService
from .resolver import TrunkResolver, ip_literal
from .session_timer import DEFAULT_INTERVAL, SessionTimers
from .shared import ALLOW, SDP_TYPE, SwitchState
from .srtp import SrtpOffer
from .stack import RequestHandler, SipStack
from .teardown import Teardown
from .transport import WS_TRANSPORTS
from .trunk_registration import TrunkRegistrations
from .trunk_targets import sources as located_sources
from .websocket import SipWebSockets

log = logging.getLogger(__name__)


class Switch(RequestHandler):
    """Switch(host, port, *, directory, sink, data_dir, media=None, gate=None): the port.

    Port 0 picks a free port (UDP and TCP share it; `local_port` tells which after start).
    `tls`: a server context for SIP over TLS on `tls_port` (0: any free one, `tls_port` after
    start tells which); without it, no TLS listener.
    Without `media`, start() runs a ringdesk.media.server.MediaServer on `host`. `gate`: the
    rate limits and bans in front of the stack (GateSettings() when omitted).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        directory: SwitchDirectory,
        sink: EventSink,
        data_dir: Path,
        media: Media | None = None,
        gate: GateSettings | None = None,
        media_timeout: float | None = DEFAULT_TIMEOUT,
        session_expires: float | None = DEFAULT_INTERVAL,
        srtp: SrtpOffer | None = None,
        tls: ssl.SSLContext | None = None,
        tls_port: int = 0,
        keepalive: float | None = KEEPALIVE_INTERVAL,
        min_expires: int = 60,
        addresses: Addresses | None = None,
        media_addresses: Addresses | None = None,
        rtp_ports: tuple[int, int] = (20000, 40000),
    ) -> None:
        self.gate = Gate(gate)
        # The bans, in the data dir: a restart does not lift them (persist.py).
        self._bans_file = Path(data_dir) / BANS_FILE
        self._bans_pending: asyncio.TimerHandle | None = None
        self.gate.changed = self._bans_changed
        self.rtp_ports = rtp_ports
        self.liveness = Liveness(media_timeout)
        self.state = state = SwitchState(
            host,
            port,
            handler=self,
            directory=directory,
            sink=sink,
            data_dir=data_dir,
            media=media,
            gate=self.gate,
            srtp=srtp,
            tls=tls,
            tls_port=tls_port,
            addresses=addresses,
            media_addresses=media_addresses,
            min_expires=min_expires,
        )
        self._owns_media = media is None
        self.registration = RegistrationService(
            state.stack,
            directory,
            state.registrar,
            secrets.token_bytes(32),
            state.save_bindings,
            self.gate,
        )
        # The browser phones' SIP WebSockets, accepted by the web server (websocket.py).
        self.websockets = SipWebSockets(
            state.stack.transport, state.registrar, state.stack.now, state.save_bindings
        )
        # OPTIONS to UDP phones every `keepalive` s: their NAT mappings stay open (keepalive.py)
        self.keepalive = KeepAlive(
            state.stack, state.registrar, directory.sip_domain, state.save_bindings, keepalive
        )
        self.bridges = Bridges(state)
        self.teardown = Teardown(state, self.bridges)
        self.direction = Direction(state, self.teardown)
        # The live dialogs, in the data dir: BYE to each after a crash (persist.py).
        self.dialogs = DialogJournal(Path(data_dir) / DIALOGS_FILE, self._live_dialogs)
        self._orphans: dict[tuple[str, str], SavedDialog] = {}  # BYE sent after the restart
        self._waiting = WaitingOrphans()  # ... or due when their phone registers (orphans.py)
        self.registration.on_registered = self._phone_registered
        self.teardown.dialog_ended = self.dialogs.mark
        self.session_timers = SessionTimers(
            state,
            self.teardown,
            self.direction,
            session_expires,
            on_established=self.dialogs.mark,
        )
        self.direction.session_headers = self.session_timers.request_headers
        self.direction.session_refreshed = self.session_timers.refreshed
        self.inbound = InboundCalls(state, self.teardown, self.direction, self.session_timers)
        self.outbound = OutboundCalls(state, self.teardown, self.session_timers)
        # Outbound registration to the trunks that need it (trunk_registration.py).
        self.trunk_registrations = TrunkRegistrations(
            state.stack,
            state.resolver,
            lambda tp, host: state.contact(tp, peer=host),
            self.outbound.targets,
        )
        # The addresses DNS located a trunk at are the trunk's (trunk_targets.py).
        self.inbound.located = self.outbound.targets.known
        self.outbound.trunk_ready = self.trunk_registrations.ready
        # Prompts: an admin's WAVs, or text spoken with espeak-ng into the data dir's cache.
        self.playback = Playback(state, Speech(state.data_dir / "speech"))
        self.media_actions = MediaActions(
            state, self.teardown, self.bridges, self.inbound, self.direction, self.playback
        )
        self.inbound.on_digit = self.media_actions.sip_info_digit
        # A browser phone that lost its socket in a call is rung again when it registers anew.
        self.reattach = BrowserReattach(
            state,
            self.teardown,
            self.outbound.new_outgoing_leg,
            on_answered=self._reattached,
        )
        self.websockets.on_closed = lambda peer: self.reattach.socket_closed(peer.addr, peer.cti_id)
        self.registration.on_browser_registered = self.reattach.registered

    def _reattached(self, leg: AnyLeg, resp: Response) -> None:
        """A browser leg took a new dialog (reattach.py): its session timer and the dialogs
        file follow the new one."""
        self.session_timers.answered_as_uac(leg, resp)
        self.dialogs.mark()

    # ---- what the runtime and the tests see -------------------------------------------------

    @property
    def stack(self) -> SipStack:
        return self.state.stack

    @property
    def registrar(self) -> Registrar:
        return self.state.registrar

    @property
    def media(self) -> Media | None:
        return self.state.media

    @property
    def legs(self) -> dict[str, AnyLeg]:
        return self.state.legs

    @property
    def resolver(self) -> TrunkResolver:
        return self.state.resolver

    @resolver.setter
    def resolver(self, resolver: TrunkResolver) -> None:
        self.state.resolver = resolver

    @property
    def started(self) -> bool:
        return self.state.started

    @property
    def local_port(self) -> int:
        return self.state.stack.port

    @property
    def tls_port(self) -> int | None:
        return self.state.stack.tls_port

    async def start(self) -> None:
        state = self.state
        state.loop = asyncio.get_running_loop()
        if not self.playback.speech.available:
            log.warning(
                "no text-to-speech (espeak-ng): prompts typed as text play as tones or not at "
                "all; %s",
                INSTALL_HINT,
            )
        if state.media is None:
            from ringdesk.media.server import MediaServer  # the other half of issue #3

            server = MediaServer(state.media_addresses.bound, port_range=self.rtp_ports)
            await server.start()
            state.media = server
        self.gate.restore(load_bans(self._bans_file, time.time()), time.time())
        await state.stack.start()
        now = state.stack.now()
        state.registrar.restore(load_bindings(state.bindings_file, now), now)
        self.registration.start()
        self.keepalive.start()
        self._trust_trunk()
        self.trunk_registrations.tick(state.directory.trunks())
        self._end_orphans()
        state.spawn(self._housekeeping())
        state.started = True

    async def stop(self) -> None:
        state = self.state
        for leg in list(state.legs.values()):
            try:
                self.teardown.hang_up(leg, "shutdown", report=False)
            except Exception:
                log.exception("hang-up at shutdown failed")
        await asyncio.sleep(0.05)  # let the BYEs leave
        self.dialogs.flush(wait=True)  # ended here: a restart has nobody left to BYE
        state.bindings_journal.flush(wait=True)  # the last changes, and after any write under way
        if self._bans_pending is not None:
            self._save_bans()
        await self.registration.stop()
        await self.keepalive.stop()
        for task in list(state.tasks):
            task.cancel()
        await state.stack.stop()
        if self._owns_media and state.media is not None:
            await state.media.close()
        state.started = False

    @property
    def inbound_counts(self) -> CallCounts:
        """Live inbound calls and the INVITEs refused at the edge (since the start)."""
        return self.state.inbound_counts

    # ---- dialogs across a restart (persist.py) -----------------------------------------------

    def _live_dialogs(self) -> Iterator[LiveDialog]:
        """What the dialogs file lists: every answered leg, and the dialogs left from before a
        restart whose BYE is not answered yet (a second crash still ends them)."""
        for leg in self.state.legs.values():
            if leg.state is LegState.ANSWERED and leg.dialog is not None:
                yield leg.dialog, leg.tp, leg.peer, getattr(leg, "cti_id", None)
        for saved in self._orphans.values():
            yield saved.dialog, saved.transport, saved.dest, saved.cti_id

    def _end_orphans(self) -> None:
        """BYE to every dialog that was live when the switch last stopped without hanging up
        (a crash, a kill -9): its peers still think the call is on. Over UDP to where its
        requests went; an agent's phone over TCP, TLS or a WebSocket is reached only over a
        connection it opens, so its dialogs wait for it to register again (`_phone_registered`,
        orphans.py); any other over TCP or TLS (a trunk) gets a new connection to the remote
        target (the transaction gives up after timer F, 32 s). Each is forgotten when its BYE
        is answered or times out."""
        saved = load_dialogs(self.dialogs.path)
        stack = self.state.stack
        waiting = 0
        for item in saved:
            dialog = item.dialog
            key = (dialog.call_id, dialog.local_tag)
            if key in self._orphans:
                continue
            self._orphans[key] = item
            tp = item.transport
            if tp != "udp" and item.cti_id:
                self._waiting.add(key, item.cti_id, stack.now())
                waiting += 1
                continue
            self._orphan_bye(key, dialog, item.dest if tp == "udp" else None, tp)
        if saved:
            log.info(
                "restart: %d dialogs were live before it: BYE sent to %d, %d wait for their "
                "phones to register again",
                len(saved),
                len(saved) - waiting,
                waiting,
            )
            self.dialogs.mark()

    def _orphan_bye(
        self, key: tuple[str, str], dialog: Dialog, dest: Address | None, tp: str
    ) -> None:
        """The BYE of a dialog left from before the restart, to `dest` (None: to its remote
        target over a new connection)."""
        stack = self.state.stack
        if dest is None:
            dest = dialog.next_remote_target_addr()
        bye = dialog.new_request(
            "BYE",
            via=stack.via(tp, peer=dest[0]),
            extra=[("Reason", 'SIP;cause=500;text="server restarted"')],
        )

        def answered(resp: Response) -> None:
            if resp.status >= 200:
                self._orphan_done(key)

        def timed_out() -> None:
            self._orphan_done(key)

        try:
            stack.send_request(bye, dest, tp, answered, timed_out)
        except Exception:
            log.exception("BYE to %s after the restart failed", dialog.call_id)
            self._orphan_done(key)

    def _phone_registered(self, cti_id: str, src: Address, tp: str) -> None:
        """An agent's phone registered: the dialogs of hers waiting since the restart get their
        BYE over the connection it just used."""
        keys = self._waiting.registered(cti_id, self.state.stack.now())
        for key in keys:
            item = self._orphans.get(key)
            if item is not None:
                self._orphan_bye(key, item.dialog, src, tp)
        if keys:
            log.info(
                "restart: BYE sent to %d dialogs of %s's phone, registered again over %s",
                len(keys),
                cti_id,
                tp.upper(),
            )

    def _expire_orphans(self, now: float) -> None:
        """Dialogs whose phone did not register again within orphans.WAIT: dropped."""
        keys = self._waiting.expire(now)
        for key in keys:
            self._orphan_done(key)
        if keys:
            log.info(
                "restart: %d dialogs dropped without a BYE: their phones did not register "
                "again within %.0f s",
                len(keys),
                self._waiting.wait,
            )

    # ---- bans across a restart (persist.py) --------------------------------------------------

    def _bans_changed(self) -> None:
        """A ban made or lifted: the file is rewritten FLUSH_DELAY later (one write for a burst).
        An admin's lift comes from a web worker thread: it is handed to the loop."""
        loop = self.state.loop
        if loop is None or loop.is_closed():
            self._save_bans()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            loop.call_soon_threadsafe(self._bans_changed)
            return
        if self._bans_pending is None:
            self._bans_pending = loop.call_later(FLUSH_DELAY, self._save_bans)

    def _save_bans(self) -> None:
        if self._bans_pending is not None:
            self._bans_pending.cancel()
            self._bans_pending = None
        save_bans(self._bans_file, self.gate.bans(time.time()))

    def _orphan_done(self, key: tuple[str, str]) -> None:
        self._waiting.discard(key)
        if self._orphans.pop(key, None) is not None:
            self.dialogs.mark()

    def trunk_status(self, trunk_id: int) -> tuple[str | None, list[str]]:
        """The last transport error toward a trunk (None once it answers again) and where DNS
        located it ("address:port/transport", [] for a trunk not located by DNS)."""
        located: list[str] = []
        for trunk in self.state.directory.trunks():
            if trunk.id == trunk_id:
                targets = self.outbound.targets.known(trunk)
                located = [f"{t.address}:{t.port}/{t.transport}" for t in targets]
        error = self.outbound.trunk_errors.get(trunk_id)
        reg = self.trunk_registrations.status(trunk_id)
        if error is None and reg is not None and reg.last_error:
            error = reg.last_error
        return error, located

    def is_registered(self, cti_id: str) -> bool:
        state = self.state
        return state.started and state.registrar.is_registered(cti_id, state.stack.now())

    # ---- what the stack hands us (RequestHandler) -------------------------------------------

    def on_request(
        self, req: Request, txn: ServerTransaction | None, src: Address, tp: str
    ) -> None:
        method = req.method
        if method == "ACK":
            self.inbound.on_ack(req)
            return
        assert txn is not None
        stack = self.state.stack
        try:
            if method == "REGISTER":
                self.registration.handle(req, txn, src, tp)
            elif method == "OPTIONS":
                headers = [("Allow", ALLOW), ("Accept", SDP_TYPE)]
                stack.respond(txn, make_response(req, 200, to_tag=new_tag(), headers=headers))
            elif method == "CANCEL":
                self.inbound.on_cancel(req, txn)
            elif req.to_addr.tag is not None:
                self.inbound.in_dialog(req, txn)
            elif method == "INVITE" and tp in WS_TRANSPORTS:
                # The browser phone answers calls; it places none (Dial up is the engine's).
                stack.respond(txn, make_response(req, 403, "Forbidden", to_tag=new_tag()))
            elif method == "INVITE":
                assert isinstance(txn, ServerInvite)
                self.inbound.on_invite(req, txn, src, tp)
            elif method == "BYE":
                stack.respond(txn, make_response(req, 481, to_tag=new_tag()))
            else:
                # A method we know but do not do is 405; one nobody defined is 501 (RFC 3261
                # 8.2.1; RFC 4475 3.1.1.2, 3.1.1.5). Both list what we do.
                status = 405 if method in KNOWN_METHODS else 501
                allow = [("Allow", ALLOW)]
                stack.respond(txn, make_response(req, status, to_tag=new_tag(), headers=allow))
        except SipParseError as exc:
            stack.respond(txn, make_response(req, exc.status, exc.reason, to_tag=new_tag()))
        except Exception:
            # A bug in handling this request must not leave the peer retransmitting forever,
            # nor reach the transport: answer 500 and keep going (other calls are untouched).
            log.exception("error handling %s %s", method, req.call_id)
            stack.respond(txn, make_response(req, 500, to_tag=new_tag()))

    def on_stray_response(self, resp: Response, src: Address) -> None:
        self.outbound.on_stray_response(resp, src)

    def on_server_timeout(self, txn: ServerTransaction) -> None:
        log.info("no ACK for our final response to %s", txn.request.call_id)

    # ---- the engine's actions (TelephonyPort) -----------------------------------------------

    def execute(self, action: TelephonyAction) -> None:
        try:
            self._execute(action)
        except Exception:
            log.exception("action %r failed", action)
            leg = self.state.legs.get(getattr(action, "leg_id", ""))
            if leg is not None:
                self.teardown.on_error(leg)

    def _execute(self, action: TelephonyAction) -> None:
        match action:
            case RingAgent():
                self.outbound.ring_agent(action)
            case AnswerLeg():
                self.outbound.answer_leg(action)
            case Originate():
                self.outbound.originate(action)
            case Bridge():
                self.media_actions.bridge(action.leg_a, action.leg_b, action.record)
            case HangUp():
                leg = self.state.legs.get(action.leg_id)
                if leg is not None and not leg.ended:
                    self.teardown.hang_up(leg, action.reason, report=True)
            case Monitor():
                self.media_actions.monitor(action)
            case (
                StartQueueMusic()
                | StartHoldMusic()
                | StopHoldMusic()
                | PlayThenHangUp()
                | PlayPrompt()
                | RecordVoicemail()
            ):
                self._execute_media(action)
            case _:
                assert_never(action)

    def _execute_media(
        self,
        action: StartQueueMusic
        | StartHoldMusic
        | StopHoldMusic
        | PlayThenHangUp
        | PlayPrompt
        | RecordVoicemail,
    ) -> None:
        leg = self.state.legs.get(action.leg_id)
        if leg is None or leg.ended:
            log.info("%s for a leg that is gone", type(action).__name__)
            return
        match action:
            case StartQueueMusic():
                self.media_actions.queue_music(leg)
            case StartHoldMusic():
                self.media_actions.hold(leg)
            case StopHoldMusic():
                self.media_actions.resume(leg)
            case PlayThenHangUp():
                self.media_actions.play_then_hang_up(leg, action.sound)
            case PlayPrompt():
                self.media_actions.play_prompt(leg, action)
            case RecordVoicemail():
                self.media_actions.record_voicemail(leg, action)
            case _:
                assert_never(action)

    def _trust_trunk(self) -> None:
        """Tell the gate the trunk's addresses: an admin may change the trunk at any time, and
        a name's addresses change with DNS, so this follows them once a second."""
        now = self.state.stack.now()
        entries: list[tuple[tuple[str, ...], int, tuple[str, ...]]] = []
        for trunk in self.state.directory.trunks():  # every enabled trunk (#10)
            addresses: tuple[str, ...] = ()
            if trunk.host:
                known = self.state.resolver.cached(trunk.host, now)
                addresses = tuple(ip_literal(a) or a for a in known or ())
            located = located_sources(self.outbound.targets.known(trunk))
            entries.append((addresses, trunk.port, trunk.sources + located))
        self.gate.set_trunks(entries)

    async def _housekeeping(self) -> None:
        """Once a second: give up on legs ringing too long, forget long-ended ones. One sweep
        instead of two loop timers per leg, which at hundreds of calls a second add up."""
        state = self.state
        while True:
            await asyncio.sleep(1.0)
            try:
                now = state.stack.now()
                trunk_host = state.directory.trunk().host
                if trunk_host:
                    state.resolver.prefetch(trunk_host)  # keep the answer warm for calls
                self.outbound.targets.refresh(state.directory.trunks())  # RFC 3263 ones
                self._trust_trunk()
                for other in state.directory.trunks()[1:]:
                    if other.host:
                        state.resolver.prefetch(other.host)  # the failover trunks too
                self.trunk_registrations.tick(state.directory.trunks())
                self.gate.sweep(time.time())
                for leg in list(state.legs.values()):
                    if (
                        isinstance(leg, OutgoingLeg)
                        and leg.ring_deadline is not None
                        and now >= leg.ring_deadline
                        and leg.state in (LegState.CALLING, LegState.EARLY)
                    ):
                        self.outbound.ring_limit(leg)
                for leg in self.liveness.silent(list(state.legs.values()), now):
                    log.info(
                        "leg %s: no media for %.0f s: hung up", leg.leg_id, self.liveness.timeout
                    )
                    self.teardown.hang_up(leg, MEDIA_TIMEOUT, report=True)
                self.session_timers.tick(now)
                self.reattach.tick(now)
                self._expire_orphans(now)
                if self.dialogs.stale():
                    self.dialogs.mark()  # a CSeq moved (re-INVITE, refresh): keep it current
                state.forget_ended(now)
            except Exception:
                log.exception("housekeeping failed")
