"""Start a real `ringdesk serve` subprocess (migrate + demo first) on free HTTP and SIP ports.

    server = start_server(tmp_path)               # SQLite in tmp_path/data
    token = server.login("alice", "alice-demo")
    with server.client(token) as http: http.get("/api/cti/state")
    server.restart()                              # same data dir and database
    server.stop()

The server binds port 0 for both HTTP and SIP and writes the ports it got to
`<data_dir>/server.json`, so test files can run in parallel without port clashes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ringdesk.media.sounds import generate_defaults
from ringdesk.web.schemas import TrunkBody

STARTUP_TIMEOUT = 90.0  # a loaded 2-core machine can take a while to import and migrate


class ServerError(RuntimeError):
    pass


@dataclass
class RunningServer:
    data_dir: Path
    database_url: str | None
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    serve_args: tuple[str, ...] = ()  # extra `ringdesk serve` flags, e.g. short session lifetimes
    http_port: int = 0
    sip_host: str = "127.0.0.1"
    sip_port: int = 0
    sip_tls_port: int | None = None  # SIP over TLS, None when off
    http_scheme: str = "http"  # "https" when the server serves the web over TLS
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir / "serve.log"

    @property
    def base_url(self) -> str:
        return f"{self.http_scheme}://127.0.0.1:{self.http_port}"

    @property
    def tls_cert(self) -> Path:
        """The self-signed certificate the server generated (trusted by the test clients)."""
        return self.data_dir / "tls" / "selfsigned-cert.pem"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What httpx verifies an HTTPS answer against: the server's own certificate."""
        if self.http_scheme != "https":
            return True
        return ssl.create_default_context(cafile=str(self.tls_cert))

    # ---- HTTP helpers ---------------------------------------------------------------------
    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(
            base_url=self.base_url, headers=headers, timeout=30.0, verify=self.verify
        )

    def login(self, username: str, password: str) -> str:
        with self.client() as http:
            response = http.post(
                "/api/auth/login", json={"username": username, "password": password}
            )
        if response.status_code != 200:
            raise ServerError(f"login {username}: {response.status_code} {response.text}")
        token: str = response.json()["token"]
        return token

    def trust_source(self, address: str) -> None:
        """List `address` among the first trunk's sources (once): the demo takes inbound calls
        from its trunk only, and test customers call from their own address."""
        sources = self.trunk()["sources"]
        if address not in sources:
            self.update_trunk(sources=[*sources, address])

    def trunk(self) -> dict[str, Any]:
        """The first trunk by priority (the demo's, unless a test made others)."""
        with self.client(self.login("admin", "admin-demo")) as http:
            trunks = http.get("/api/admin/trunks").json()
        if not trunks:
            raise ServerError("no trunk configured")
        first: dict[str, Any] = trunks[0]
        return first

    def update_trunk(self, **changes: Any) -> dict[str, Any]:
        """Change some fields of the first trunk (PUT replaces the whole trunk; the password
        is left out, so it is kept)."""
        current = self.trunk()
        body = {k: current[k] for k in TrunkBody.model_fields if k in current}
        body.update(changes)
        with self.client(self.login("admin", "admin-demo")) as http:
            response = http.put(f"/api/admin/trunks/{current['id']}", json=body)
        if response.status_code != 200:
            raise ServerError(f"updating the trunk: {response.status_code} {response.text}")
        saved: dict[str, Any] = response.json()
        return saved

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ---- lifecycle ----------------------------------------------------------------------------
    def _run_cli(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "ringdesk.cli", *args, *self._db_args()],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STARTUP_TIMEOUT,
        )
        if result.returncode != 0:
            raise ServerError(f"ringdesk {args[0]} failed:\n{result.stdout}\n{result.stderr}")

    def _db_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def launch(self) -> None:
        """Start `ringdesk serve` and wait until /healthz says everything is up."""
        ports_file = self.data_dir / "server.json"
        ports_file.unlink(missing_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ringdesk.cli",
                "serve",
                "--http-host",
                "127.0.0.1",
                "--http-port",
                "0",
                "--sip-host",
                "127.0.0.1",
                "--sip-port",
                "0",
                *self._db_args(),
                *self.serve_args,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ports_file.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"server did not start:\n{self.log_tail()}")
            time.sleep(0.1)
        info = json.loads(ports_file.read_text())
        self.http_port = int(info["http_port"])
        self.sip_host = str(info["sip_host"])
        self.sip_port = int(info["sip_port"])
        tls_port = info.get("sip_tls_port")
        self.sip_tls_port = int(tls_port) if tls_port is not None else None
        self.http_scheme = str(info.get("http_scheme", "http"))
        self._wait_healthy(deadline)

    def _wait_healthy(self, deadline: float) -> None:
        # RINGDESK_TEST_ALLOW_DEGRADED=1 lets a developer run API tests while a part is missing;
        # CI never sets it, so a missing switch or engine fails every test loudly.
        allow_degraded = os.environ.get("RINGDESK_TEST_ALLOW_DEGRADED") == "1"
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                response = httpx.get(f"{self.base_url}/healthz", timeout=5.0, verify=self.verify)
                last = f"{response.status_code} {response.text}"
                if response.status_code == 200:
                    return
                if allow_degraded and response.json().get("database") == "ok":
                    return
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        self.stop()
        raise ServerError(f"/healthz never became ok (last: {last}):\n{self.log_tail()}")

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ServerError(f"server exited with {self.process.returncode}:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Crash the server (SIGKILL): what a power cut does, for restart tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.launch()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def clean_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without RINGDESK_ variables (flags decide; a developer's
    shell must not leak in), plus `env`."""
    full_env = dict(os.environ)
    for name in list(full_env):
        if name.startswith("RINGDESK_") and name != "RINGDESK_TEST_ALLOW_DEGRADED":
            del full_env[name]
    full_env["PYTHONUNBUFFERED"] = "1"
    if env:
        full_env.update(env)
    return full_env


def start_server(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    serve_args: Sequence[str] = (),
    installed: Path | None = None,
) -> RunningServer:
    """Migrate, create the demo tenant and serve, all in `tmp_path/data`; wait for /healthz.

    `installed`: `database_url` is a copy of an install already made with this data dir
    (PostgresCluster.installed_database): its files are copied, nothing is migrated."""
    data_dir = Path(tmp_path) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = clean_env(env)
    server = RunningServer(
        data_dir=data_dir, database_url=database_url, env=full_env, serve_args=tuple(serve_args)
    )
    if database_url is None:
        # SQLite: a copy of this process's fresh install (migrated, the demo tenant, its key),
        # made once per environment: `migrate` and `demo` cost seconds of CPU per test.
        shutil.copytree(_sqlite_install(full_env), data_dir, dirs_exist_ok=True)
    elif installed is not None:
        shutil.copytree(installed, data_dir, dirs_exist_ok=True)
    else:
        server._run_cli("migrate")
        server._run_cli("demo")
    server.launch()
    return server


_INSTALLS: dict[tuple[tuple[str, str], ...], Path] = {}


def _sqlite_install(env: dict[str, str]) -> Path:
    """A data dir holding a fresh SQLite install made with these RINGDESK_ variables (a
    secrets-at-rest key changes it), made the first time it is asked."""
    key = tuple(sorted((k, v) for k, v in env.items() if k.startswith("RINGDESK_")))
    found = _INSTALLS.get(key)
    if found is None:
        found = _INSTALLS[key] = fresh_install(env, None)
    return found


def fresh_install(env: dict[str, str], database_url: str | None) -> Path:
    """A new data dir with what `ringdesk migrate` and `ringdesk demo` make (in the database
    named, or SQLite in the data dir), and the default sounds the first start would write."""
    found = Path(tempfile.mkdtemp(prefix="ringdesk-install-")) / "data"
    found.mkdir()
    install = RunningServer(data_dir=found, database_url=database_url, env=env)
    install._run_cli("migrate")
    install._run_cli("demo")
    generate_defaults(found / "sounds" / "default")  # seconds of CPU at a first start
    for path in found.rglob("*"):  # private, as the server keeps its data dir
        path.chmod(0o700 if path.is_dir() else 0o600)
    return found
