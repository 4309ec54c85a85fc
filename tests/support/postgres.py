"""A throwaway PostgreSQL 15 cluster for the test session (Debian's package, no Docker).

initdb runs into a temporary directory owned by the `postgres` user (via `runuser` when the
tests run as root, since PostgreSQL refuses to run as root), on a free TCP port with its unix
socket in the same directory. Each caller gets its own database from `new_database()`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.rtp import free_tcp_port
from tests.support.server import clean_env, fresh_install

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


def pg_bin() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: "
        "run `make deps` (scripts/install-test-deps.sh) to install Debian's postgresql"
    )


def _free_port() -> int:
    return free_tcp_port()  # from the worker's own block: the postmaster binds it after us


class PostgresCluster:
    def __init__(self) -> None:
        self.bin = pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="ringdesk-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else os.environ.get("USER", "postgres")
        self._installed: tuple[str, Path] | None = None  # (template database, its data dir)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.root, user="postgres", group="postgres")
        os.chmod(self.root, 0o700)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        result = self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "postgres.log"),
            "-w",
            "-t",
            "60",
            "start",
            check=False,
        )
        if result.returncode != 0:
            log = (self.root / "postgres.log").read_text(errors="replace")
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.admin_dsn, connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", check=False
        )
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"

    def new_database(self, *, template: str | None = None) -> str:
        """Create an empty database (or a copy of `template`); return its SQLAlchemy URL."""
        name = "rd_" + uuid.uuid4().hex[:12]
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def installed_database(self) -> tuple[str, Path]:
        """A database holding a fresh install (migrated, the demo tenant) and the data dir that
        goes with it (its secret key, the default sounds): a copy of one made the first time.
        `migrate` and `demo` cost seconds of CPU per server; CREATE DATABASE ... TEMPLATE is a
        file copy."""
        if self._installed is None:
            url = self.new_database()
            self._installed = (url.rsplit("/", 1)[1], fresh_install(clean_env(), url))
        template, data_dir = self._installed
        return self.new_database(template=template), data_dir


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A running PostgreSQL cluster for the whole session; fails loudly when not installed."""
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
