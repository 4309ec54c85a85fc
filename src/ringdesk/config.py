"""Server settings from command-line flags, RINGDESK_* environment variables and a TOML file.

Flags win over the environment, the environment over the file (`--config`, RINGDESK_CONFIG),
the file over the defaults, so a test can pin one value with a flag while the rest comes from
the developer's shell. The file's keys are the names of the Settings fields (see `read_file`).
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import re
import tomllib
import types
import typing
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8080
DEFAULT_SIP_HOST = "127.0.0.1"
DEFAULT_SIP_PORT = 5060
DEFAULT_DATA_DIR = "./var"
DEFAULT_RTP_PORTS = (20000, 40000)

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
    # OPTIONS to phones registered over UDP every N s, to keep NAT mappings open; 0: off
    sip_keepalive: float = 25.0
    # The shortest registration (Expires) the registrar accepts; shorter ones get 423
    sip_min_expires: int = 60
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
    # Addresses (switch/addresses.py): RTP bind address ("": the SIP one), the address
    # advertised outside the local networks for SIP and for media ("": none; media: the SIP
    # one), the local networks (CIDR), the RTP port range (even RTP ports, RTCP on RTP + 1).
    rtp_host: str = ""
    sip_external: str = ""
    media_external: str = ""
    local_nets: tuple[str, ...] = ()
    rtp_ports: tuple[int, int] = DEFAULT_RTP_PORTS
    # DNS servers for the trunk's RFC 3263 lookups (switch/dns.py); (): /etc/resolv.conf
    dns_servers: tuple[tuple[str, int], ...] = ()
    # CAs trusted for TLS to trunks besides the system's (PEM bundle; ringdesk/tls.py)
    trunk_ca_file: Path | None = None

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
    parser.add_argument(
        "--config", help="a TOML settings file (RINGDESK_CONFIG); flags and environment win"
    )
    parser.add_argument("--data-dir", help="where the database and sounds live (./var)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in the data dir)")
    if network:
        parser.add_argument("--http-host")
        parser.add_argument("--http-port", type=int)
        parser.add_argument("--sip-host")
        parser.add_argument("--sip-port", type=int)
        parser.add_argument("--rtp-host", help="RTP bind address (the SIP host; '::': dual stack)")
        parser.add_argument(
            "--sip-external", help="address advertised in Contact/Via outside --local-net"
        )
        parser.add_argument(
            "--media-external", help="address advertised in SDP outside --local-net (SIP's)"
        )
        parser.add_argument(
            "--local-net", dest="local_nets", help="comma-separated CIDR networks that are local"
        )
        parser.add_argument("--rtp-ports", help="RTP port range, e.g. 10000-20000 (20000-40000)")
        parser.add_argument(
            "--dns-servers", help="comma-separated DNS servers ip[:port] (/etc/resolv.conf)"
        )
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
            "--sip-min-expires",
            type=int,
            help="shortest phone registration accepted, seconds (60; shorter: 423)",
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
        parser.add_argument(
            "--trunk-ca-file", help="PEM CA bundle trusted for TLS to trunks (and the system's)"
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


def _address(value: str, name: str) -> str:
    """An IP address literal ('' stays unset); brackets around IPv6 are dropped."""
    text = value.strip().strip("[]")
    if not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise SystemExit(f"{name} must be an IP address, got {value!r}") from exc


def _networks(value: str, name: str) -> tuple[str, ...]:
    nets: list[str] = []
    for part in value.split(","):
        if not part.strip():
            continue
        try:
            nets.append(str(ipaddress.ip_network(part.strip(), strict=False)))
        except ValueError as exc:
            raise SystemExit(f"{name}: {part.strip()!r} is not a network (CIDR)") from exc
    return tuple(nets)


def _port_range(value: str, name: str) -> tuple[int, int]:
    low, sep, high = value.strip().partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise SystemExit(f"{name} must be two ports as LOW-HIGH, got {value!r}")
    first, last = int(low), int(high)
    if not 1024 <= first < last <= 65535 or last - first < 3:
        raise SystemExit(
            f"{name} must lie within 1024-65535 and hold at least two even ports, got {value!r}"
        )
    return first, last


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


def _dns_servers(value: str) -> tuple[tuple[str, int], ...]:
    """RINGDESK_DNS_SERVERS: "ip[:port], [v6]:port"; empty: the system's resolv.conf."""
    servers: list[tuple[str, int]] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, port_text = item, "53"
        if item.startswith("[") and "]" in item:
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ("" if rest else "53")
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
        try:
            address = str(ipaddress.ip_address(host))
            port = int(port_text)
        except ValueError:
            address, port = "", 0
        if not address or not 0 < port < 65536:
            raise SystemExit(f"RINGDESK_DNS_SERVERS must be ip[:port] entries, got {item!r}")
        servers.append((address, port))
    return tuple(servers)


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
    """Merge flags (if given), environment, the config file and defaults into Settings."""
    env = os.environ if env is None else env
    path = config_path(args, env)
    if path is not None:
        # The file's values go in below the environment, as the environment variables they
        # stand for, so they are checked by the same code as the environment's.
        from_file = read_file(path)
        env = ChainMap(dict(env), {env_name(k): v for k, v in from_file.items()})
    else:
        from_file = {}

    def pick(flag: str, var: str, default: str) -> str:
        value = getattr(args, flag, None) if args is not None else None
        if value is not None:
            return str(value)
        # A file key is found by its environment variable or by the flag's name.
        return env.get(var) or from_file.get(flag) or default

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
    trunk_ca_file = pick("trunk_ca_file", "RINGDESK_TRUNK_CA_FILE", "")
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
        sip_keepalive=_number(
            pick("sip_keepalive", "RINGDESK_SIP_KEEPALIVE", "25"),
            "RINGDESK_SIP_KEEPALIVE",
            zero_is_off=True,
        ),
        sip_min_expires=int(
            _number(
                pick("sip_min_expires", "RINGDESK_SIP_MIN_EXPIRES", "60"),
                "RINGDESK_SIP_MIN_EXPIRES",
                int,
            )
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
        rtp_host=_address(pick("rtp_host", "RINGDESK_RTP_HOST", ""), "RINGDESK_RTP_HOST"),
        sip_external=_address(
            pick("sip_external", "RINGDESK_SIP_EXTERNAL", ""), "RINGDESK_SIP_EXTERNAL"
        ),
        media_external=_address(
            pick("media_external", "RINGDESK_MEDIA_EXTERNAL", ""), "RINGDESK_MEDIA_EXTERNAL"
        ),
        local_nets=_networks(pick("local_nets", "RINGDESK_LOCAL_NET", ""), "RINGDESK_LOCAL_NET"),
        dns_servers=_dns_servers(pick("dns_servers", "RINGDESK_DNS_SERVERS", "")),
        rtp_ports=_port_range(
            pick("rtp_ports", "RINGDESK_RTP_PORTS", "{}-{}".format(*DEFAULT_RTP_PORTS)),
            "RINGDESK_RTP_PORTS",
        ),
        tls_cert=Path(tls_cert) if tls_cert else None,
        tls_key=Path(tls_key) if tls_key else None,
        trunk_ca_file=Path(trunk_ca_file) if trunk_ca_file else None,
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


# --- The TOML file --------------------------------------------------------------------------
CONFIG_ENV = "RINGDESK_CONFIG"
# Fields whose environment variable is not RINGDESK_ + the field's name in capitals.
_ENV_NAMES = {
    "session_idle_seconds": "RINGDESK_SESSION_IDLE",
    "session_absolute_seconds": "RINGDESK_SESSION_ABSOLUTE",
    "login_window_seconds": "RINGDESK_LOGIN_WINDOW",
    "admin_totp_required": "RINGDESK_ADMIN_TOTP",
    "local_nets": "RINGDESK_LOCAL_NET",
}
# How a boolean field is spelled in its environment variable when it is not on/off.
_BOOL_WORDS = {"admin_totp_required": ("required", "optional")}


class ConfigError(SystemExit):
    """A config file that cannot be used; the message names the file, the key and its line."""


def config_path(args: argparse.Namespace | None, env: Mapping[str, str]) -> Path | None:
    flag = getattr(args, "config", None) if args is not None else None
    value = flag or env.get(CONFIG_ENV, "")
    return Path(value) if value else None


def env_name(field: str) -> str:
    """The environment variable that sets a Settings field."""
    return _ENV_NAMES.get(field, "RINGDESK_" + field.upper())


def _file_type(hint: Any) -> Any:
    """The type a field's value has in TOML: a path is a string, a tuple an array."""
    if hint is Path:
        return str
    origin = typing.get_origin(hint)
    if origin is tuple:
        items = typing.get_args(hint)
        if len(items) == 2 and items[1] is Ellipsis:
            # an array of numbers or strings; of anything else, each item as the
            # environment spells it ("192.0.2.53:53")
            item = items[0] if items[0] in (str, int, float) else str
            return types.GenericAlias(list, (item,))
        return str  # a fixed group, as the environment spells it: rtp_ports = "10000-20000"
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_file_type(a) for a in typing.get_args(hint))]  # noqa: UP007
    return hint


