"""The media side of the engine's actions: queue and hold music, bridging, playing a message
before hanging up (the re-INVITEs that tell a leg its direction are direction.py's)."""

from __future__ import annotations

import logging

from ringdesk.core.telephony import PlaybackFinished

from .bridges import Bridges
from .direction import Direction
from .inbound import InboundCalls
from .legs import AnyLeg, IncomingLeg, LegState
from .shared import SwitchState
from .teardown import Teardown

log = logging.getLogger(__name__)


class MediaActions:
    def __init__(
        self,
        state: SwitchState,
        teardown: Teardown,
        bridges: Bridges,
        inbound: InboundCalls,
        direction: Direction,
    ) -> None:
        self.state = state
        self.legs = state.legs
        self.teardown = teardown
        self.bridges = bridges
        self.inbound = inbound
        self.direction = direction

    def queue_music(self, leg: AnyLeg) -> None:
        if isinstance(leg, IncomingLeg):  # only a caller's INVITE is answered here
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
            if isinstance(leg, IncomingLeg):
                self.inbound.answer(leg)
            if leg.held:
                leg.held = False
                self.bridges.forget_held(leg.leg_id)
                self.direction.set(leg, "sendrecv")
            media.stop_play(leg.leg_id)
            if self.bridges.partner(leg.leg_id) not in (None, a.leg_id, b.leg_id):
                self.bridges.split(leg.leg_id)
        self.bridges.join(a.leg_id, b.leg_id)
        if self.state.directory.media().record_calls:
            path = self.state.data_dir / "recordings" / a.call_id / f"{a.leg_id}-{b.leg_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            media.start_recording(a.leg_id, b.leg_id, path)

    def hold(self, leg: AnyLeg) -> None:
        media = self.state.media
        assert media is not None
        if leg.held:
            return
        leg.held = True
        self.bridges.hold(leg.leg_id)
        sound = self.state.sound("hold_music")
        if sound is not None:
            media.play(leg.leg_id, sound, loop=True)
        self.direction.set(leg, "sendonly")

    def resume(self, leg: AnyLeg) -> None:
        media = self.state.media
        assert media is not None
        if not leg.held:
            return
        leg.held = False
        media.stop_play(leg.leg_id)
        self.direction.set(leg, "sendrecv")
        self.bridges.resume(leg.leg_id)

    def play_then_hang_up(self, leg: AnyLeg, sound_name: str) -> None:
        media = self.state.media
        assert media is not None
        self.bridges.split(leg.leg_id)
        if isinstance(leg, IncomingLeg) and leg.state is LegState.INCOMING:
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
