"""stunnel in front of SIPp: Debian's sipp is built without OpenSSL (`sipp -t l1` answers "To
use a TLS transport you must compile SIPp with OpenSSL"), so SIPp speaks TCP to stunnel on
loopback and stunnel holds the TLS connection.

As the TLS client (a phone over TLS): stunnel connects to the switch, checking the switch's
certificate against the CA file and its IP address, TLS 1.2 at least.

    with TlsTunnel(tmp, ("127.0.0.1", tls_port), cafile) as tunnel:
        sipp ... -t t1 127.0.0.1:<tunnel.port>

As the TLS server (a provider's trunk over TLS): stunnel accepts the switch's TLS connections
on `port` with the given certificate and key and hands each one to SIPp listening on TCP; one
TLS connection is one TCP connection to SIPp, so what SIPp sends back (responses, its BYE)
goes over the TLS connection the switch opened. `connections()` counts the TLS connections
stunnel accepted (from its log), `handshake_failures()` the ones whose handshake failed.

    with TlsServer(tmp, ("127.0.0.1", sipp_tcp_port), cert, key) as server:
        trunk host ... port <server.port>, transport tls
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

from tests.support.rtp import free_tcp_port


def stunnel_binary() -> str:
    for name in ("stunnel4", "stunnel"):
        path = shutil.which(name)
        if path is not None:
            return path
    raise AssertionError(
        "stunnel is not installed: run `bash scripts/install-test-deps.sh` (Debian: stunnel4)"
    )


class TlsTunnel:
    """One stunnel client: plain TCP accepted on `port`, TLS to `remote`."""

    def __init__(
        self, workdir: Path, remote: tuple[str, int], cafile: Path, *, source: str | None = None
    ) -> None:
        """`source`: the local address the TLS connection comes from (the test carrier's)."""
        self.dir = workdir / f"stunnel-{uuid.uuid4().hex[:6]}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.remote = remote
        self.cafile = cafile
        self.source = source
        self.port = 0
        self.log_file = self.dir / "stunnel.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        self.port = free_tcp_port()
        config = self.dir / "stunnel.conf"
        config.write_text(
            "\n".join(
                [
                    "foreground = yes",
                    "pid =",
                    f"output = {self.log_file}",
                    "debug = info",
                    "[sip]",
                    "client = yes",
                    f"accept = 127.0.0.1:{self.port}",
                    f"connect = {self.remote[0]}:{self.remote[1]}",
                    *([f"local = {self.source}"] if self.source else []),
                    f"CAfile = {self.cafile}",
                    "verifyChain = yes",
                    f"checkIP = {self.remote[0]}",
                    "sslVersionMin = TLSv1.2",
                    "",
                ]
            )
        )
        return config

    def start(self, timeout: float = 15.0) -> TlsTunnel:
        config = self._write_config()
        self.process = subprocess.Popen(
            [stunnel_binary(), str(config)],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:  # listening once a plain connect to the accept port succeeds
            if self.process.poll() is not None:
                raise AssertionError(f"stunnel exited with {self.process.returncode}\n{self.log()}")
            if _listening(self.port):
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"stunnel did not listen on {self.port}\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> TlsTunnel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TlsServer(TlsTunnel):
    """One stunnel server: TLS accepted on `port` with `cert`/`key`, plain TCP to `backend`."""

    def __init__(self, workdir: Path, backend: tuple[str, int], cert: Path, key: Path) -> None:
        super().__init__(workdir, backend, cert)
        self.cert, self.key = cert, key

    def _write_config(self) -> Path:
        self.port = free_tcp_port()
        config = self.dir / "stunnel.conf"
        config.write_text(
            "\n".join(
                [
                    "foreground = yes",
                    "pid =",
                    f"output = {self.log_file}",
                    "debug = info",
                    "[sip-trunk]",
                    f"accept = 127.0.0.1:{self.port}",
                    f"connect = {self.remote[0]}:{self.remote[1]}",
                    f"cert = {self.cert}",
                    f"key = {self.key}",
                    "sslVersionMin = TLSv1.2",
                    "",
                ]
            )
        )
        return config

    def full_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def connections(self) -> int:
        """TLS connections accepted so far (each one stunnel logs as accepted)."""
        return self.full_log().count("accepted connection from")

    def handshake_failures(self) -> int:
        return sum(
            1 for line in self.full_log().splitlines() if "SSL_accept" in line and "error" in line
        )


def _listening(port: int) -> bool:
    """Whether something listens on the port, read from /proc (a probing connect would make
    stunnel open a TLS connection to the switch for nothing)."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[1].endswith(wanted) and fields[3] == "0A":
                return True
    return False
