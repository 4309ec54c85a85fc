"""`ringdesk serve | migrate | demo`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import re
import socket
import ssl
import sys
from typing import TYPE_CHECKING

from ringdesk import config
from ringdesk.config import is_loopback
from ringdesk.store.secrets import SecretKeyError

log = logging.getLogger("ringdesk")

if TYPE_CHECKING:
    from ringdesk.runtime import Runtime


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ringdesk", description="Self-hosted contact center")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web server and the SIP switch")
    config.add_arguments(serve, network=True)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    config.add_arguments(migrate, network=False)
    demo = sub.add_parser("demo", help="create the demo tenant (safe to run again)")
    config.add_arguments(demo, network=False)
    return parser


def _migrate(settings: config.Settings) -> None:
    from ringdesk.store.datadir import prepare
    from ringdesk.store.migrate import upgrade
    from ringdesk.store.secrets import load_box

    for path in prepare(settings.data_dir):
        log.warning("%s was readable by other users: now by the service user only", path)
    upgrade(settings.effective_database_url, load_box(settings.data_dir))


def _demo(settings: config.Settings) -> None:
    from ringdesk.store.db import make_engine, make_sessionmaker
    from ringdesk.store.demo import seed
    from ringdesk.store.secrets import load_box

    _migrate(settings)
    engine = make_engine(settings.effective_database_url, load_box(settings.data_dir))
    try:
        with make_sessionmaker(engine)() as db:
            lines = seed(db)
    finally:
        engine.dispose()
    print("Ringdesk demo tenant is ready. Logins:")
    for line in lines:
        print("  " + line)


def _bind(host: str, port: int) -> socket.socket:
    """Bind the HTTP socket ourselves, so port 0 works and the real port can be reported."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this on Linux. Without it, a keep-alive client waits ~40 ms
    # per response: the server writes headers and body separately and Nagle holds the second.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve(settings: config.Settings, log_level: str) -> None:
    import uvicorn
    import uvloop

    from ringdesk.runtime import Runtime
    from ringdesk.web.app import create_app

    _migrate(settings)  # idempotent; a fresh checkout then only needs `ringdesk serve`
    sock = _bind(settings.http_host, settings.http_port)
    runtime = Runtime(settings)
    runtime.preflight()
    runtime.http_port = sock.getsockname()[1]
    web_tls = _tls(settings, runtime)
    app = create_app(runtime)
    uvicorn_config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=log_level == "debug",
        lifespan="on",
        ws_max_size=64 * 1024,
        # Feed messages are small JSON; compressing each one for each of 1,000 sockets
        # cost more CPU than everything else in the fan-out.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,
        # The sans-I/O websockets protocol frames and writes a message in one call: about
        # half the CPU per feed message of the default implementation (bench/ws_fanout.py).
        ws="websockets-sansio",
    )
    uvicorn_config.load()
    uvicorn_config.ssl = web_tls  # our context (ringdesk/tls.py), not uvicorn's defaults
    server = uvicorn.Server(uvicorn_config)
    _redact_secrets()
    # A call allocates thousands of short-lived objects; the default first-generation threshold
    # (700) ran a collection every few hundred of them (6 % of the CPU at 100 calls/s, py-spy).
    gc.set_threshold(20_000, 20, 20)
    # uvloop: less CPU per UDP datagram and per WebSocket write than the standard loop.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(server.serve(sockets=[sock]))


def _tls(settings: config.Settings, runtime: Runtime) -> ssl.SSLContext | None:
    """The certificate (configured, or the self-signed one made for the demo) for HTTPS and SIP
    over TLS when either is on; hands the SIP context to the runtime and says what is served
    how, with the certificate's fingerprint for the admin to compare."""
    from ringdesk import tls
    from ringdesk.store import cti_config

    scheme = "https" if settings.serves_https else "http"
    web = f"{scheme}://{_url_host(settings.http_host)}:{runtime.http_port}/"
    runtime.http_scheme = scheme
    if not settings.serves_https and settings.sip_tls_port is None:
        log.info("web on %s (plain HTTP); SIP over TLS off", web)
        return None
    with runtime.db() as db:
        domain = cti_config.get(db).sip_domain
    names = [domain, "localhost", "127.0.0.1", "::1", settings.http_host, settings.sip_host]
    names.append(socket.gethostname())
    try:
        cert = tls.certificate(settings.data_dir, settings.tls_cert, settings.tls_key, names)
        context = tls.context(cert.cert, cert.key)
    except tls.TlsError as exc:
        raise SystemExit(f"cannot start: {exc}") from exc
    if settings.sip_tls_port is not None:
        runtime.sip_tls = context
    if not settings.serves_https and not is_loopback(settings.http_host):
        log.warning("web on %s: plain HTTP on a public address (--insecure-http)", web)
    else:
        log.info("web on %s", web)
    log.info("TLS: %s", cert.describe())
    return context if settings.serves_https else None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# Bearer tokens as they can appear in a log line: a WebSocket auth frame (logged at debug), an
# Authorization header, a token in a query string sent by an old client.
_SECRET = re.compile(
    r"""("token"\s*:\s*")[^"]+|(authorization:\s*bearer\s+)[^\s'"]+|([?&]token=)[^&\s'"]+""",
    re.IGNORECASE,
)


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _SECRET.sub(lambda m: (m[1] or m[2] or m[3]) + "[redacted]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _redact_secrets() -> None:
    """Keep tokens out of every log line, debug included (uvicorn has set its handlers up)."""
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(_Redact())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Everything the service writes (the database, the secret key, sounds, recordings, the
    # registrations) is for the service user alone, whatever umask it was started with.
    os.umask(0o077)
    settings = config.load(args)
    level = str(getattr(args, "log_level", "warning")).upper()
    logging.basicConfig(
        level=getattr(logging, level), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "migrate":
        _migrate(settings)
        print(f"database is up to date: {_safe_url(settings.effective_database_url)}")
    elif args.command == "demo":
        _demo(settings)
    else:
        try:
            _serve(settings, args.log_level)
        except SecretKeyError as exc:
            log.error("cannot start: %s", exc)
            return 2
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
