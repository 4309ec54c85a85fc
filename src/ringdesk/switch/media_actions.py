"""The media side of the engine's actions: queue and hold music, bridging, playing a message
before hanging up (the re-INVITEs that tell a leg its direction are direction.py's)."""

from __future__ import annotations

import logging

from ringdesk.core.telephony import PlaybackFinished

from .direction import Direction
from .inbound import InboundCalls
from .legs import Leg, LegState
from .state import SwitchState
from .teardown import Teardown

log = logging.getLogger(__name__)


class MediaActions:
    def __init__(
        self,
        state: SwitchState,
        teardown: Teardown,
        inbound: InboundCalls,
        direction: Direction,
    ) -> None:
        self.state = state
        self.legs = state.legs
        self.teardown = teardown
        self.inbound = inbound
        self.direction = direction

    def queue_music(self, leg: Leg) -> None:
        if self.state.directory.media().queue_music_mode == "answered":
            self.inbound.answer(leg)
        else:
            self.inbound.early_media(leg)
        sound = self.state.sound("queue_music")
        media = self.state.media
        if sound is not None and media is not None:
            media.play(leg.leg_id, sound, loop=True)

    def bridge(self, leg_a_id: str, leg_b_id: str) -> None:
        a, b = self.legs.get(leg_a_id), self.legs.get(leg_b_id)
        if a is None or b is None or a.ended or b.ended:
            log.info("bridge of a leg that is gone: %s %s", leg_a_id, leg_b_id)
            return
        media = self.state.media
        assert media is not None
        for leg in (a, b):
            if leg.inbound:
                self.inbound.answer(leg)
            if leg.held:
                leg.held = False
                leg.held_partner = None
                self.direction.set(leg, "sendrecv")
            media.stop_play(leg.leg_id)
            if leg.partner is not None and leg.partner not in (a.leg_id, b.leg_id):
                media.unbridge(leg.leg_id)
                old = self.legs.get(leg.partner)
                if old is not None:
                    old.partner = None
        media.bridge(a.leg_id, b.leg_id)
        a.partner, b.partner = b.leg_id, a.leg_id
        if self.state.directory.media().record_calls:
            path = self.state.data_dir / "recordings" / a.call_id / f"{a.leg_id}-{b.leg_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            media.start_recording(a.leg_id, b.leg_id, path)

    def hold(self, leg: Leg) -> None:
        media = self.state.media
        assert media is not None
        if leg.held:
            return
        leg.held = True
        leg.held_partner = leg.partner
        if leg.partner is not None:
            media.unbridge(leg.leg_id)
            other = self.legs.get(leg.partner)
            if other is not None:
                other.partner = None
            leg.partner = None
        sound = self.state.sound("hold_music")
        if sound is not None:
            media.play(leg.leg_id, sound, loop=True)
        self.direction.set(leg, "sendonly")

    def resume(self, leg: Leg) -> None:
        media = self.state.media
        assert media is not None
        if not leg.held:
            return
        leg.held = False
        media.stop_play(leg.leg_id)
        self.direction.set(leg, "sendrecv")
        partner = self.legs.get(leg.held_partner or "")
        leg.held_partner = None
        if partner is not None and not partner.ended and partner.partner is None:
            media.bridge(leg.leg_id, partner.leg_id)
            leg.partner, partner.partner = partner.leg_id, leg.leg_id

    def play_then_hang_up(self, leg: Leg, sound_name: str) -> None:
        media = self.state.media
        assert media is not None
        if leg.partner is not None:
            media.unbridge(leg.leg_id)
            other = self.legs.get(leg.partner)
            if other is not None:
                other.partner = None
            leg.partner = None
        if leg.state is LegState.INCOMING:
            self.inbound.early_media(leg)  # so the caller can hear the message before we reject
        leg.playing_then_hangup = True
        sound = self.state.sound(sound_name)

        def done() -> None:
            if leg.ended:
                return
            leg.playing_then_hangup = False
            self.state.emit(PlaybackFinished(leg.leg_id))
            self.teardown.hang_up(leg, sound_name, report=True)

        if sound is None:
            self.state.later(done)
        else:
            media.play(leg.leg_id, sound, on_done=done)
