"""`ringdesk serve | check | migrate | demo`."""

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
    import uvicorn

    from ringdesk.runtime import Runtime


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ringdesk", description="Self-hosted contact center")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web server and the SIP switch")
    config.add_arguments(serve, network=True)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    check = sub.add_parser("check", help="say what is wrong with a configuration, start nothing")
    config.add_arguments(check, network=True)
    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    config.add_arguments(migrate, network=False)
    demo = sub.add_parser("demo", help="create the demo tenant (safe to run again)")
    config.add_arguments(demo, network=False)
    _demo_peers(demo)
    return parser


def _demo_peers(demo: argparse.ArgumentParser) -> None:
    """`ringdesk demo caller NUMBER` and `ringdesk demo trunk`: a customer's phone and a trunk
    for trying the demo with nothing else installed (docs/guide/README.md)."""
    peers = demo.add_subparsers(dest="demo_command", metavar="{caller,trunk}")
    caller = peers.add_parser(
        "caller", help="call NUMBER as a customer (from the demo trunk's address, with audio)"
    )
    caller.add_argument("number", help="the number to call, e.g. 5550100 (the demo service)")
    caller.add_argument("--from", dest="caller", default="5551234", help="the customer's number")
    caller.add_argument(
        "--keys", default="", help="DTMF keys to press once answered (RFC 4733), e.g. 12#"
    )
    trunk = peers.add_parser(
        "trunk", help="answer the demo's outbound calls (Dial up) as a loopback trunk"
    )
    for peer in (caller, trunk):
        peer.add_argument(
            "--server", default="127.0.0.1:5060", help="the switch's SIP address (host:port)"
        )
        peer.add_argument(
            "--bind",
            default="127.0.0.1:5080",
            help="our SIP address: the demo trunk's (trusted by the demo) unless it is changed",
        )
        peer.add_argument("--seconds", type=float, default=None, help="hang up after this long")
        peer.add_argument("--wav", type=str, default=None, help="play this WAV instead of a tone")
    trunk.add_argument("--echo", action="store_true", help="send the agent's audio back")


def _demo_peer(args: argparse.Namespace) -> int:
    """Run the caller or the trunk until the call ends or Ctrl-C (then BYE or CANCEL)."""
    import signal
    from pathlib import Path

    from ringdesk.demo.phone import DemoPhone, parse_hostport

    host, port = parse_hostport(args.bind, 5080)
    server = parse_hostport(args.server, 5060)
    wav = Path(args.wav) if args.wav else None
    answered = False

    def say(line: str) -> None:
        nonlocal answered
        answered = answered or "answered" in line
        print(line, flush=True)

    async def run() -> None:
        phone = DemoPhone(
            host=host,
            port=port,
            say=say,
            wav=wav,
            echo=getattr(args, "echo", False),
            hang_up_after=args.seconds,
        )
        try:
            await phone.start()
        except OSError as exc:
            raise SystemExit(f"cannot listen on {host}:{port}: {exc}") from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            if args.demo_command == "caller":
                call = await phone.call(args.number, server, args.caller)
                phone.send_keys(call, args.keys)
                waiter = asyncio.ensure_future(call.done.wait())
            else:
                print(f"demo trunk on {host}:{port}: waiting for calls (Ctrl-C ends)", flush=True)
                waiter = asyncio.ensure_future(asyncio.Event().wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait([waiter, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in (waiter, stopper):
                task.cancel()
            phone.hang_up_all()
            await asyncio.sleep(0.2)  # let the BYE leave
        finally:
            phone.close()

    asyncio.run(run())
    return 0 if answered or args.demo_command == "trunk" else 1


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
    runtime.trunk_tls = _trunk_tls(settings)
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
        runner.run(_serve_and_announce(server, sock, settings, runtime))


async def _serve_and_announce(
    server: uvicorn.Server, sock: socket.socket, settings: config.Settings, runtime: Runtime
) -> None:
    """Serve; once the web server and the switch are up, say where to go, on stdout."""
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.started:
        print(_banner(settings, runtime), flush=True)
    await task


def _banner(settings: config.Settings, runtime: Runtime) -> str:
    """The URL to open and the SIP registrar's address, as someone elsewhere reaches them."""

    def reachable(host: str) -> str:
        if host in ("0.0.0.0", "::", ""):
            return socket.gethostname()  # every address of this machine: name one
        return _url_host(host)

    web = f"{runtime.http_scheme}://{reachable(settings.http_host)}:{runtime.http_port}/"
    sip_host = settings.sip_external or reachable(settings.sip_host)
    tls_port = runtime.switch.tls_port
    tls = f", TLS {sip_host}:{tls_port}" if tls_port is not None else ""
    from ringdesk.store import cti_config

    with runtime.db() as db:
        domain = cti_config.get(db).sip_domain
    return (
        f"Ringdesk is running. Open {web} in a browser.\n"
        f"SIP registrar: {sip_host}:{runtime.switch.local_port} (UDP and TCP{tls}), "
        f"SIP domain {domain}: phones register there with a CTI ID and phone password."
    )


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


def _trunk_tls(settings: config.Settings) -> ssl.SSLContext:
    """The context that verifies the trunks' TLS certificates: the system's CAs and those of
    --trunk-ca-file; a file that cannot be used stops the start with the reason."""
    from ringdesk import tls

    try:
        return tls.client_context(settings.trunk_ca_file)
    except tls.TlsError as exc:
        raise SystemExit(f"cannot start: {exc}") from exc


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# Bearer tokens as they can appear in a log line: a WebSocket auth frame (logged at debug), an
# Authorization header, a token in a query string sent by an old client.
_SECRET = re.compile(
    r"""("token"\s*:\s*")[^"]+|(authorization:\s*bearer\s+)[^\s'"]+|([?&](?:token|ticket)=)[^&\s'"]+""",
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
    if args.command == "demo" and getattr(args, "demo_command", None):
        return _demo_peer(args)
    # Everything the service writes (the database, the secret key, sounds, recordings, the
    # registrations) is for the service user alone, whatever umask it was started with.
    os.umask(0o077)
    if args.command == "check":
        from ringdesk import check

        problems = check.run(args)
        print(check.report(problems))
        return 1 if problems else 0
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
