"""Speech: typed prompt text turned into 8 kHz WAV files by the local espeak-ng, cached on disk.

The engine is Debian's `espeak-ng` command, run offline. The text reaches it on stdin, never on
the command line, so a prompt such as "-w /etc/passwd" is spoken rather than taken as an option.
espeak-ng writes 22,050 Hz WAV; it is low-pass filtered and resampled to 8 kHz here (a windowed
sinc: decimating without the filter folds the fricatives' 4-11 kHz energy into the telephone
band as hiss), its leading and trailing silence cut to at most 100 ms, and written as 8 kHz mono
16-bit PCM by `sounds.render_wav`.

Each rendering is a file named by a hash of (format version, voice, speed, text) in the cache
directory, written atomically (temporary file, then rename), so a reader never sees half a file
and a restart finds the prompts already made. A use touches the file; past `MAX_FILES` files the
least recently used are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import wave
from array import array
from collections.abc import Callable
from pathlib import Path

from ringdesk.media import sounds

MAX_TEXT = 1000  # characters
MAX_FILES = 2000  # renderings kept in the cache directory; past it the least recently used go
TIMEOUT = 10.0  # seconds one espeak-ng run may take before it is killed

FORMAT_VERSION = 1  # part of every file name: bump it when the output changes
INSTALL_HINT = "install it with `sudo apt install espeak-ng` (Debian and Ubuntu)"

_NAME = re.compile(r"[0-9a-f]{32}\.wav")  # only files of this shape are ever evicted
_VOICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+/-]*")  # "en-us", "en-us+f3", "mb/mb-en1"
_MIN_WPM, _MAX_WPM = 80, 450  # espeak-ng's own range
_TOUCH_AFTER = 60.0  # seconds: a use within a minute of the last touch leaves mtime alone

_KEEP_SILENCE = sounds.RATE // 10  # 100 ms at each end
_SILENT = 100 / 32768  # about -50 dBFS: quieter than this is silence


class SpeechUnavailable(Exception):
    """No text-to-speech engine here (message says how to install)."""


def _clean(text: str) -> str:
    """The text espeak-ng is given: control characters gone, whitespace runs one space."""
    kept = "".join(
        " " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c) != "Cc"
    )
    cleaned = " ".join(kept.split())
    if not cleaned:
        raise ValueError("the prompt text is empty: type what the caller should hear")
    if len(cleaned) > MAX_TEXT:
        raise ValueError(
            f"the prompt text is {len(cleaned)} characters long; the limit is {MAX_TEXT}"
        )
    return cleaned


def _resample(samples: array[int], rate: int) -> list[float] | None:
    """Mono 16-bit samples at `rate` to 8 kHz floats (-1..1), band-limited; None if unsupported."""
    out = sounds.resample(samples, rate)
    return None if out is None else [v / 32768 for v in out]


def _trim(samples: list[float]) -> list[float]:
    """Cut leading and trailing silence to at most 100 ms each."""
    first = next((i for i, v in enumerate(samples) if abs(v) > _SILENT), None)
    if first is None:  # nothing audible ("..."): a short silence rather than nothing
        return samples[:_KEEP_SILENCE]
    last = len(samples) - 1 - next(i for i, v in enumerate(reversed(samples)) if abs(v) > _SILENT)
    return samples[max(0, first - _KEEP_SILENCE) : last + 1 + _KEEP_SILENCE]


def _to_8k(data: bytes) -> list[float]:
    """espeak-ng's WAV output (its header's sizes may be placeholders) as 8 kHz float samples."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels, width, rate = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
            )
            raw = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as error:
        raise RuntimeError(f"espeak-ng wrote no usable WAV ({error})") from None
    if not raw:
        raise RuntimeError("espeak-ng produced no audio")
    if channels == 1 and width == 2 and rate >= 8000:
        samples = array("h")
        samples.frombytes(raw[: len(raw) - len(raw) % 2])
        if sys.byteorder == "big":
            samples.byteswap()
        resampled = _resample(samples, rate)
        if resampled is not None:
            return resampled
    # Another engine build's format: the general reader (linear interpolation, no filter).
    return [v / 32768 for v in sounds.read_wav(data)]


