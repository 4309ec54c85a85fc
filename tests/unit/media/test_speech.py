"""Speech: prompt text to cached 8 kHz WAV, with the real espeak-ng (install-test-deps.sh)."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import time
import wave
from array import array
from pathlib import Path

import pytest

from ringdesk.media import sounds, speech
from ringdesk.media.speech import MAX_TEXT, Speech, SpeechUnavailable

QUEUE = "You are number 3 in the queue. Your expected wait is about 2 minutes."


def samples(path: Path) -> array[int]:
    return sounds.read_wav(path.read_bytes())


def rms(values: array[int]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values))


def wrapper(tmp_path: Path, body: str) -> str:
    """A command standing in for espeak-ng: a shell script logging to tmp_path/log."""
    script = tmp_path / "fake-espeak"
    script.write_text(f"#!/bin/sh\nLOG={tmp_path / 'log'}\n{body}\n")
    script.chmod(0o755)
    return str(script)


def counting(tmp_path: Path) -> str:
    """espeak-ng itself, logging one line of its arguments per run."""
    real = shutil.which("espeak-ng")
    assert real is not None, "espeak-ng is not installed: run scripts/install-test-deps.sh"
    return wrapper(tmp_path, f'echo "$@" >> "$LOG"\nexec {real} "$@"')


def runs(tmp_path: Path) -> list[str]:
    log = tmp_path / "log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_sentence_is_an_8khz_mono_16bit_wav_of_speech(tmp_path: Path) -> None:
    path = Speech(tmp_path / "cache").render_sync(QUEUE)
    assert path.parent == tmp_path / "cache" and path.suffix == ".wav"
    with wave.open(str(path), "rb") as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (8000, 1, 2)
        seconds = reader.getnframes() / 8000
    assert 0.5 < seconds < 5.0
    assert rms(samples(path)) > 1000  # speech, not silence


def test_silence_at_either_end_is_at_most_100_ms(tmp_path: Path) -> None:
    audio = samples(Speech(tmp_path).render_sync("Thank you for calling."))
    loud = [i for i, v in enumerate(audio) if abs(v) > 100]
    assert loud[0] <= 800 + 8
    assert len(audio) - 1 - loud[-1] <= 800 + 8  # espeak-ng itself ends with ~330 ms


def test_digits_are_spoken_as_words(tmp_path: Path) -> None:
    voice = Speech(tmp_path)
    three = voice.render_sync("You are number 3").read_bytes()
    assert three == voice.render_sync("You are number three").read_bytes()
    assert three != voice.render_sync("You are number 4").read_bytes()


async def test_the_same_text_twice_is_rendered_once(tmp_path: Path) -> None:
    voice = Speech(tmp_path / "cache", command=counting(tmp_path))
    assert voice.cached(QUEUE) is None
    first = await voice.render(QUEUE)
    stamp = first.stat().st_mtime_ns, first.stat().st_ino
    assert voice.cached(QUEUE) == first
    assert await voice.render(QUEUE) == first
    assert voice.render_sync(QUEUE) == first
    assert len(runs(tmp_path)) == 1
    assert (first.stat().st_mtime_ns, first.stat().st_ino) == stamp  # not rewritten


def test_the_file_name_depends_on_text_voice_and_speed(tmp_path: Path) -> None:
    base = Speech(tmp_path)
    names = {
        base.render_sync("Press 1 for sales."),
        base.render_sync("Press 2 for support."),
        Speech(tmp_path, voice="en-gb").render_sync("Press 1 for sales."),
        Speech(tmp_path, words_per_minute=200).render_sync("Press 1 for sales."),
    }
    assert len(names) == 4
    assert len({p.read_bytes() for p in names}) == 4
    # Whitespace and control characters are not part of what is spoken, nor of the name.
    assert base.cached(" Press 1\tfor\x00 sales.\n") == base.cached("Press 1 for sales.")


async def test_concurrent_renders_of_one_text_share_one_process(tmp_path: Path) -> None:
    voice = Speech(tmp_path / "cache", command=counting(tmp_path))
    paths = await asyncio.gather(*(voice.render(QUEUE) for _ in range(6)))
    assert len(set(paths)) == 1
    assert len(runs(tmp_path)) == 1


async def test_at_most_max_concurrent_processes_run(tmp_path: Path) -> None:
    real = shutil.which("espeak-ng")
    # Each run logs + when it starts and - when it ends, and lasts at least 0.1 s.
    command = wrapper(tmp_path, f'echo + >> "$LOG"\nsleep 0.1\n{real} "$@"\necho - >> "$LOG"')
    voice = Speech(tmp_path / "cache", command=command, max_concurrent=2)
    await asyncio.gather(*(voice.render(f"Press {n}.") for n in range(6)))
    running = peak = 0
    for line in runs(tmp_path):
        running += 1 if line == "+" else -1
        peak = max(peak, running)
    assert len(runs(tmp_path)) == 12
    assert peak == 2


async def test_a_waiter_cancelled_does_not_cancel_the_shared_render(tmp_path: Path) -> None:
    voice = Speech(tmp_path / "cache", command=counting(tmp_path))
    leaving = asyncio.create_task(voice.render(QUEUE))
    staying = asyncio.create_task(voice.render(QUEUE))
    await asyncio.sleep(0.01)
    leaving.cancel()
    path = await staying
    assert leaving.cancelled()
    assert rms(samples(path)) > 1000
    assert len(runs(tmp_path)) == 1


@pytest.mark.parametrize("text", ["-w evil.wav", "--help", "-v de hallo"])
async def test_text_that_looks_like_an_option_is_spoken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.chdir(tmp_path)  # where "-w evil.wav", taken as an option, would write
    voice = Speech(tmp_path / "cache", command=counting(tmp_path))
    path = await voice.render(text)
    assert not (tmp_path / "evil.wav").exists()
    assert 0.3 < len(samples(path)) / 8000 < 5.0
    assert rms(samples(path)) > 1000
    (arguments,) = runs(tmp_path)
    assert text not in arguments and "--stdin" in arguments.split()


@pytest.mark.parametrize("text", ["", "   ", "\x00\x07\n", "a" * (MAX_TEXT + 1)])
async def test_empty_or_too_long_text_is_refused(tmp_path: Path, text: str) -> None:
    voice = Speech(tmp_path, command=counting(tmp_path))
    with pytest.raises(ValueError, match=r"empty|limit is 1000"):
        await voice.render(text)
    with pytest.raises(ValueError):
        voice.render_sync(text)
    assert runs(tmp_path) == []


def test_text_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    voice = Speech(tmp_path)
    assert voice.cached("a" * MAX_TEXT) is None  # a valid text, not rendered yet


async def test_a_missing_command_says_how_to_install_espeak_ng(tmp_path: Path) -> None:
    voice = Speech(tmp_path, command="no-such-espeak-ng-here")
    assert voice.available is False
    with pytest.raises(SpeechUnavailable, match=r"apt install espeak-ng"):
        await voice.render(QUEUE)
    with pytest.raises(SpeechUnavailable, match=r"apt install espeak-ng"):
        voice.render_sync(QUEUE)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_voice_fails_with_espeak_ngs_reason(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"exit status 1.*voice does not exist"):
        Speech(tmp_path, voice="zz-no-such-voice").render_sync(QUEUE)


@pytest.mark.parametrize(
    "options",
    [{"voice": "-w"}, {"voice": "en us"}, {"words_per_minute": 20}, {"max_concurrent": 0}],
)
def test_bad_settings_are_refused(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Speech(tmp_path, **options)  # type: ignore[arg-type]


async def test_a_hung_engine_is_killed_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speech, "TIMEOUT", 0.3)
    voice = Speech(tmp_path / "cache", command=wrapper(tmp_path, 'echo $$ > "$LOG"\nexec sleep 30'))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"took over 0.3 s .* killed"):
        await voice.render(QUEUE)
    with pytest.raises(RuntimeError, match=r"took over 0.3 s .* killed"):
        voice.render_sync(QUEUE)
    assert time.monotonic() - started < 3
    (pid,) = runs(tmp_path)  # the second run overwrote the first's pid
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
    assert voice.cached(QUEUE) is None


def test_the_cache_keeps_the_most_recently_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speech, "MAX_FILES", 2)
    voice = Speech(tmp_path)
    (tmp_path / "upload.wav").write_bytes(b"not ours")  # never evicted: not a rendering's name
    one, two = voice.render_sync("One."), voice.render_sync("Two.")
    hour_ago = time.time() - 3600
    os.utime(one, (hour_ago, hour_ago))
    os.utime(two, (hour_ago + 60, hour_ago + 60))
    three = voice.render_sync("Three.")
    assert not one.exists() and two.exists() and three.exists()
    assert voice.cached("One.") is None
    # A use touches the file: "Two." becomes newer than "Three.", which goes next.
    os.utime(three, (hour_ago + 120, hour_ago + 120))
    assert voice.cached("Two.") == two
    voice.render_sync("Four.")
    assert two.exists() and not three.exists()
    assert (tmp_path / "upload.wav").exists()


def sine(frequency: float, rate: int = 22050, seconds: float = 0.5) -> array[int]:
    return array(
        "h",
        (
            round(10000 * math.sin(2 * math.pi * frequency * n / rate))
            for n in range(int(rate * seconds))
        ),
    )


@pytest.mark.parametrize(
    ("frequency", "low", "high"),
    [(1000, -0.2, 0.2), (3000, -0.3, 0.2), (5000, -200, -40), (6000, -200, -50), (9000, -200, -50)],
)
def test_resampling_to_8khz_passes_the_voice_band_and_stops_aliases(
    frequency: float, low: float, high: float
) -> None:
    out = speech._resample(sine(frequency), 22050)
    assert out is not None and abs(len(out) - 4000) <= 1
    level = math.sqrt(sum(v * v for v in out[100:-100]) / len(out[100:-100])) * 32768
    gain = 20 * math.log10(level / (10000 / math.sqrt(2)))
    assert low < gain < high
