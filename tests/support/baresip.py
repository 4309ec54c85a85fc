"""baresip as an agent's desk phone: headless, registered with digest auth, driven over ctrl_tcp.

baresip 1.0 (Debian 12) is started with a generated config folder (`-f`): SIP on a free
loopback port, the agent's account with `answermode=auto` (the switch's auto-answer INVITE is
picked up at once), audio from a WAV through the aufile module, and what the phone hears dumped
to WAV by the sndfile filter (`dump-<time>-dec.wav`; baresip 1.0 has no file player). The
ctrl_tcp module speaks netstring-framed JSON: commands out, responses and events in; the
commands themselves (dial, accept, hangup, reginfo) come from the menu module.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.rtp import free_tcp_port, free_udp_tcp_port, read_wav

MODULES = Path("/usr/lib/baresip/modules")


def baresip_binary() -> str:
    path = shutil.which("baresip")
    if path is None or not MODULES.is_dir():
        raise AssertionError(
            "baresip is not installed: run `bash scripts/install-test-deps.sh` (Debian: baresip)"
        )
    return path


class Baresip:
    """One baresip process with one account (the agent's phone)."""

    def __init__(
        self,
        workdir: Path,
        *,
        user: str,
        password: str,
        registrar: tuple[str, int],
        source_wav: Path,
        answermode: str = "auto",
        regint: int = 60,
        name: str | None = None,
        transport: str = "udp",
        cafile: Path | None = None,
        mediaenc: str | None = None,
        listen: str = "127.0.0.1",
        sip_trace: bool = False,
    ) -> None:
        """`transport` tls: the account registers and talks over TLS to `registrar` (the
        switch's TLS port), checking the server against `cafile`. `mediaenc` srtp: SDES-SRTP
        offered and accepted (baresip's srtp module). `listen`: the phone's own address, for
        its SIP and RTP (an IPv6 one makes an IPv6-only phone: SDP in IN IP6). `sip_trace`:
        baresip's `-s`, every SIP message in its log (see `received`)."""
        self.name = name or f"baresip-{user}"
        self.dir = workdir / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.registrar = registrar
        self.source_wav = source_wav
        self.answermode = answermode
        self.regint = regint
        self.password = password
        self.transport = transport
        self.cafile = cafile
        self.mediaenc = mediaenc
        self.listen = listen
        self.sip_trace = sip_trace
        self.sip_port = 0  # chosen, free, at each start
        self.ctrl_port = 0
        self.events: list[dict[str, Any]] = []
        self.responses: dict[str, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._tokens = itertools.count(1)
        self._sock: socket.socket | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = self.dir / "baresip.log"

    def _write_config(self) -> None:
        """Fresh free ports each time: a start that lost a port race is retried with new ones."""
        self.sip_port = free_udp_tcp_port()
        self.ctrl_port = free_tcp_port()
        source_wav, answermode, regint = self.source_wav, self.answermode, self.regint
        user, password = self.user, self.password
        host, port = self.registrar
        host = f"[{host}]" if ":" in host else host  # an IPv6 registrar: RFC 5118 form
        listen = f"[{self.listen}]" if ":" in self.listen else self.listen
        uri_params = f";transport={self.transport}" if self.transport != "udp" else ""
        tls = [f"sip_cafile {self.cafile}"] if self.cafile is not None else []
        mediaenc = f";mediaenc={self.mediaenc}" if self.mediaenc else ""
        if self.mediaenc:
            tls.append("module srtp.so")
        # One account; PCMU only, so the switch relays our frames byte for byte.
        (self.dir / "accounts").write_text(
            f"<sip:{user}@{host}:{port}{uri_params}>;auth_pass={password};regint={regint};"
            f"answermode={answermode};audio_codecs=pcmu{mediaenc}\n"
        )
        (self.dir / "config").write_text(
            "\n".join(
                [
                    f"module_path {MODULES}",
                    "poll_method epoll",
                    f"sip_listen {listen}:{self.sip_port}",
                    f"net_interface {self.listen}",
                    *tls,
                    "call_local_timeout 120",
                    "call_max_calls 4",
                    # baresip 1.0 cannot play into a file; aubridge is a sink that needs no card.
                    "audio_player aubridge,sink",
                    f"audio_source aufile,{source_wav}",
                    "audio_alert aubridge,sink",
                    "ausrc_srate 8000",
                    "auplay_srate 8000",
                    "ausrc_channels 1",
                    "auplay_channels 1",
                    "audio_buffer 20-160",
                    "jitter_buffer_delay 1-4",
                    "rtp_ports 20000-40000",
                    "module g711.so",
                    "module aufile.so",
                    "module aubridge.so",
                    "module sndfile.so",
                    "module_tmp account.so",
                    "module_app menu.so",
                    "module_app ctrl_tcp.so",
                    f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
                    "statmode_default off",
                    f"snd_path {self.dir}",
                    "",
                ]
            )
        )

    # -- life cycle

    def start(self, *, timeout: float = 20.0, attempts: int = 3) -> Baresip:
        for attempt in range(attempts):
            self._write_config()
            try:
                return self._start(timeout)
            except AssertionError:
                if attempt == attempts - 1 or "already in use" not in self.log():
                    raise
        raise AssertionError("unreachable")

    def _popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start the process (a subclass runs it elsewhere, e.g. in a network namespace)."""
        return subprocess.Popen(args, **kwargs)

    def _connect_ctrl(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=2)

    def _start(self, timeout: float) -> Baresip:
        with self.log_file.open("wb") as log:
            self.process = self._popen(
                [baresip_binary(), *(["-s"] if self.sip_trace else []), "-f", str(self.dir)],
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._sock = self._connect_ctrl()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"baresip did not open ctrl_tcp on {self.ctrl_port}:\n{self.log()}"
                    ) from None
                time.sleep(0.1)
        self._sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True, name=f"{self.name}-ctrl").start()
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.command("quit", timeout=2)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()

    def __enter__(self) -> Baresip:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    # -- ctrl_tcp

    def _read(self) -> None:
        assert self._sock is not None
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                colon = buffer.find(b":")
                if colon < 0:
                    break
                length = int(buffer[:colon])
                if len(buffer) < colon + 1 + length + 1:
                    break
                body = buffer[colon + 1 : colon + 1 + length]
                buffer = buffer[colon + 1 + length + 1 :]  # skip the trailing ","
                message = json.loads(body)
                with self._cond:
                    if message.get("event"):
                        self.events.append(message)
                    elif message.get("response"):
                        self.responses[str(message.get("token"))] = message
                    self._cond.notify_all()

    def command(self, command: str, params: str = "", *, timeout: float = 10.0) -> dict[str, Any]:
        assert self._sock is not None, "baresip is not started"
        token = str(next(self._tokens))
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(str(len(body)).encode() + b":" + body + b",")
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"baresip: no response to {command!r}\n{self.log()}")
                self._cond.wait(left)
            return self.responses.pop(token)

    def wait_event(
        self,
        kind: str,
        *,
        since: int = 0,
        timeout: float = 30.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """The first event of type `kind` (CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED, ...)
        at index `since` or later."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if event.get("type") == kind and (where is None or where(event)):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [e.get("type") for e in self.events[since:]]
                    raise AssertionError(
                        f"{self.name}: no {kind} event in {timeout:.0f} s (saw {seen})\n"
                        + self.log()
                    )
                self._cond.wait(left)

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    # -- phone actions

    def registered(self) -> bool:
        data = str(self.command("reginfo").get("data", ""))
        data = re.sub(r"\x1b\[[0-9;]*m", "", data)
        return bool(re.search(r"\bOK\b", data))

    def wait_registered(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.registered():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not register in {timeout} s\n{self.log()}")
            time.sleep(0.2)

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def accept(self) -> None:
        self.command("accept")

    def hangup(self) -> None:
        self.command("hangup")

    # -- what the phone got (with sip_trace)

    def received(self, method: str) -> list[str]:
        """The `method` requests sent to this phone, as baresip's trace (`-s`) logged them:
        each message follows a line '#' and a line 'UDP <from> -> <to>'."""
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.log_file.read_text(errors="replace"))
        ours = f"[{self.listen}]" if ":" in self.listen else self.listen
        out = []
        for block in re.split(r"(?m)^#\r?$", text):
            head, _, message = block.strip().replace("\r\n", "\n").partition("\n")
            route = re.match(r"\w+ \S+ -> (\S+):\d+$", head.strip())
            if route and route[1] == ours and message.startswith(f"{method} "):
                out.append(message)
        return out

    # -- what the phone heard

    def heard(self) -> list[int]:
        """Samples of the newest decode dump (what arrived from the switch), 8 kHz mono."""
        dumps = sorted(self.dir.glob("dump-*-dec.wav"), key=lambda p: p.stat().st_mtime)
        if not dumps:
            return []
        return read_wav(dumps[-1])

    def wait_heard(self, seconds: float, *, timeout: float = 30.0) -> list[int]:
        """Wait until the newest decode dump holds `seconds` of audio; its samples."""
        deadline = time.monotonic() + timeout
        while True:
            heard = self.heard()
            if len(heard) >= seconds * 8000:
                return heard
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} heard only {len(heard) / 8000:.1f} s of audio in {timeout} s"
                )
            time.sleep(0.2)