class Speech:
    """Renders prompt text to cached 8 kHz WAV files with espeak-ng.

    At most `max_concurrent` espeak-ng processes run at once, counting `render` and
    `render_sync` together; concurrent `render` calls for one text share one process.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        voice: str = "en-us",
        words_per_minute: int = 165,
        command: str = "espeak-ng",
        max_concurrent: int = 2,
    ) -> None:
        if not _VOICE.fullmatch(voice):
            raise ValueError(f"not an espeak-ng voice name: {voice!r}")
        if not _MIN_WPM <= words_per_minute <= _MAX_WPM:
            raise ValueError(
                f"speech speed must be {_MIN_WPM} to {_MAX_WPM} words per minute,"
                f" not {words_per_minute}"
            )
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.cache_dir = Path(cache_dir)
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.command = command
        self.max_concurrent = max_concurrent
        self._executable: str | None = None
        self._checked = False
        self._slots = threading.BoundedSemaphore(max_concurrent)  # processes, both paths
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._inflight: dict[Path, asyncio.Task[Path]] = {}

    # --- the engine ---------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """The command is on PATH (looked up once: installing it later needs a restart)."""
        if not self._checked:
            self._executable = shutil.which(self.command)
            self._checked = True
        return self._executable is not None

    def _unavailable(self) -> SpeechUnavailable:
        return SpeechUnavailable(
            f"text-to-speech needs espeak-ng, and {self.command!r} is not on this machine:"
            f" {INSTALL_HINT}; until then typed prompts play as tones"
        )

    def _argv(self) -> list[str]:
        if not self.available:
            raise self._unavailable()
        assert self._executable is not None
        return [
            self._executable,
            *("-b", "1"),  # the input is UTF-8
            *("-v", self.voice),
            *("-s", str(self.words_per_minute)),
            "--stdin",  # the text, whole, from stdin: never an argument
            "--stdout",  # the WAV to stdout
        ]

    def _failed(self, returncode: int, stderr: bytes) -> RuntimeError:
        said = stderr.decode(errors="replace").strip().splitlines()
        why = f": {said[-1]}" if said else ""
        return RuntimeError(f"espeak-ng failed (exit status {returncode}){why}")

    def _timed_out(self) -> RuntimeError:
        return RuntimeError(f"espeak-ng took over {TIMEOUT:g} s to speak the prompt and was killed")

    # --- the cache ----------------------------------------------------------------------

    def _path(self, cleaned: str) -> Path:
        key = json.dumps([FORMAT_VERSION, self.voice, self.words_per_minute, cleaned])
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.wav"

    @staticmethod
    def _hit(path: Path) -> Path | None:
        """The file if it exists, its mtime moved to now when stale (the LRU order)."""
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        if time.time() - mtime > _TOUCH_AFTER:
            # Evicted meanwhile, or a read-only cache: the file is still usable now.
            with contextlib.suppress(OSError):
                os.utime(path)
        return path

    def cached(self, text: str) -> Path | None:
        """The rendered WAV if already made (ValueError for text that could never be)."""
        return self._hit(self._path(_clean(text)))

    def _store(self, data: bytes, path: Path) -> Path:
        """Convert espeak-ng's output, write it atomically to `path`, then bound the cache."""
        wav = sounds.render_wav(_trim(_to_8k(data)))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(wav)
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self._evict()
        return path

    def _evict(self) -> None:
        """Past MAX_FILES renderings, remove the least recently used."""
        entries: list[tuple[int, str]] = []
        with os.scandir(self.cache_dir) as scan:
            for entry in scan:
                if _NAME.fullmatch(entry.name):
                    try:
                        entries.append((entry.stat().st_mtime_ns, entry.path))
                    except FileNotFoundError:
                        continue
        excess = len(entries) - MAX_FILES
        if excess > 0:
            for _, old in sorted(entries)[:excess]:
                Path(old).unlink(missing_ok=True)

    # --- rendering ----------------------------------------------------------------------

    def render_sync(self, text: str) -> Path:
        """The prompt's WAV, rendered now if not cached (blocking: start-up, the admin's listen)."""
        cleaned = _clean(text)
        path = self._path(cleaned)
        hit = self._hit(path)
        if hit is not None:
            return hit
        argv = self._argv()
        with self._slots:
            try:
                done = subprocess.run(
                    argv, input=cleaned.encode(), capture_output=True, timeout=TIMEOUT
                )
            except FileNotFoundError:
                raise self._unavailable() from None
            except subprocess.TimeoutExpired:
                raise self._timed_out() from None
        if done.returncode != 0:
            raise self._failed(done.returncode, done.stderr)
        return self._store(done.stdout, path)

    async def render(self, text: str) -> Path:
        """The prompt's WAV, rendered if not cached, without blocking the event loop."""
        cleaned = _clean(text)
        path = self._path(cleaned)
        hit = self._hit(path)
        if hit is not None:
            return hit
        argv = self._argv()
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # asyncio primitives belong to one loop
            self._loop = loop
            self._semaphore = asyncio.Semaphore(self.max_concurrent)
            self._inflight = {}
        task = self._inflight.get(path)
        if task is None:
            task = loop.create_task(self._render(argv, cleaned, path))
            self._inflight[path] = task
            task.add_done_callback(self._finished(path))
        # Shielded: a caller who hangs up cancels its wait, not the rendering others share.
        return await asyncio.shield(task)

    def _finished(self, path: Path) -> Callable[[asyncio.Task[Path]], None]:
        """The task's done callback: forget it, and mark its error as seen.

        Every waiter may have been cancelled (callers hung up); the error is then read here so
        asyncio does not log it as never retrieved.
        """
        inflight = self._inflight

        def done(task: asyncio.Task[Path]) -> None:
            if inflight.get(path) is task:
                del inflight[path]
            if not task.cancelled():
                task.exception()

        return done

    async def _render(self, argv: list[str], cleaned: str, path: Path) -> Path:
        async with self._semaphore:
            while not self._slots.acquire(blocking=False):  # a render_sync holds the slot
                await asyncio.sleep(0.01)
            try:
                data = await self._run(argv, cleaned)
            finally:
                self._slots.release()
        # Filtering a few seconds of audio is tens of milliseconds of CPU: not on the loop.
        return await asyncio.to_thread(self._store, data, path)

    async def _run(self, argv: list[str], cleaned: str) -> bytes:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise self._unavailable() from None
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(cleaned.encode()), TIMEOUT)
        except BaseException as error:  # the timeout, or a cancellation: no orphan process
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            if isinstance(error, TimeoutError):
                raise self._timed_out() from None
            raise
        if process.returncode != 0:
            raise self._failed(process.returncode or 0, stderr)
        return stdout
