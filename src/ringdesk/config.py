"""Server settings from command-line flags and RINGDESK_* environment variables.

Flags win over the environment, the environment over the defaults, so a test can pin one value
with a flag while the rest comes from the developer's shell.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8080
DEFAULT_SIP_HOST = "127.0.0.1"
DEFAULT_SIP_PORT = 5060
DEFAULT_DATA_DIR = "./var"

# The SIP gate (switch/gate.py): flag -> (environment variable, default). Rates are requests
# per second per source address, with a burst of three seconds' worth.
SIP_GATE_NUMBERS: dict[str, tuple[str, float]] = {
    "sip_rate_register": ("RINGDESK_SIP_RATE_REGISTER", 20.0),
    "sip_rate_invite": ("RINGDESK_SIP_RATE_INVITE", 20.0),
    "sip_rate_options": ("RINGDESK_SIP_RATE_OPTIONS", 5.0),
    "sip_rate_other": ("RINGDESK_SIP_RATE_OTHER", 100.0),
    "sip_auth_failures": ("RINGDESK_SIP_AUTH_FAILURES", 10),
    "sip_auth_window": ("RINGDESK_SIP_AUTH_WINDOW", 60.0),
    "sip_flood_excess": ("RINGDESK_SIP_FLOOD_EXCESS", 200),
    "sip_ban_seconds": ("RINGDESK_SIP_BAN_SECONDS", 600.0),
    # SIP over TCP/TLS connections (transport.py): open ones per source address and in all,
    # seconds to finish a message, to stay silent without a registration or call, for a TLS
    # handshake; refused or timed-out connections within a minute that ban the source.
    "sip_conn_per_source": ("RINGDESK_SIP_CONN_PER_SOURCE", 20),
    "sip_conn_total": ("RINGDESK_SIP_CONN_TOTAL", 2000),
    "sip_message_timeout": ("RINGDESK_SIP_MESSAGE_TIMEOUT", 30.0),
    "sip_conn_idle": ("RINGDESK_SIP_CONN_IDLE", 60.0),
    "sip_tls_handshake_timeout": ("RINGDESK_SIP_TLS_HANDSHAKE_TIMEOUT", 10.0),
    "sip_conn_strikes": ("RINGDESK_SIP_CONN_STRIKES", 20),
}
# The web edge (docs/security.md, "The web edge"): idle and absolute session lifetimes, and how
# many failed logins per account and per client address a window allows.
DEFAULT_SESSION_IDLE = 8 * 3600.0
DEFAULT_SESSION_ABSOLUTE = 24 * 3600.0
DEFAULT_LOGIN_WINDOW = 15 * 60.0
DEFAULT_LOGIN_ACCOUNT_FAILURES = 5
DEFAULT_LOGIN_ADDRESS_FAILURES = 20
SRTP_MODES = ("off", "tls", "always")  # when our offers are SRTP (switch/srtp.py)
# TLS (ringdesk/tls.py, docs/security.md "TLS"): HTTPS is "auto" (on unless the web server binds
# a loopback address), "on" (--https) or "off" (--insecure-http, for a TLS proxy in front).
HTTPS_MODES = ("auto", "on", "off")


@dataclass(frozen=True, slots=True)
class Settings:
    http_host: str = DEFAULT_HTTP_HOST
    http_port: int = DEFAULT_HTTP_PORT
    sip_host: str = DEFAULT_SIP_HOST
    sip_port: int = DEFAULT_SIP_PORT
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str = ""
    sip_gate: bool = True
    sip_rate_register: float = 20.0
    sip_rate_invite: float = 20.0
    sip_rate_options: float = 5.0
    sip_rate_other: float = 100.0
    sip_auth_failures: int = 10
    sip_auth_window: float = 60.0
    sip_flood_excess: int = 200
    sip_ban_seconds: float = 600.0
    sip_trusted: tuple[str, ...] = ()
    sip_conn_per_source: int = 20
    sip_conn_total: int = 2000
    sip_message_timeout: float = 30.0
    sip_conn_idle: float = 60.0
    sip_tls_handshake_timeout: float = 10.0
    sip_conn_strikes: int = 20
    media_timeout: float = 60.0  # seconds without RTP/RTCP from an answered leg; 0: never
    # RFC 4028 Session-Expires we offer and accept at most (switch/session_timer.py); 0: off
    sip_session_expires: float = 1800.0
    session_idle_seconds: float = DEFAULT_SESSION_IDLE
    session_absolute_seconds: float = DEFAULT_SESSION_ABSOLUTE
    login_window_seconds: float = DEFAULT_LOGIN_WINDOW
    login_account_failures: int = DEFAULT_LOGIN_ACCOUNT_FAILURES
    login_address_failures: int = DEFAULT_LOGIN_ADDRESS_FAILURES
    # --admin-totp required: an admin without two-step sign-in can only set it up (web/auth.py)
    admin_totp_required: bool = False
    # SRTP in our own offers (switch/srtp.py): to the agents' phones, to the trunk.
    srtp_phones: str = "tls"
    srtp_trunk: str = "tls"
    tls_cert: Path | None = None  # PEM certificate (chain); None: the generated self-signed one
    tls_key: Path | None = None
    sip_tls_port: int | None = None  # None: no SIP over TLS; 0: any free port
    https: str = "auto"

    @property
    def serves_https(self) -> bool:
        """Whether the web server speaks HTTPS: always with "on", never with "off", and with
        "auto" unless it listens on a loopback address only."""
        if self.https == "auto":
            return not is_loopback(self.http_host)
        return self.https == "on"

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ringdesk.db').resolve()}"


def add_arguments(parser: argparse.ArgumentParser, *, network: bool) -> None:
    """Flags shared by the sub-commands; `network` adds the listening addresses."""
    parser.add_argument("--data-dir", help="where the database and sounds live (./var)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in the data dir)")
    if network:
        parser.add_argument("--http-host")
        parser.add_argument("--http-port", type=int)
        parser.add_argument("--sip-host")
        parser.add_argument("--sip-port", type=int)
        parser.add_argument(
            "--sip-gate", choices=("on", "off"), help="SIP rate limits and bans (on)"
        )
        for flag, (_var, default) in SIP_GATE_NUMBERS.items():
            parser.add_argument("--" + flag.replace("_", "-"), type=float, help=f"({default:g})")
        parser.add_argument(
            "--sip-trusted", help="comma-separated addresses (ip or ip:port) never limited"
        )
        parser.add_argument(
            "--media-timeout", type=float, help="seconds of no audio that end a call (60; 0: off)"
        )
        parser.add_argument(
            "--sip-session-expires",
            type=float,
            help="RFC 4028 session timer: seconds a call lasts unrefreshed (1800; 0: off)",
        )
        parser.add_argument("--session-idle", help="seconds without a request that end a session")
        parser.add_argument("--session-absolute", help="seconds after login that end a session")
        parser.add_argument("--login-window", help="seconds over which failed logins count")
        parser.add_argument("--login-account-failures", help="failed logins per account")
        parser.add_argument("--login-address-failures", help="failed logins per client address")
        parser.add_argument(
            "--admin-totp",
            choices=ADMIN_TOTP_MODES,
            help="two-step sign-in for admins: optional (default), or required before admin work",
        )
        for flag, whom in (("--srtp-phones", "the agents' phones"), ("--srtp-trunk", "the trunk")):
            parser.add_argument(
                flag,
                choices=SRTP_MODES,
                help=f"SRTP in our offers to {whom}: off, tls (over SIP TLS only; default), always",
            )
        parser.add_argument("--tls-cert", help="PEM certificate for HTTPS and SIP over TLS")
        parser.add_argument("--tls-key", help="its PEM private key (default: self-signed, made)")
        parser.add_argument(
            "--sip-tls-port", help="SIP over TLS port (the SIP port + 1, 5061; 0 or off: none)"
        )
        https = parser.add_mutually_exclusive_group()
        https.add_argument(
            "--https",
            dest="https",
            action="store_const",
            const="on",
            help="serve HTTPS even on a loopback address",
        )
        https.add_argument(
            "--insecure-http",
            dest="https",
            action="store_const",
            const="off",
            help="serve plain HTTP on any address (only behind a TLS-terminating proxy)",
        )


def _srtp_mode(value: str, name: str) -> str:
    mode = value.strip().lower()
    if mode not in SRTP_MODES:
        raise SystemExit(f"{name} must be off, tls or always, got {value!r}")
    return mode


def _port(value: str, name: str) -> int:
    try:
        port = int(value)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a port number, got {value!r}") from exc
    if not 0 <= port <= 65535:
        raise SystemExit(f"{name} must be between 0 and 65535, got {port}")
    return port


def _number(
    value: str, name: str, kind: type[int] | type[float] = float, *, zero_is_off: bool = False
) -> float:
    """A positive number (an int where `kind` says so); with zero_is_off, 0 too (off)."""
    try:
        number = kind(value)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {value!r}") from exc
    if zero_is_off and number == 0:
        return number
    if not number > 0:
        floor = "0 (off) or more" if zero_is_off else "greater than 0"
        raise SystemExit(f"{name} must be {floor}, got {value!r}")
    return number


def _switch(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no"):
        return False
    raise SystemExit(f"{name} must be on or off, got {value!r}")


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def _tls_port(value: str | None, sip_port: int) -> int | None:
    """None (off) for 0 or off; unset: the SIP port + 1 (5061), any free port if that is 0."""
    if value is None or value == "":
        return sip_port + 1 if 0 < sip_port < 65535 else 0
    if value.strip().lower() in ("0", "off"):
        return None
    port = _port(value, "RINGDESK_SIP_TLS_PORT")
    return port


def _https(value: str) -> str:
    mode = value.strip().lower()
    if mode not in HTTPS_MODES:
        raise SystemExit(f"RINGDESK_HTTPS must be auto, on or off, got {value!r}")
    return mode


ADMIN_TOTP_MODES = ("optional", "required")


def _admin_totp(value: str) -> bool:
    mode = value.strip().lower()
    if mode not in ADMIN_TOTP_MODES:
        raise SystemExit(f"RINGDESK_ADMIN_TOTP must be optional or required, got {value!r}")
    return mode == "required"


def load(args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Merge flags (if given), environment and defaults into Settings."""
    env = os.environ if env is None else env

    def pick(flag: str, var: str, default: str) -> str:
        value = getattr(args, flag, None) if args is not None else None
        if value is not None:
            return str(value)
        return env.get(var) or default

    numbers = {
        flag: _number(pick(flag, var, str(default)), var)
        for flag, (var, default) in SIP_GATE_NUMBERS.items()
    }
    trusted = pick("sip_trusted", "RINGDESK_SIP_TRUSTED", "")
    sip_port = _port(
        pick("sip_port", "RINGDESK_SIP_PORT", str(DEFAULT_SIP_PORT)), "RINGDESK_SIP_PORT"
    )
    tls_cert = pick("tls_cert", "RINGDESK_TLS_CERT", "")
    tls_key = pick("tls_key", "RINGDESK_TLS_KEY", "")
    return Settings(
        sip_gate=_switch(pick("sip_gate", "RINGDESK_SIP_GATE", "on"), "RINGDESK_SIP_GATE"),
        sip_rate_register=numbers["sip_rate_register"],
        sip_rate_invite=numbers["sip_rate_invite"],
        sip_rate_options=numbers["sip_rate_options"],
        sip_rate_other=numbers["sip_rate_other"],
        sip_auth_failures=int(numbers["sip_auth_failures"]),
        sip_auth_window=numbers["sip_auth_window"],
        sip_flood_excess=int(numbers["sip_flood_excess"]),
        sip_ban_seconds=numbers["sip_ban_seconds"],
        sip_trusted=tuple(t.strip() for t in trusted.split(",") if t.strip()),
        sip_conn_per_source=int(numbers["sip_conn_per_source"]),
        sip_conn_total=int(numbers["sip_conn_total"]),
        sip_message_timeout=numbers["sip_message_timeout"],
        sip_conn_idle=numbers["sip_conn_idle"],
        sip_tls_handshake_timeout=numbers["sip_tls_handshake_timeout"],
        sip_conn_strikes=int(numbers["sip_conn_strikes"]),
        media_timeout=_number(
            pick("media_timeout", "RINGDESK_MEDIA_TIMEOUT", "60"),
            "RINGDESK_MEDIA_TIMEOUT",
            zero_is_off=True,
        ),
        sip_session_expires=_number(
            pick("sip_session_expires", "RINGDESK_SIP_SESSION_EXPIRES", "1800"),
            "RINGDESK_SIP_SESSION_EXPIRES",
            zero_is_off=True,
        ),
        http_host=pick("http_host", "RINGDESK_HTTP_HOST", DEFAULT_HTTP_HOST),
        http_port=_port(
            pick("http_port", "RINGDESK_HTTP_PORT", str(DEFAULT_HTTP_PORT)), "RINGDESK_HTTP_PORT"
        ),
        sip_host=pick("sip_host", "RINGDESK_SIP_HOST", DEFAULT_SIP_HOST),
        sip_port=sip_port,
        tls_cert=Path(tls_cert) if tls_cert else None,
        tls_key=Path(tls_key) if tls_key else None,
        sip_tls_port=_tls_port(pick("sip_tls_port", "RINGDESK_SIP_TLS_PORT", "") or None, sip_port),
        https=_https(pick("https", "RINGDESK_HTTPS", "auto")),
        data_dir=Path(pick("data_dir", "RINGDESK_DATA_DIR", DEFAULT_DATA_DIR)),
        srtp_phones=_srtp_mode(
            pick("srtp_phones", "RINGDESK_SRTP_PHONES", "tls"), "RINGDESK_SRTP_PHONES"
        ),
        srtp_trunk=_srtp_mode(
            pick("srtp_trunk", "RINGDESK_SRTP_TRUNK", "tls"), "RINGDESK_SRTP_TRUNK"
        ),
        database_url=pick("database_url", "RINGDESK_DATABASE_URL", ""),
        session_idle_seconds=_number(
            pick("session_idle", "RINGDESK_SESSION_IDLE", str(DEFAULT_SESSION_IDLE)),
            "RINGDESK_SESSION_IDLE",
            float,
        ),
        session_absolute_seconds=_number(
            pick("session_absolute", "RINGDESK_SESSION_ABSOLUTE", str(DEFAULT_SESSION_ABSOLUTE)),
            "RINGDESK_SESSION_ABSOLUTE",
            float,
        ),
        login_window_seconds=_number(
            pick("login_window", "RINGDESK_LOGIN_WINDOW", str(DEFAULT_LOGIN_WINDOW)),
            "RINGDESK_LOGIN_WINDOW",
            float,
        ),
        login_account_failures=int(
            _number(
                pick(
                    "login_account_failures",
                    "RINGDESK_LOGIN_ACCOUNT_FAILURES",
                    str(DEFAULT_LOGIN_ACCOUNT_FAILURES),
                ),
                "RINGDESK_LOGIN_ACCOUNT_FAILURES",
                int,
            )
        ),
        login_address_failures=int(
            _number(
                pick(
                    "login_address_failures",
                    "RINGDESK_LOGIN_ADDRESS_FAILURES",
                    str(DEFAULT_LOGIN_ADDRESS_FAILURES),
                ),
                "RINGDESK_LOGIN_ADDRESS_FAILURES",
                int,
            )
        ),
        admin_totp_required=_admin_totp(pick("admin_totp", "RINGDESK_ADMIN_TOTP", "optional")),
    )
