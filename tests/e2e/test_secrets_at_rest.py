"""Secrets at rest and the data directory's permissions, on the real `ringdesk` commands: the
stored phone and trunk passwords are sealed with the data dir's key, every file the service
writes is readable by its user only (whatever umask it was started with), a wrong key stops the
start with one clear line, and a rotated key (new first, old after it) keeps every secret."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from ringdesk.store.secrets import KEY_ENV, KEY_FILE, PREFIX
from tests.api.phone import RegisteringPhone
from tests.support.server import start_server

CLI = (sys.executable, "-m", "ringdesk.cli")
HARNESS_FILES = {"serve.log"}  # written by the test harness, not by the service


def _raw(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _open_to_others(data_dir: Path) -> list[str]:
    wide = []
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.name in HARNESS_FILES:
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            wide.append(f"{path.relative_to(data_dir)} {oct(mode)}")
    return wide


def test_secrets_are_sealed_files_private_and_a_wrong_key_stops_the_start(
    tmp_path: Path,
) -> None:
    old_umask = os.umask(0o022)  # what a default shell gives: files 0644 unless we care
    try:
        server = start_server(tmp_path)
    finally:
        os.umask(old_umask)
    data_dir, db = server.data_dir, server.data_dir / "ringdesk.db"
    try:
        admin = server.login("admin", "admin-demo")
        with server.client(admin) as http:
            saved = http.post(
                "/api/admin/trunks",
                json={"name": "provider", "host": "127.0.0.1", "password": "provider-secret-42"},
            )
            assert saved.status_code == 201, saved.text
            assert "provider-secret-42" not in saved.text
        # The database, the key, the sounds: nobody but the service user can read them.
        assert (data_dir / KEY_FILE).exists()
        assert _open_to_others(data_dir) == []

        phones = _raw(db, "SELECT cti_id, phone_password FROM cti_agents")
        (trunk,) = _raw(db, "SELECT password FROM trunks WHERE name = 'provider'")
        assert phones and trunk[0]
        for _cti_id, stored in [*phones, ("trunk", trunk[0])]:
            assert isinstance(stored, str) and stored.startswith(PREFIX)
        raw_bytes = db.read_bytes() + b"".join(p.read_bytes() for p in data_dir.glob("*.db-wal"))
        assert b"phone1001-demo" not in raw_bytes and b"provider-secret-42" not in raw_bytes

        # The switch opens the sealed password to check a real digest REGISTER.
        phone = RegisteringPhone(server.sip_host, server.sip_port)
        try:
            assert phone.register("1001", "phone1001-demo") == 200
        finally:
            phone.close()
    finally:
        server.stop()

    # Another key: the start stops at once with a sentence naming the cause.
    wrong = subprocess.run(
        [*CLI, "serve", "--data-dir", str(data_dir), "--http-port", "0", "--sip-port", "0"],
        env={**server.env, KEY_ENV: Fernet.generate_key().decode()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode == 2, wrong.stderr[-2000:]
    assert "secret key is not the one this database was written with" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    # Rotation: a new key first, the data dir's old key after it; old secrets still open.
    old_key = (data_dir / KEY_FILE).read_text().strip()
    server.env[KEY_ENV] = f"{Fernet.generate_key().decode()},{old_key}"
    server.launch()
    try:
        phone = RegisteringPhone(server.sip_host, server.sip_port)
        try:
            assert phone.register("1002", "phone1002-demo") == 200
        finally:
            phone.close()
    finally:
        server.stop()
