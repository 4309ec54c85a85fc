"""Server settings from command-line flags and RINGDESK_* environment variables.

Flags win over the environment, the environment over the defaults, so a test can pin one value
with a flag while the rest comes from the developer's shell.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8080
DEFAULT_SIP_HOST = "127.0.0.1"
DEFAULT_SIP_PORT = 5060
DEFAULT_DATA_DIR = "./var"


@dataclass(frozen=True, slots=True)
class Settings:
    http_host: str = DEFAULT_HTTP_HOST
    http_port: int = DEFAULT_HTTP_PORT
    sip_host: str = DEFAULT_SIP_HOST
    sip_port: int = DEFAULT_SIP_PORT
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str = ""

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


def _port(value: str, name: str) -> int:
    try:
        port = int(value)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a port number, got {value!r}") from exc
    if not 0 <= port <= 65535:
        raise SystemExit(f"{name} must be between 0 and 65535, got {port}")
    return port


def load(args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Merge flags (if given), environment and defaults into Settings."""
    env = os.environ if env is None else env

    def pick(flag: str, var: str, default: str) -> str:
        value = getattr(args, flag, None) if args is not None else None
        if value is not None:
            return str(value)
        return env.get(var) or default

    return Settings(
        http_host=pick("http_host", "RINGDESK_HTTP_HOST", DEFAULT_HTTP_HOST),
        http_port=_port(
            pick("http_port", "RINGDESK_HTTP_PORT", str(DEFAULT_HTTP_PORT)), "RINGDESK_HTTP_PORT"
        ),
        sip_host=pick("sip_host", "RINGDESK_SIP_HOST", DEFAULT_SIP_HOST),
        sip_port=_port(
            pick("sip_port", "RINGDESK_SIP_PORT", str(DEFAULT_SIP_PORT)), "RINGDESK_SIP_PORT"
        ),
        data_dir=Path(pick("data_dir", "RINGDESK_DATA_DIR", DEFAULT_DATA_DIR)),
        database_url=pick("database_url", "RINGDESK_DATABASE_URL", ""),
    )
