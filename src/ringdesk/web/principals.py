"""In-memory cache of logged-in users by token digest (the database stays the truth)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    id: int
    username: str
    name: str
    role: str
    # An admin without two-step sign-in on a server that requires it (--admin-totp required):
    # the session may only set it up (web/auth.py, TOTP_SETUP_PATHS).
    needs_totp: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_supervisor(self) -> bool:
        """A team lead: the board, reports, recordings and live calls of their services (the
        ones they have phone permission on), no settings."""
        return self.role == "supervisor"

    @property
    def leads(self) -> bool:
        """Sees the board: an admin (every service) or a supervisor (their own)."""
        return self.role in ("admin", "supervisor")


@dataclass(slots=True)
class Login:
    """A session as the cache knows it: `last_seen_at` is exact, `written_at` what the table has."""

    principal: Principal
    created_at: float
    last_seen_at: float
    written_at: float


class SessionCache:
    """token digest -> login, so a status click does not cost a session lookup in the database.

    Dropped on logout and on any change to a user; after a restart it refills from the database.
    """

    def __init__(self) -> None:
        self._by_digest: dict[str, Login] = {}

    def get(self, digest: str) -> Login | None:
        return self._by_digest.get(digest)

    def put(self, digest: str, login: Login) -> None:
        if len(self._by_digest) > 10_000:
            self._by_digest.clear()
        self._by_digest[digest] = login

    def drop(self, digest: str) -> None:
        self._by_digest.pop(digest, None)

    def drop_user(self, user_id: int) -> None:
        for digest in [d for d, login in self._by_digest.items() if login.principal.id == user_id]:
            del self._by_digest[digest]
