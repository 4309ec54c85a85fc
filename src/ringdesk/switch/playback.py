"""Prompts played to a leg: each part resolved to a WAV (an admin's upload, or text spoken by
the speech engine), played in order, then what the engine asked for (the queue music again,
silence for a menu's keys, or the hang-up).

A prompt is named (core/prompts.py): an object's own ("menu.3", "closed.2") falls back to the
global one of the same base name, and that to its default text. Without a speech engine a text
prompt falls back to the generated tone of the same name if there is one, else it is skipped
(logged once per name). Each leg plays one thing at a time: a newer prompt, the queue or hold
music, a bridge or the hang-up replaces what was playing (`Leg.playing`, a counter: whatever
was waiting for a speech rendering then finds it stale and stops).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from ringdesk.core.prompts import DEFAULT_TEXTS, Prompt, Say, Sound, base_name
from ringdesk.core.telephony import AfterPrompt, PlaybackFinished
from ringdesk.media.speech import Speech, SpeechUnavailable

from .legs import AnyLeg
from .shared import SwitchState

log = logging.getLogger(__name__)


class Playback:
    def __init__(self, state: SwitchState, speech: Speech) -> None:
        self.state = state
        self.speech = speech
        self._warned: set[str] = set()

    def claim(self, leg: AnyLeg) -> int:
        """A new thing plays to the leg from now on: whatever prompt was pending is stale."""
        leg.playing += 1
        return leg.playing

    def sound(self, name: str) -> Path | None:
        """The configured WAV of a sound (queue music, a tone), if its file is there.

        On the per-key path (a menu key starts the queue music): the directory already holds
        Paths, and os.path.isfile is one stat where `Path(path).is_file()` also re-parses the
        path (about 2.5 us against 9 us a call)."""
        path = self.state.directory.media().sounds.get(name)
        if path is None or not os.path.isfile(path):
            log.warning("sound %r is not configured or missing", name)
            return None
        return path if isinstance(path, Path) else Path(path)

    def source(self, name: str) -> Path | str | None:
        """What the named prompt is now: a WAV to play, a text to speak, or None."""
        media = self.state.directory.media()
        base = base_name(name)
        for key in (name,) if name == base else (name, base):
            if key in media.uploads:
                path = media.sounds.get(key)
                if path is not None and os.path.isfile(path):
                    return path if isinstance(path, Path) else Path(path)
            text = media.prompt_texts.get(key)
            if text:
                return text
        return DEFAULT_TEXTS.get(base) or self.sound(base)

    async def resolve(self, prompt: Prompt) -> list[Path]:
        """The prompt's parts as WAV files, in order (a part that cannot be had is left out)."""
        files: list[Path] = []
        for part in prompt:
            match part:
                case Sound(name=name):
                    found = self.source(name)
                case Say(text=text):
                    found = text
            if isinstance(found, str):
                found = await self._speak(found, part)
            if found is not None:
                files.append(found)
        return files

    async def _speak(self, text: str, part: Sound | Say) -> Path | None:
        try:
            return await self.speech.render(text)
        except (SpeechUnavailable, OSError, RuntimeError, ValueError) as exc:
            name = part.name if isinstance(part, Sound) else "spoken text"
            if name not in self._warned:
                self._warned.add(name)
                log.warning("prompt %s cannot be spoken (%s): a tone or nothing instead", name, exc)
            return self.sound(base_name(part.name)) if isinstance(part, Sound) else None

    def play(
        self,
        leg: AnyLeg,
        prompt: Prompt,
        after: AfterPrompt,
        on_after: Callable[[AfterPrompt], None],
    ) -> None:
        """Resolve and play `prompt`, report PlaybackFinished, then `on_after(after)`; nothing
        of it once something else plays to the leg."""
        token = self.claim(leg)
        self.state.spawn(self._play(leg, token, prompt, after, on_after))

    async def _play(
        self,
        leg: AnyLeg,
        token: int,
        prompt: Prompt,
        after: AfterPrompt,
        on_after: Callable[[AfterPrompt], None],
    ) -> None:
        files = await self.resolve(prompt)
        if leg.ended or leg.playing != token:
            return
        media = self.state.media
        assert media is not None

        def step(index: int) -> None:
            if leg.ended or leg.playing != token:
                return
            if index < len(files):
                media.play(leg.leg_id, files[index], on_done=lambda: step(index + 1))
                return
            self.state.emit(PlaybackFinished(leg.leg_id))
            on_after(after)

        if not files:
            media.stop_play(leg.leg_id)
        step(0)