def _file_model() -> type[pydantic.BaseModel]:
    hints = typing.get_type_hints(Settings)
    fields: dict[str, Any] = {
        f.name: (_file_type(hints[f.name]) | None, None) for f in dataclasses.fields(Settings)
    }
    return pydantic.create_model(
        "ConfigFile",
        __config__=pydantic.ConfigDict(extra="forbid", strict=True),
        **fields,
    )


def _flatten(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """Top-level keys are field names; a table [http] with `port` stands for `http_port`."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, item in value.items():
                if isinstance(item, dict):
                    raise ConfigError(f"{path}: [{key}.{sub}]: tables are one level deep only")
                flat[f"{key}_{sub}"] = item
        else:
            flat[key] = value
    return flat


def _line_of(text: str, key: str) -> str:
    """' (line N)' where the file sets `key` (as `key =` or as `sub =` in its table)."""
    table = ""
    candidates: list[str] = [key]
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([A-Za-z0-9_-]+)\s*\]", stripped)
        if header:
            table = header[1]
            continue
        match = re.match(r"([A-Za-z0-9_-]+)\s*=", stripped)
        if match is None:
            continue
        name = f"{table}_{match[1]}" if table else match[1]
        if name in candidates:
            return f" (line {number})"
    return ""


def _env_text(field: str, value: Any) -> str:
    if isinstance(value, bool):
        yes, no = _BOOL_WORDS.get(field, ("on", "off"))
        return yes if value else no
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def read_file(path: Path) -> dict[str, str]:
    """The file's settings by field name, as the text their environment variables would hold.
    Unknown keys and values of the wrong type raise ConfigError naming the key and its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    flat = _flatten(data, path)
    try:
        checked = _file_model().model_validate(flat)
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else "?"
            where = _line_of(text, key)
            if error["type"] == "extra_forbidden":
                problems.append(f"{key}{where}: not a setting")
            else:
                given = flat.get(key)
                problems.append(f"{key}{where}: {error['msg'].lower()}, got {given!r}")
        raise ConfigError(f"{path}: " + "; ".join(problems)) from exc
    return {
        name: _env_text(name, value)
        for name, value in checked.model_dump(exclude_unset=True).items()
        if value is not None
    }
