"""The media side of the engine's actions: queue and hold music, bridging, playing a message
before hanging up, and the re-INVITEs (RFC 3264 hold) that tell a leg its direction."""

from __future__ import annotations

import logging
import random

from ringdesk.core.telephony import (
    PlaybackFinished,
)
from ringdesk.sip.message import (
    Request,
    Response,
)
from ringdesk.sip.transaction import ClientInvite

from .core import (
    SDP_TYPE,
    SwitchCore,
)
from .legs import Leg, LegState

log = logging.getLogger(__name__)


class MediaActions(SwitchCore):
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
