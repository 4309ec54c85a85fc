"""The B2BUA: every call is legs we terminate ourselves (customer, agent phone, consultation
target), each with its own dialog and media endpoint, joined only through the media server.
The engine drives it with TelephonyActions; facts come back through the sink, always from a
fresh loop callback so the engine is never re-entered while it is handing out actions."""

from __future__ import annotations

import asyncio
import logging

from ringdesk.core.telephony import (
    Bridge,
    HangUp,
    Originate,
    PlayThenHangUp,
    RingAgent,
    StartHoldMusic,
    StartQueueMusic,
    StopHoldMusic,
    TelephonyAction,
)
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import (
    Request,
    make_response,
    new_tag,
)
from ringdesk.sip.transaction import ServerInvite, ServerTransaction

from .core import ALLOW, SDP_TYPE
from .inbound import InboundCalls
from .legs import Address, LegState
from .media_actions import MediaActions
from .outbound import OutboundCalls
from .persist import load_bindings

log = logging.getLogger(__name__)


class Switch(InboundCalls, OutboundCalls, MediaActions):
    """Switch(host, port, *, directory, sink, data_dir, media=None): the telephony port.

    Port 0 picks a free port (UDP and TCP share it; `local_port` tells which after start).
    Without `media`, start() runs a ringdesk.media.server.MediaServer on `host`.
    """

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.media is None:
            from ringdesk.media.server import MediaServer  # the other half of issue #3

            server = MediaServer(self.host)
            await server.start()
            self.media = server
        await self.stack.start()
        now = self.stack.now()
        self.registrar.restore(load_bindings(self._bindings_file, now), now)
        self.registration.start()
        self._spawn(self._housekeeping())
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
        except Exception:
            # A bug in handling this request must not leave the peer retransmitting forever,
            # nor reach the transport: answer 500 and keep going (other calls are untouched).
            log.exception("error handling %s %s", method, req.call_id)
            self.stack.respond(txn, make_response(req, 500, to_tag=new_tag()))

    def on_server_timeout(self, txn: ServerTransaction) -> None:
        log.info("no ACK for our final response to %s", txn.request.call_id)

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

    async def _housekeeping(self) -> None:
        """Once a second: give up on legs ringing too long, forget long-ended ones. One sweep
        instead of two loop timers per leg, which at hundreds of calls a second add up."""
        while True:
            await asyncio.sleep(1.0)
            try:
                now = self.stack.now()
                trunk_host = self.directory.trunk().host
                if trunk_host:
                    self.resolver.prefetch(trunk_host)  # keep the answer warm for calls
                for leg in list(self.legs.values()):
                    if (
                        leg.ring_deadline is not None
                        and now >= leg.ring_deadline
                        and leg.state in (LegState.CALLING, LegState.EARLY)
                    ):
                        self._ring_limit(leg)
                while self._ended and self._ended[0][0] <= now:
                    self._forget(self._ended.popleft()[1])
            except Exception:
                log.exception("housekeeping failed")
