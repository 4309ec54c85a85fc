"""Failed logins counted per account and per client address over a sliding window.

In memory: a restart forgets the counts, which costs an attacker a restart per window, and
keeps a failed login from being a database write an attacker can make at will.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from fastapi import Request

from ringdesk.web.errors import ApiError

MAX_KEYS = 100_000  # beyond this the oldest keys are forgotten: memory stays bounded in a flood


class LoginThrottle:
    def __init__(self, *, window: float, per_account: int, per_address: int) -> None:
        self.window = window
        self.per_account = per_account
        self.per_address = per_address
        self._accounts: dict[str, deque[float]] = {}
        self._addresses: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # the login route runs in the thread pool

    def retry_after(self, username: str, address: str) -> tuple[str, int] | None:
        """("account" or "address", seconds to wait) if either has used up its failures."""
        now = time.monotonic()
        with self._lock:
            for kind, table, key, limit in (
                ("account", self._accounts, _account(username), self.per_account),
                ("address", self._addresses, address, self.per_address),
            ):
                failures = self._recent(table, key, now)
                if len(failures) >= limit:
                    # The wait until enough failures have left the window to allow one more try.
                    oldest = failures[len(failures) - limit]
                    return kind, max(1, math.ceil(oldest + self.window - now))
        return None

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for table, key in ((self._accounts, _account(username)), (self._addresses, address)):
                failures = self._recent(table, key, now)
                failures.append(now)
                table[key] = failures
                if len(table) > MAX_KEYS:
                    del table[next(iter(table))]

    def succeeded(self, username: str) -> None:
        # Only the account's count: a success must not let one address go on guessing others.
        with self._lock:
            self._accounts.pop(_account(username), None)

    def _recent(self, table: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        failures = table.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del table[key]
        return failures


def _account(username: str) -> str:
    return username.strip().casefold()


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def refuse_if_throttled(throttle: LoginThrottle, username: str, address: str) -> None:
    """A 429 with Retry-After when the account or the address has used up its failures."""
    refused = throttle.retry_after(username, address)
    if refused is None:
        return
    kind, seconds = refused
    minutes = max(1, round(seconds / 60))
    whose = "this account" if kind == "account" else "your address"
    raise ApiError(
        429,
        "too_many_attempts",
        f"Too many failed logins for {whose}. Try again in about {minutes} minute"
        f"{'s' if minutes != 1 else ''}.",
        headers={"Retry-After": str(seconds)},
    )


def throttle_of(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.throttle
    return throttle
