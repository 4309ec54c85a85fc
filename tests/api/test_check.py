"""`ringdesk check` through the real CLI in a subprocess: the shipped sample config and a good
data dir pass (exit 0); broken ones fail (exit 1) with numbered problems, each with a fix. The
shipped systemd unit passes `systemd-analyze verify`."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ringdesk.store.migrate import alembic_config
from tests.support.postgres import PostgresCluster

ROOT = Path(__file__).resolve().parents[2]
RINGDESK = Path(sys.executable).with_name("ringdesk")


def _free_port() -> int:
    """A port free for TCP and UDP on loopback and on the wildcard address."""
    while True:
        with socket.socket() as tcp:
            tcp.bind(("0.0.0.0", 0))
            port = int(tcp.getsockname()[1])
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("0.0.0.0", port))
            return port
        except OSError:
            continue


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGDESK_")}
    sip = _free_port()
    env.update(
        RINGDESK_HTTP_PORT=str(_free_port()),
        RINGDESK_SIP_PORT=str(sip),
        RINGDESK_SIP_TLS_PORT=str(_free_port()),
    )
    env.update(extra)
    return env


def _ringdesk(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RINGDESK), *argv], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _problems(out: str) -> list[str]:
    """The numbered problems of a report, each checked to carry its fix sentence."""
    items = re.findall(r"^(\d+)\. (.+)\n   Fix: (.+)$", out, re.MULTILINE)
    assert [int(n) for n, _what, _fix in items] == list(range(1, len(items) + 1)), out
    assert re.search(rf"^{len(items)} problem\(s\) found:$", out, re.MULTILINE), out
    return [what for _n, what, _fix in items]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    done = _ringdesk("demo", "--data-dir", str(folder), env=_env())
    assert done.returncode == 0, done.stderr
    return folder


def test_the_shipped_sample_config_passes(data_dir: Path) -> None:
    # The sample as shipped (0.0.0.0, data dir /var/lib/ringdesk): the data dir and the ports
    # are moved by the environment, which wins over the file, so the test owns them.
    env = _env(RINGDESK_DATA_DIR=str(data_dir))
    done = _ringdesk("check", "--config", str(ROOT / "deploy" / "ringdesk.toml"), env=env)
    assert (done.returncode, done.stdout.strip()) == (0, "configuration OK"), done.stderr


def test_a_config_file_error_names_the_key_and_line(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'data_dir = "{data_dir}"\n[http]\nprot = 8443\n')
    done = _ringdesk("check", env=_env(RINGDESK_CONFIG=str(path)))
    assert done.returncode == 1
    (problem,) = _problems(done.stdout)
    assert "http_prot (line 3): not a setting" in problem


def _certificate(folder: Path, days: int) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ringdesk.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_a_broken_config_lists_every_problem(tmp_path: Path, data_dir: Path) -> None:
    # The wrong secret key for the demo's sealed phone passwords, left readable by others.
    (data_dir / "secret.key").write_bytes(Fernet.generate_key())
    (data_dir / "secret.key").chmod(0o644)
    cert, key = _certificate(tmp_path, days=10)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = tmp_path / "broken.toml"
        path.write_text(
            f'data_dir = "{data_dir}"\nhttps = "off"\n'
            f'[http]\nhost = "0.0.0.0"\n[tls]\ncert = "{cert}"\nkey = "{key}"\n'
        )
        # the environment puts the SIP TCP port on the busy one
        env = _env(RINGDESK_SIP_PORT=str(port), RINGDESK_SIP_HOST="127.0.0.1")
        done = _ringdesk("check", "--config", str(path), env=env)
    assert done.returncode == 1
    problems = _problems(done.stdout)
    assert len(problems) == 5, done.stdout
    assert "secret.key is readable or writable by other users (mode 0o644)" in problems[0]
    assert "a stored secret cannot be decrypted" in problems[1]
    assert re.search(r"cert\.pem expires in (9|10) days", problems[2])
    assert "plain HTTP (--insecure-http) on 0.0.0.0" in problems[3]
    assert f"TCP port {port} on 127.0.0.1 (sip_port) is already in use" in problems[4]


def test_a_loopback_advertised_address_on_a_public_bind(data_dir: Path) -> None:
    env = _env(RINGDESK_SIP_HOST="0.0.0.0", RINGDESK_SIP_EXTERNAL="127.0.0.1")
    done = _ringdesk("check", "--data-dir", str(data_dir), env=env)
    assert done.returncode == 1
    (problem,) = _problems(done.stdout)
    assert "sip_external is 127.0.0.1, a loopback address, while SIP binds 0.0.0.0" in problem


def test_a_trunk_on_a_public_address_that_could_not_reach_a_server_behind_nat(
    data_dir: Path,
) -> None:
    with sqlite3.connect(data_dir / "ringdesk.db") as db:
        db.execute("INSERT INTO trunks (name, host) VALUES ('Carrier', '198.51.100.20')")
        db.execute("INSERT INTO trunks (name, host) VALUES ('Office PBX', '192.168.1.20')")
    # Bound to a private address with no external one: the provider would be told 10.0.0.5.
    env = _env(RINGDESK_SIP_HOST="127.0.0.1", RINGDESK_SIP_EXTERNAL="10.0.0.5")
    done = _ringdesk("check", "--data-dir", str(data_dir), env=env)
    assert done.returncode == 1, done.stdout
    (problem,) = _problems(done.stdout)  # not the PBX on the LAN
    assert "trunk 'Carrier' is at 198.51.100.20, a public address" in problem
    assert "would give it 10.0.0.5 for its signaling" in problem
    assert "Fix: set sip_external" in done.stdout
    # With the public address that forwards to us, nothing is wrong.
    env = _env(RINGDESK_SIP_HOST="127.0.0.1", RINGDESK_SIP_EXTERNAL="203.0.113.5")
    done = _ringdesk("check", "--data-dir", str(data_dir), env=env)
    assert done.returncode == 0, done.stdout


def test_a_mismatched_certificate_and_key(tmp_path: Path, data_dir: Path) -> None:
    cert, _key = _certificate(tmp_path, days=90)
    other = tmp_path / "other"
    other.mkdir()
    _cert2, key2 = _certificate(other, days=90)
    env = _env(RINGDESK_TLS_CERT=str(cert), RINGDESK_TLS_KEY=str(key2))
    done = _ringdesk("check", "--data-dir", str(data_dir), env=env)
    assert done.returncode == 1
    (problem,) = _problems(done.stdout)
    assert f"cannot use the TLS certificate {cert} with the key {key2}" in problem


def test_a_schema_behind_asks_for_migrate(tmp_path: Path) -> None:
    from alembic import command

    folder = tmp_path / "old"
    folder.mkdir(mode=0o700)
    command.upgrade(alembic_config(f"sqlite:///{folder / 'ringdesk.db'}"), "0006")
    (folder / "ringdesk.db").chmod(0o600)
    env = _env()
    done = _ringdesk("check", "--data-dir", str(folder), env=env)
    assert done.returncode == 1
    (problem,) = _problems(done.stdout)
    assert "the database schema is at 0006, this version needs" in problem
    assert "ringdesk migrate" in done.stdout
    assert not (folder / "secret.key").exists()  # check made nothing


@pytest.fixture(scope="module")
def pg_url(postgres: PostgresCluster) -> Iterator[str]:
    yield postgres.new_database()


def test_postgresql_unreachable_then_pending_then_good(tmp_path: Path, pg_url: str) -> None:
    folder = tmp_path / "pg"
    closed = _free_port()
    env = _env(RINGDESK_DATA_DIR=str(folder))
    url = pg_url.rsplit("@", 1)[0] + f":secret@127.0.0.1:{closed}/nothing"
    done = _ringdesk("check", "--database-url", url, env=env)
    assert done.returncode == 1
    (problem,) = _problems(done.stdout)
    assert "cannot be reached" in problem and "secret" not in problem.replace("***", "")
    done = _ringdesk("check", "--database-url", pg_url, env=env)
    assert done.returncode == 1
    (problem,) = _problems(done.stdout)
    assert "the database schema is at nothing" in problem
    migrated = _ringdesk("migrate", "--database-url", pg_url, env=env)
    assert migrated.returncode == 0, migrated.stderr
    done = _ringdesk("check", "--database-url", pg_url, env=env)
    assert (done.returncode, done.stdout.strip()) == (0, "configuration OK")


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd"
    text = (ROOT / "deploy" / "ringdesk.service").read_text()
    for line in (
        "ExecStartPre=/opt/ringdesk/venv/bin/ringdesk check",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/ringdesk",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "User=ringdesk",
    ):
        assert line in text.splitlines()
    # verify needs the commands to exist: point them at this checkout's ringdesk
    unit = tmp_path / "ringdesk.service"
    unit.write_text(text.replace("/opt/ringdesk/venv/bin/ringdesk", str(RINGDESK)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "ringdesk.service" not in done.stderr, done.stderr  # no unknown key, no bad value


def test_serve_prints_the_url_and_the_registrar(data_dir: Path) -> None:
    env = _env(RINGDESK_DATA_DIR=str(data_dir), RINGDESK_SIP_TLS_PORT="off")
    http, sip = env["RINGDESK_HTTP_PORT"], env["RINGDESK_SIP_PORT"]
    with subprocess.Popen(
        [str(RINGDESK), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            first, second = server.stdout.readline(), server.stdout.readline()
        finally:
            server.terminate()
            server.wait(timeout=20)
    assert first.strip() == f"Ringdesk is running. Open http://127.0.0.1:{http}/ in a browser."
    assert second.startswith(f"SIP registrar: 127.0.0.1:{sip} (UDP and TCP), SIP domain ")
