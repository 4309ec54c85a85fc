"""What a named prompt or sound resolves to (switch/playback.py), without a switch: the sound
lookup the per-key path takes (a menu key starts the queue music) and the prompt's source."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from ringdesk.switch.lookup import MediaSettings
from ringdesk.switch.playback import Playback


def playback(media: MediaSettings) -> Playback:
    state = SimpleNamespace(directory=SimpleNamespace(media=lambda: media))
    return Playback(state, speech=None)  # type: ignore[arg-type]


def wav(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.wav"
    path.write_bytes(b"RIFF")
    return path


def test_a_configured_sound_is_its_file_while_the_file_is_there(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    music = wav(tmp_path, "queue_music")
    play = playback(MediaSettings(sounds={"queue_music": music}))
    assert play.sound("queue_music") == music
    music.unlink()
    with caplog.at_level(logging.WARNING, logger="ringdesk.switch.playback"):
        assert play.sound("queue_music") is None  # deleted since: nothing, and said so
    assert "queue_music" in caplog.text
    assert play.sound("hold_music") is None  # never configured


def test_a_prompt_is_its_upload_then_its_text_then_the_global_one_then_the_default(
    tmp_path: Path,
) -> None:
    own, shared = wav(tmp_path, "menu.3"), wav(tmp_path, "menu")
    media = MediaSettings(
        sounds={"menu.3": own, "menu": shared, "beep": wav(tmp_path, "beep")},
        uploads=frozenset({"menu.3", "menu"}),
        prompt_texts={"closed.2": "We are closed today."},
    )
    play = playback(media)
    assert play.source("menu.3") == own
    assert play.source("menu.4") == shared  # no own prompt: the global upload
    own.unlink()
    assert play.source("menu.3") == shared  # the own file is gone: the global one
    assert play.source("closed.2") == "We are closed today."
    assert (
        play.source("closed.7") == "Thank you for calling. We are closed now. Please call "
        "again during our opening hours. Goodbye."
    )  # neither: the default text
    assert play.source("beep") == media.sounds["beep"]  # no text at all: the sound file
    assert play.source("nothing") is None
