"""Password hashes (argon2id) and session tokens (random, stored as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hash: str | None = None


def verify_no_user(password: str) -> bool:
    """The work of verify_password for a username that does not exist: always False.

    Without it an unknown name answers in a millisecond and a known one in a hundred, so the
    answer time tells which usernames exist.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    verify_password(_dummy_hash, password)
    return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    # Tokens are 256 random bits, so a plain digest (no salt, no stretching) is enough.
    return hashlib.sha256(token.encode()).hexdigest()
