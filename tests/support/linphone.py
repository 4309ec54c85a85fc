"""linphonec (Debian's linphone-cli, liblinphone 5.1) as a second, independent agent phone stack.

Headless it needs three things found by trial here: a writable HOME with
`.local/share/linphone` (without its database the core never reaches the On state and answers
every INVITE with 503), `soundcard use files` (no sound card: audio comes from and goes to WAV
files), and `-a` to auto-answer. It is driven through stdin; its console lines are the events.
Once a call connects, the phone plays the agent's WAV into it and records what it hears.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from tests.support.rtp import free_udp_tcp_port, read_wav


def linphonec_binary() -> str:
    path = shutil.which("linphonec")
    if path is None:
        raise AssertionError(
            "linphonec is not installed: run `bash scripts/install-test-deps.sh` "
            "(Debian: linphone-cli)"
        )
    return path


class Linphonec:
    def __init__(
        self,
        workdir: Path,
        *,
        user: str,
        password: str,
        registrar: tuple[str, int],
        source_wav: Path,
        name: str | None = None,
    ) -> None:
        self.name = name or f"linphonec-{user}"
        self.dir = workdir / self.name
        (self.dir / "home" / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        self.user = user
        self.password = password
        self.registrar = registrar
        self.source_wav = source_wav
        self.sip_port = 0
        self.lines: list[str] = []
        self.calls = 0
        self._cond = threading.Condition()
        self.process: subprocess.Popen[str] | None = None
        self.log_file = self.dir / "liblinphone.log"

    def start(self) -> Linphonec:
        self.sip_port = free_udp_tcp_port()
        rc = self.dir / "linphonerc"
        rc.write_text(
            "[sip]\n"
            f"sip_port={self.sip_port}\n"
            "sip_tcp_port=-1\n"
            "sip_tls_port=-1\n"
            "[rtp]\n"
            "audio_rtp_port=41000-42000\n"
            "[sound]\n"
            "echocancellation=0\n"
        )
        env = dict(os.environ, HOME=str(self.dir / "home"))
        self.process = subprocess.Popen(
            [linphonec_binary(), "-c", str(rc), "-a", "-d", "6", "-l", str(self.log_file)],
            cwd=self.dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._read, daemon=True, name=self.name).start()
        self.send("soundcard use files")
        host, port = self.registrar
        self.send(f"register sip:{self.user}@{host}:{port} sip:{host}:{port} {self.password}")
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.replace("linphonec> ", "").strip()
            if not line:
                continue
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
            if re.match(r"Call \d+ with .* connected\.", line):
                # Talk and listen as soon as the call is up: the agent's WAV in, a new file out.
                self.calls += 1
                self.send(f"play {self.source_wav}")
                self.send(f"record {self.dir / f'heard-{self.calls}.wav'}")

    def send(self, command: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def mark(self) -> int:
        with self._cond:
            return len(self.lines)

    def wait_line(self, pattern: str, *, since: int = 0, timeout: float = 30.0) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[since:]:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.name}: no line /{pattern}/ in {timeout:.0f} s; console:\n"
                        + "\n".join(self.lines[-30:])
                    )
                self._cond.wait(left)

    def wait_registered(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            mark = self.mark()
            self.send("proxy list")
            line = self.wait_line(r"^registered: (yes|no)", since=mark, timeout=10)
            if line.endswith("yes"):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not register in {timeout} s")
            time.sleep(0.5)

    def wait_connected(self, *, since: int = 0, timeout: float = 30.0) -> str:
        return self.wait_line(r"Call \d+ with .* connected\.", since=since, timeout=timeout)

    def wait_ended(self, *, since: int = 0, timeout: float = 30.0) -> str:
        return self.wait_line(r"Call \d+ with .* ended", since=since, timeout=timeout)

    def hangup(self) -> None:
        self.send("terminate")

    def heard(self) -> list[int]:
        """What the phone heard during its latest call (its record file), 8 kHz mono."""
        path = self.dir / f"heard-{self.calls}.wav"
        return read_wav(path) if path.exists() else []

    def sip_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.send("quit")
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
