"""The media side of the engine's actions: queue and hold music, bridging, playing a message
before hanging up (the re-INVITEs that tell a leg its direction are direction.py's)."""

from __future__ import annotations

import logging

from ringdesk.core.prompts import Sound
from ringdesk.core.telephony import (
    AfterPrompt,
    CallRecording,
    DigitPressed,
    Monitor,
    PlayPrompt,
    RecordVoicemail,
)

from .bridges import Bridges
from .direction import Direction
from .inbound import InboundCalls
from .legs import AnyLeg, IncomingLeg, LegState
from .playback import Playback
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
        playback: Playback,
    ) -> None:
        self.state = state
        self.playback = playback
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
        self.playback.claim(leg)
        self._loop_music(leg)

    def _loop_music(self, leg: AnyLeg) -> None:
        sound = self.playback.sound("queue_music")
        media = self.state.media
        if sound is not None and media is not None:
            media.play(leg.leg_id, sound, loop=True)

    def play_prompt(self, leg: AnyLeg, action: PlayPrompt) -> None:
        """A menu or an announcement: the caller hears it (answered first for a menu), and
        the keys the caller presses meanwhile are reported (DigitPressed)."""
        if isinstance(leg, IncomingLeg):
            if action.answer:
                self.inbound.answer(leg)
            elif leg.state is LegState.INCOMING:
                self.inbound.early_media(leg)
        self.listen(leg)

        def after(what: AfterPrompt) -> None:
            match what:
                case AfterPrompt.MUSIC:
                    self._loop_music(leg)
                case AfterPrompt.SILENCE:
                    pass  # the pacer's silence: the caller keys a choice
                case AfterPrompt.HANG_UP:
                    self.teardown.hang_up(leg, "prompt", report=True)

        self.playback.play(leg, action.prompt, action.after, after)

    def sip_info_digit(self, leg: AnyLeg, digit: str) -> None:
        """A key the caller sent in a SIP INFO (application/dtmf-relay, application/dtmf):
        reported like one heard in its media, while its keys are listened to."""
        if leg.listening:
            self.key(leg, digit)

    def key(self, leg: AnyLeg, digit: str) -> None:
        """A key the caller pressed: # ends a voicemail; the engine hears of every key."""
        if digit == "#" and leg.voicemail is not None:
            self.finish_voicemail(leg)
        self.state.emit(DigitPressed(leg.leg_id, digit))

    def record_voicemail(self, leg: AnyLeg, action: RecordVoicemail) -> None:
        """The greeting and the beep, then the caller's message into a WAV under the data dir,
        until the caller hangs up (teardown.py reports it), presses # or the time is up."""
        if isinstance(leg, IncomingLeg):
            self.inbound.answer(leg)
        self.listen(leg)
        relative = f"voicemail/{leg.call_id}.wav"

        def record(_after: AfterPrompt) -> None:
            media = self.state.media
            if leg.ended or media is None:
                return
            (self.state.data_dir / "voicemail").mkdir(parents=True, exist_ok=True)
            media.record_leg(leg.leg_id, self.state.data_dir / relative)
            leg.voicemail = relative
            token = leg.playing

            def time_up() -> None:
                if leg.playing == token:
                    self.finish_voicemail(leg)

            assert self.state.loop is not None
            self.state.loop.call_later(action.max_seconds, time_up)

        self.playback.play(leg, (*action.greeting, Sound("beep")), AfterPrompt.SILENCE, record)

    def finish_voicemail(self, leg: AnyLeg) -> None:
        """The message is complete: reported, then "saved, goodbye" and the hang-up."""
        if leg.ended or leg.voicemail is None:
            return
        self.teardown.voicemail_done(leg)

        def bye(_after: AfterPrompt) -> None:
            if not leg.ended:
                self.teardown.hang_up(leg, "voicemail", report=True)

        self.playback.play(leg, (Sound("voicemail_saved"),), AfterPrompt.HANG_UP, bye)

    def listen(self, leg: AnyLeg) -> None:
        """Report the caller's keys from this leg's media (RFC 4733 or in-band); SIP INFO ones
        come through inbound.py."""
        media = self.state.media
        if media is None or leg.listening:
            return
        leg.listening = True
        leg_id = leg.leg_id
        media.listen_digits(leg_id, lambda digit: self.key(leg, digit))

    def bridge(self, leg_a_id: str, leg_b_id: str, record: bool = False) -> None:
        """Join the two legs' media; `record` (the engine's choice for the call's service):
        into a 2-channel WAV under the data dir, reported as CallRecording."""
        a, b = self.legs.get(leg_a_id), self.legs.get(leg_b_id)
        if a is None or b is None or a.ended or b.ended:
            log.info("bridge of a leg that is gone: %s %s", leg_a_id, leg_b_id)
            return
        media = self.state.media
        assert media is not None
        for leg in (a, b):
            if isinstance(leg, IncomingLeg):
                self.inbound.answer(leg)
            self.playback.claim(leg)
            if leg.listening:  # talking to an agent: the keys go to the far end as they are
                leg.listening = False
                media.listen_digits(leg.leg_id, None)
            if leg.held:
                leg.held = False
                self.bridges.forget_held(leg.leg_id)
                self.direction.set(leg, "sendrecv")
            media.stop_play(leg.leg_id)
            if self.bridges.partner(leg.leg_id) not in (None, a.leg_id, b.leg_id):
                self.bridges.split(leg.leg_id)
        self.bridges.join(a.leg_id, b.leg_id)
        if record:
            path = self.state.data_dir / "recordings" / a.call_id / f"{a.leg_id}-{b.leg_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            media.start_recording(a.leg_id, b.leg_id, path)
            # The engine passes it on for the store to list it with the call's ticket.
            self.state.emit(CallRecording(a.leg_id, str(path.relative_to(self.state.data_dir))))

    def monitor(self, action: Monitor) -> None:
        """A supervisor's answered leg hears the call, or by the mode is heard (media/mix.py);
        mode None: the call is a plain relay again."""
        media = self.state.media
        assert media is not None
        if action.mode is None:
            media.unmonitor(action.leg_id)
            return
        leg = self.state.legs.get(action.leg_id)
        if leg is None or leg.ended:
            return
        self.playback.claim(leg)
        if not media.monitor(action.customer_leg, action.agent_leg, action.leg_id, action.mode):
            log.info("monitoring of call %s: a leg is gone", action.call_id)

    def hold(self, leg: AnyLeg) -> None:
        media = self.state.media
        assert media is not None
        if leg.held:
            return
        leg.held = True
        self.playback.claim(leg)
        self.bridges.hold(leg.leg_id)
        sound = self.playback.sound("hold_music")
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

        def done(_after: AfterPrompt) -> None:
            if leg.ended:
                return
            leg.playing_then_hangup = False  # PlaybackFinished went already (playback.py)
            self.teardown.hang_up(leg, sound_name, report=True)

        self.playback.play(leg, (Sound(sound_name),), AfterPrompt.HANG_UP, done)
