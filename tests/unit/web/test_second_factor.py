"""Pending logins (web/second_factor.py): spent once, limited wrong codes, a short lifetime."""

from __future__ import annotations

import time

from ringdesk.web.second_factor import PendingLogins


def test_a_pending_login_is_spent_by_the_login_it_completes() -> None:
    pendings = PendingLogins()
    token = pendings.start(7, "Alice")
    found = pendings.get(token)
    assert found is not None and (found.user_id, found.username) == (7, "Alice")
    assert pendings.finish(token) is not None
    assert pendings.get(token) is None
    assert pendings.finish(token) is None


def test_too_many_wrong_codes_end_the_pending_login() -> None:
    pendings = PendingLogins(max_attempts=3)
    token = pendings.start(7, "alice")
    other = pendings.start(8, "bob")
    for _ in range(2):
        pendings.failed(token)
        assert pendings.get(token) is not None
    pendings.failed(token)
    assert pendings.get(token) is None and pendings.finish(token) is None
    assert pendings.get(other) is not None  # another login is not affected


def test_a_pending_login_expires() -> None:
    pendings = PendingLogins(lifetime=0.2)
    token = pendings.start(7, "alice")
    assert pendings.get(token) is not None
    time.sleep(0.3)
    assert pendings.get(token) is None and pendings.finish(token) is None
    assert pendings.get("not-a-token") is None
