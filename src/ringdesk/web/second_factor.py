"""Logins half done: the password was right and the account has TOTP, so a code is due.

The first step of such a login answers with a pending-login token instead of a session. The
token is random (256 bits), kept here only as its SHA-256 digest, good for LIFETIME seconds and
for MAX_ATTEMPTS wrong codes, and spent by the login it completes. In memory, like the login
throttle: a restart forgets pending logins, which costs the user their password once more.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ringdesk.store.security import new_token, token_digest

LIFETIME = 300.0
MAX_ATTEMPTS = 5
MAX_PENDING = 10_000  # beyond this the oldest are forgotten: memory stays bounded


@dataclass(slots=True)
class Pending:
    user_id: int
    username: str  # as typed at the first step: the throttle's account key
    expires_at: float
    attempts: int = 0


class PendingLogins:
    def __init__(self, *, lifetime: float = LIFETIME, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.lifetime = lifetime
        self.max_attempts = max_attempts
        self._by_digest: dict[str, Pending] = {}
        self._lock = threading.Lock()  # the login routes run in the thread pool

    def start(self, user_id: int, username: str) -> str:
        """A new pending login; returns its token (the only time it exists in clear)."""
        token = new_token()
        now = time.monotonic()
        with self._lock:
            self._purge(now)
            if len(self._by_digest) >= MAX_PENDING:
                del self._by_digest[next(iter(self._by_digest))]
            self._by_digest[token_digest(token)] = Pending(user_id, username, now + self.lifetime)
        return token

    def get(self, token: str) -> Pending | None:
        """The pending login of this token while it lasts."""
        now = time.monotonic()
        with self._lock:
            pending = self._by_digest.get(token_digest(token))
            if pending is None or pending.expires_at <= now:
                return None
            return pending

    def failed(self, token: str) -> None:
        """A wrong code: after MAX_ATTEMPTS the token is gone and the password is due again."""
        digest = token_digest(token)
        with self._lock:
            pending = self._by_digest.get(digest)
            if pending is None:
                return
            pending.attempts += 1
            if pending.attempts >= self.max_attempts:
                del self._by_digest[digest]

    def finish(self, token: str) -> Pending | None:
        """Spend the token; None when it was already spent (or expired) meanwhile."""
        with self._lock:
            pending = self._by_digest.pop(token_digest(token), None)
        if pending is None or pending.expires_at <= time.monotonic():
            return None
        return pending

    def _purge(self, now: float) -> None:
        for digest in [d for d, p in self._by_digest.items() if p.expires_at <= now]:
            del self._by_digest[digest]
