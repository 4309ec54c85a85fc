"""Secrets at rest: the phone passwords, the trunk password and the TOTP seeds are stored
encrypted (Fernet: AES-128-CBC with an HMAC-SHA256, from `cryptography`), so a copy of the
database (a backup, a dump, a stolen disk) does not give away the SIP credentials.

The key comes from `RINGDESK_SECRET_KEY` (one or more Fernet keys, comma-separated: the first
encrypts, every one decrypts, which is how a key is rotated) or else from `secret.key` in the
data directory, created on first use and readable by the service user only.

A column declared `Sealed(n)` is encrypted on the way in and decrypted on the way out by the
engine it is used through: `attach(engine, box)` gives an engine its key. An engine without one
refuses to read or write such a column, rather than store a secret in clear.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

KEY_ENV = "RINGDESK_SECRET_KEY"
KEY_FILE = "secret.key"
PREFIX = "fernet:"
"""Stored values start with this, so a value written in clear by an old version is told apart."""
_DIALECT_ATTR = "_ringdesk_secret_box"
SEALED_LENGTH = 400
"""The stored length of a sealed secret of up to 128 characters (about 275), with room."""


class SecretKeyError(RuntimeError):
    """The key is missing, malformed or not the one the database was written with."""


class SecretBox:
    """Seals and opens the stored secrets with the configured key(s)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("no secret key given")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError as exc:
            raise SecretKeyError(
                f"{KEY_ENV} must be Fernet keys (32 url-safe base64 bytes), comma-separated"
            ) from exc

    @classmethod
    def generate(cls) -> SecretBox:
        return cls([Fernet.generate_key()])

    def seal(self, clear: str) -> str:
        return PREFIX + self._fernet.encrypt(clear.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written in clear before migration 0007 sealed it
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretKeyError(
                "a stored secret cannot be decrypted: the secret key is not the one this "
                f"database was written with (check {KEY_ENV} or {KEY_FILE} in the data directory)"
            ) from exc


def load_box(data_dir: Path, environ: dict[str, str] | None = None) -> SecretBox:
    """The key from the environment, else the data dir's key file (made on first use)."""
    env = os.environ if environ is None else environ
    configured = env.get(KEY_ENV, "").strip()
    if configured:
        return SecretBox([k.strip().encode() for k in configured.split(",") if k.strip()])
    path = data_dir / KEY_FILE
    try:
        return SecretBox([path.read_bytes().strip()])
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    try:
        # O_EXCL: two processes starting at once (migrate and serve) must not both write a key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SecretBox([path.read_bytes().strip()])
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    return SecretBox([key])


def attach(engine: Engine, box: SecretBox) -> None:
    """Sealed columns used through `engine` are sealed and opened with `box`. The dialect is
    per engine, and it is what a column type is handed, so the key travels with it."""
    setattr(engine.dialect, _DIALECT_ATTR, box)


def box_of(dialect: Dialect) -> SecretBox:
    box = getattr(dialect, _DIALECT_ATTR, None)
    if not isinstance(box, SecretBox):
        raise SecretKeyError("this database engine has no secret key (store.secrets.attach)")
    return box


class Sealed(TypeDecorator[str]):
    """A string column stored encrypted (see the module doc). Its length is the stored form's:
    a Fernet token is about 4/3 * (57 + the clear text rounded up to 16) characters."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return box_of(dialect).seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return box_of(dialect).open(str(value))


def tighten(path: Path) -> bool:
    """Make an existing file or directory of ours readable by the service user only; True when
    it was wider before (the caller logs it)."""
    with contextlib.suppress(FileNotFoundError):
        mode = path.stat().st_mode & 0o777
        wanted = 0o700 if path.is_dir() else 0o600
        if mode & 0o077:
            path.chmod(mode & wanted)
            return True
    return False
