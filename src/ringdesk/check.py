"""`ringdesk check`: what is wrong with a configuration, found before the server is started.

Each check reads, never writes: no database is created or migrated, no key is made, nothing is
bound for longer than the test of a port. A problem is a sentence saying what is wrong and one
saying how to fix it (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import errno
import os
import socket
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from ringdesk import config, tls
from ringdesk.config import Settings, is_loopback

if TYPE_CHECKING:
    from ringdesk.store.trunks import TrunkConfig

EXPIRY_WARNING = datetime.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Problem:
    what: str
    fix: str


def run(args: argparse.Namespace | None, env: dict[str, str] | None = None) -> list[Problem]:
    """Load the settings like `serve` does and list everything found wrong with them."""
    environ = dict(os.environ) if env is None else env
    try:
        settings = config.load(args, environ)
    except SystemExit as exc:  # config.ConfigError and the flag/environment checks
        return [Problem(str(exc.code), "correct that setting and run `ringdesk check` again")]
    problems = list(_data_dir(settings))
    problems += _database(settings, environ)
    problems += _tls(settings)
    problems += _addresses(settings)
    problems += _ports(settings)
    return problems


def report(problems: list[Problem]) -> str:
    if not problems:
        return "configuration OK"
    lines = [f"{len(problems)} problem(s) found:"]
    for number, problem in enumerate(problems, 1):
        lines.append(f"{number}. {problem.what}\n   Fix: {problem.fix}")
    return "\n".join(lines)


def _data_dir(settings: Settings) -> Iterator[Problem]:
    folder = settings.data_dir
    if not folder.exists():
        parent = next((p for p in folder.absolute().parents if p.exists()), Path("/"))
        if not os.access(parent, os.W_OK | os.X_OK):
            yield Problem(
                f"the data directory {folder} does not exist and {parent} is not writable",
                f"create {folder} owned by the service user (install -d -m 0700 -o ringdesk "
                f"{folder})",
            )
        return
    if not folder.is_dir():
        yield Problem(f"the data directory {folder} is not a directory", "point data_dir at one")
        return
    if not os.access(folder, os.W_OK | os.X_OK):
        yield Problem(
            f"the data directory {folder} is not writable by this user (uid {os.getuid()})",
            f"run as the directory's owner or chown it to the service user: chown -R ringdesk "
            f"{folder}",
        )
    for path in (folder, folder / "secret.key", folder / "ringdesk.db"):
        if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            mode = oct(stat.S_IMODE(path.stat().st_mode))
            yield Problem(
                f"{path} is readable or writable by other users (mode {mode})",
                f"chmod go-rwx {path} (`ringdesk migrate` and `serve` also tighten it)",
            )


def _database(settings: Settings, environ: dict[str, str]) -> Iterator[Problem]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from ringdesk.store import secrets
    from ringdesk.store import trunks as store_trunks
    from ringdesk.store.db import make_engine, make_sessionmaker
    from ringdesk.store.migrate import alembic_config
    from ringdesk.store.snapshot import check_secret_key

    url = settings.effective_database_url
    try:
        sqlite_file = make_url(url).database if url.startswith("sqlite") else None
    except SQLAlchemyError as exc:
        yield Problem(f"the database URL is not usable: {exc}", "correct database_url")
        return
    if sqlite_file and sqlite_file != ":memory:" and not Path(sqlite_file).exists():
        return  # a first start: `ringdesk serve` creates it (connecting here would, too)
    key_file = settings.data_dir / secrets.KEY_FILE
    has_key = bool(environ.get(secrets.KEY_ENV, "").strip()) or key_file.is_file()
    box = None
    if has_key:
        try:
            box = secrets.load_box(settings.data_dir, environ)
        except (OSError, ValueError, secrets.SecretKeyError) as exc:
            yield Problem(
                f"the secret key cannot be read: {exc}",
                f"restore {key_file} from the backup, or set {secrets.KEY_ENV}",
            )
            return
    try:
        engine = make_engine(url, box)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        yield Problem(f"the database URL is not usable: {exc}", "correct database_url")
        return
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        if current != head:
            yield Problem(
                f"the database schema is at {current or 'nothing'}, this version needs {head}",
                "back the database up, then run `ringdesk migrate` with the same config",
            )
            return
        if box is None:
            yield Problem(
                f"the database exists but there is no secret key ({key_file}, "
                f"{secrets.KEY_ENV}): its stored phone and trunk passwords cannot be opened",
                f"restore {key_file} from the backup made with the database",
            )
            return
        with make_sessionmaker(engine)() as db:
            check_secret_key(db)
            trunks = store_trunks.load(db)
        yield from _trunks_reach(settings, trunks)
    except secrets.SecretKeyError as exc:
        yield Problem(str(exc), f"restore the {key_file} that was backed up with this database")
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        yield Problem(
            f"the database {_safe(url)} cannot be reached: {reason}",
            "start the database server, check the host, port, user and password in "
            "database_url, and that the database exists (createdb)",
        )
    finally:
        engine.dispose()


def _trunks_reach(settings: Settings, trunks: Sequence[TrunkConfig]) -> Iterator[Problem]:
    """A trunk on a public address that would be told a private address of ours (a server
    behind NAT without sip_external): its calls in would never reach us."""
    from ringdesk.switch.addresses import Addresses, ip, parse_networks, unreachable

    sip = Addresses(settings.sip_host, settings.sip_external, parse_networks(settings.local_nets))
    media = Addresses(
        settings.rtp_host or settings.sip_host,
        settings.media_external or settings.sip_external,
        sip.local_nets,
    )
    for trunk in trunks:
        if not trunk.enabled or ip(trunk.host) is None:
            continue  # names are located when calls go out; we do not resolve them here
        for what, addresses, setting in (
            ("signaling", sip, "sip_external"),
            ("media", media, "media_external (or sip_external)"),
        ):
            advertised = addresses.for_peer(trunk.host)
            if unreachable(trunk.host, advertised) is not None:
                yield Problem(
                    f"trunk {trunk.name!r} is at {trunk.host}, a public address, and this "
                    f"server would give it {advertised} for its {what}: the provider cannot "
                    "reach that address",
                    f"set {setting} to the public address that forwards to this server "
                    "(docs/deploy.md, behind a NAT router)",
                )
                break


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _tls(settings: Settings) -> Iterator[Problem]:
    if settings.tls_cert is None and settings.tls_key is None:
        return  # the self-signed demo certificate is made at start
    try:
        cert = tls.certificate(settings.data_dir, settings.tls_cert, settings.tls_key, [])
    except tls.TlsError as exc:
        yield Problem(
            str(exc),
            "give tls_cert (PEM chain) and tls_key (its PEM key), readable by the service user",
        )
        return
    loaded = x509.load_pem_x509_certificate(cert.cert.read_bytes())
    left = loaded.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    if left <= datetime.timedelta(0):
        yield Problem(
            f"the TLS certificate {cert.cert} expired on {loaded.not_valid_after_utc:%Y-%m-%d}",
            "renew it (certbot renew, or your CA) and restart",
        )
    elif left < EXPIRY_WARNING:
        yield Problem(
            f"the TLS certificate {cert.cert} expires in {left.days} days "
            f"({loaded.not_valid_after_utc:%Y-%m-%d})",
            "renew it now (certbot renew, or your CA); phones refuse an expired one",
        )


def _addresses(settings: Settings) -> Iterator[Problem]:
    if settings.https == "off" and not is_loopback(settings.http_host):
        yield Problem(
            f"plain HTTP (--insecure-http) on {settings.http_host}, which is not loopback: "
            "passwords and session tokens would cross the network in clear",
            "bind http_host to 127.0.0.1 behind a TLS reverse proxy, or drop insecure-http",
        )
    if is_loopback(settings.sip_host):
        return
    for field in dataclasses.fields(settings):
        if not (field.name.endswith("_external") or "advertis" in field.name):
            continue  # the addresses we advertise (sip_external, media_external)
        value = getattr(settings, field.name)
        values = value if isinstance(value, tuple) else (value,)
        for one in values:
            if isinstance(one, str) and one and _loopback_address(one):
                yield Problem(
                    f"{field.name} is {one}, a loopback address, while SIP binds "
                    f"{settings.sip_host}: phones elsewhere would send their audio to themselves",
                    f"set {field.name} to the address phones reach this server on",
                )


def _loopback_address(value: str) -> bool:
    """A host, an IPv4 host:port or a [v6]:port that is loopback."""
    host = value.strip()
    if host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return is_loopback(host)


def _ports(settings: Settings) -> Iterator[Problem]:
    wanted = [
        ("http_port", settings.http_host, settings.http_port, socket.SOCK_STREAM, "TCP"),
        ("sip_port", settings.sip_host, settings.sip_port, socket.SOCK_DGRAM, "UDP"),
        ("sip_port", settings.sip_host, settings.sip_port, socket.SOCK_STREAM, "TCP"),
    ]
    if settings.sip_tls_port:
        tls_port = settings.sip_tls_port
        wanted.append(("sip_tls_port", settings.sip_host, tls_port, socket.SOCK_STREAM, "TCP"))
    for name, host, port, kind, proto in wanted:
        if not port:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            with socket.socket(family, kind) as sock:
                if kind == socket.SOCK_STREAM:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                yield Problem(
                    f"{proto} port {port} on {host} ({name}) is already in use",
                    f"stop what listens there (ss -lntup | grep :{port}) or choose another {name}",
                )
            elif exc.errno == errno.EACCES:
                yield Problem(
                    f"{proto} port {port} on {host} ({name}) needs privileges this user lacks",
                    "use a port above 1023, or grant CAP_NET_BIND_SERVICE (docs/deploy.md)",
                )
            else:
                yield Problem(
                    f"cannot bind {proto} {host}:{port} ({name}): {exc.strerror}",
                    f"set {name.replace('port', 'host')} to an address of this machine",
                )
