"""A browser phone that loses its socket in a call gets the call back when it registers again.

The agent reloads the page, or her laptop moves from Wi-Fi to the wired network: the SIP
WebSocket closes, the page's phone (JsSIP) is started afresh and registers again over a new
socket, and its old call is gone from the page. The call is not gone from the engine: the
customer is still there, the agent still On Call. So:

- when a socket closes under an answered browser leg, the leg waits (WINDOW seconds) instead
  of being left to the media timeout; the customer hears silence meanwhile;
- when the same agent's browser registers again within the window, the leg is rung again on
  the new contact: a new INVITE (a new dialog, with the auto-answer headers; the page answers
  every INVITE at once) offering a fresh ICE-lite and DTLS session on the leg's same WebRTC
  endpoint (`WebRtcEndpoint.reset`), whose bridge to the customer never changed. On its 2xx
  the leg takes the new dialog in place of the old one: the engine sees nothing (same leg
  id, still answered), and Hold, Transfer and End go to the new dialog;
- a leg whose browser does not come back within the window is hung up like a call without
  media (cause media_timeout: the ticket says the connection was lost).

The old dialog gets no BYE: there is no socket to send it on, and the new page never knew it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ringdesk.core.telephony import MEDIA_TIMEOUT
from ringdesk.sip.dialog import Dialog
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import Request, Response
from ringdesk.sip.uri import NameAddr, SipUri

from .legs import AnyLeg, LegState, OutgoingLeg
from .shared import SwitchState
from .teardown import Teardown
from .transport import WS_TRANSPORTS, Address

log = logging.getLogger(__name__)

WINDOW = 30.0  # seconds a call waits for its agent's browser to register again


@dataclass(slots=True)
class _Waiting:
    cti_id: str
    deadline: float
    ringing: OutgoingLeg | None = None  # the INVITE to the new contact, once sent


class BrowserReattach:
    def __init__(
        self,
        state: SwitchState,
        teardown: Teardown,
        new_leg: Callable[..., OutgoingLeg],
        *,
        on_answered: Callable[[AnyLeg, Response], None] = lambda _leg, _resp: None,
    ) -> None:
        self.state = state
        self.stack = state.stack
        self.teardown = teardown
        self.new_leg = new_leg  # OutboundCalls.new_outgoing_leg
        self.on_answered = on_answered  # the session timer and the dialogs file follow
        self._waiting: dict[str, _Waiting] = {}  # leg id -> its agent and deadline

    def waiting(self) -> list[str]:
        """The ids of the legs waiting for their browser (for tests and logs)."""
        return list(self._waiting)

    def socket_closed(self, addr: Address, cti_id: str) -> None:
        """The agent's SIP WebSocket from `addr` closed: her answered call over it waits."""
        for leg in self.state.legs.values():
            if (
                leg.webrtc
                and leg.state is LegState.ANSWERED
                and leg.tp in WS_TRANSPORTS
                and leg.peer == addr
                and leg.leg_id not in self._waiting
                # A browser's early leg for an offer is no call yet: the engine withdraws the
                # offer when the phone goes, which hangs the leg up.
                and not (isinstance(leg, OutgoingLeg) and leg.prewarm and not leg.answer_asked)
            ):
                self._waiting[leg.leg_id] = _Waiting(cti_id, self.stack.now() + WINDOW)
                log.info(
                    "leg %s: the browser phone of %s lost its socket in the call: "
                    "waiting %.0f s for it to register again",
                    leg.leg_id,
                    cti_id,
                    WINDOW,
                )

    def registered(self, cti_id: str) -> None:
        """The agent's browser registered over a socket: ring it again for a waiting call."""
        mine = [
            leg_id
            for leg_id, w in self._waiting.items()
            if w.cti_id == cti_id and w.ringing is None
        ]
        if not mine:
            return
        now = self.stack.now()
        bindings = [
            b for b in self.state.registrar.lookup(cti_id, now) if b.transport in WS_TRANSPORTS
        ]
        if not bindings:
            return  # an un-REGISTER
        binding = max(bindings, key=lambda b: b.expires_at)
        for leg_id in mine:
            leg = self.state.legs.get(leg_id)
            if leg is None or leg.ended:
                self._waiting.pop(leg_id, None)
                continue
            self._ring_again(leg, binding.target, binding.source, binding.transport)

    def tick(self, now: float) -> None:
        """Once a second: a call whose browser did not come back in time is hung up."""
        for leg_id, w in list(self._waiting.items()):
            leg = self.state.legs.get(leg_id)
            if leg is None or leg.ended:
                self._waiting.pop(leg_id, None)
            elif now >= w.deadline:
                self._waiting.pop(leg_id, None)
                log.info(
                    "leg %s: the browser phone of %s did not come back in %.0f s: hung up",
                    leg_id,
                    w.cti_id,
                    WINDOW,
                )
                if w.ringing is not None and not w.ringing.ended:
                    self._drop_candidate(w.ringing)
                self.teardown.hang_up(leg, MEDIA_TIMEOUT, report=True)

    # ---- the new INVITE ----------------------------------------------------------------------

    def _ring_again(self, leg: AnyLeg, target: SipUri, dest: Address, tp: str) -> None:
        endpoint = leg.endpoint
        reset = getattr(endpoint, "reset", None)
        if reset is None:
            return
        reset()  # a new ICE and DTLS session on the same port and bridge
        domain = self.state.directory.sip_domain()
        caller = self.state.callers.get(leg.call_id, "ringdesk")
        agent = self._waiting[leg.leg_id].cti_id
        candidate = self.new_leg(
            call_id=leg.call_id,
            leg_id=leg.leg_id,
            ruri=target,
            dest=dest,
            tp=tp,
            from_addr=NameAddr(SipUri(host=domain, user=caller or "ringdesk"), caller or None),
            to_addr=NameAddr(SipUri(host=domain, user=agent)),
            extra=[
                ("Call-Info", f"<sip:{self.state.media_host}>;answer-after=0"),
                ("Alert-Info", f"<sip:{self.state.media_host}>;info=auto-answer"),
            ],
            cti_id=agent,
        )
        candidate.webrtc = True
        candidate.endpoint = endpoint
        candidate.payload_types = list(leg.payload_types)
        candidate.te_pt = leg.te_pt
        candidate.direction = leg.direction  # a held call stays held
        candidate.invite.body = self.state.local_sdp(candidate)
        self._waiting[leg.leg_id].ringing = candidate
        invite = candidate.invite
        log.info("leg %s: ringing the browser of %s again at %s:%s", leg.leg_id, agent, *dest)
        self.stack.send_request(
            invite,
            dest,
            tp,
            lambda resp: self._on_response(leg, candidate, invite, resp),
            lambda: self._on_timeout(leg, candidate),
        )

    def _on_response(
        self, leg: AnyLeg, candidate: OutgoingLeg, invite: Request, resp: Response
    ) -> None:
        if resp.status < 200:
            return
        if resp.status >= 300:
            log.info(
                "leg %s: the browser refused the call again (%s %s)",
                leg.leg_id,
                resp.status,
                resp.reason,
            )
            self._not_taken(leg, candidate)
            return
        try:
            dialog = Dialog.as_uac(invite, resp)
        except SipParseError as exc:
            log.warning("leg %s: unusable 2xx from the browser (%s)", leg.leg_id, exc.reason)
            self._not_taken(leg, candidate)
            return
        ack = dialog.ack(resp.cseq[0], via=self.stack.via(candidate.tp, peer=candidate.peer[0]))
        self.stack.send_stateless(ack, candidate.peer, candidate.tp)
        waiting = self._waiting.get(leg.leg_id)
        if leg.ended or waiting is None or waiting.ringing is not candidate:
            # The call ended (or gave up) while the browser was rung: end this one too.
            candidate.dialog = dialog
            candidate.state = LegState.ANSWERED
            self.teardown.send_bye(candidate)
            self.state.by_dialog.pop((candidate.sip_call_id, candidate.local_tag), None)
            return
        del self._waiting[leg.leg_id]
        self._take_over(leg, candidate, dialog)
        if resp.body:
            self.state.take_answer(leg, resp)
        dialog.refresh_target(resp)
        self.on_answered(leg, resp)
        log.info("leg %s: the browser of %s took the call back", leg.leg_id, waiting.cti_id)

    def _on_timeout(self, leg: AnyLeg, candidate: OutgoingLeg) -> None:
        if candidate.dialog is None:
            self._not_taken(leg, candidate)

    def _not_taken(self, leg: AnyLeg, candidate: OutgoingLeg) -> None:
        """The new INVITE failed: the leg waits on (a later registration tries again) until
        its deadline."""
        self._drop_candidate(candidate)
        waiting = self._waiting.get(leg.leg_id)
        if waiting is not None and waiting.ringing is candidate:
            waiting.ringing = None

    def _drop_candidate(self, candidate: OutgoingLeg) -> None:
        candidate.state = LegState.ENDED
        self.state.by_dialog.pop((candidate.sip_call_id, candidate.local_tag), None)

    def _take_over(self, leg: AnyLeg, candidate: OutgoingLeg, dialog: Dialog) -> None:
        """The leg is the new dialog from now on (same leg id, endpoint and bridge)."""
        self.state.by_dialog.pop((leg.sip_call_id, leg.local_tag), None)
        self.state.by_dialog.pop((candidate.sip_call_id, candidate.local_tag), None)
        leg.sip_call_id = candidate.sip_call_id
        leg.local_tag = candidate.local_tag
        leg.invite = candidate.invite
        leg.dialog = dialog
        leg.peer = candidate.peer
        leg.tp = candidate.tp
        leg.session_id = candidate.session_id
        leg.sdp_version = candidate.sdp_version
        leg.profile, leg.crypto = candidate.profile, candidate.crypto
        leg.reinvite = None
        leg.retrans = None
        self.state.by_dialog[(leg.sip_call_id, leg.local_tag)] = leg
