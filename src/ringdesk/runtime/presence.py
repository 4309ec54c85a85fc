"""Agents whose browser is gone: logged out of CTI, so calls stop ringing an empty desk.

An agent who closes the tab (or whose laptop sleeps) stays logged in to CTI: the wrap-up limit
puts her back to Ready and the next call is offered to nobody. Every few seconds this checks
the agents logged in with no call and no offer: one who had a page (a live feed) and has had
none for the CTI setting `absent_logout_seconds` is logged out with the reason "browser_gone",
which her widget shows when she comes back. A client of the API alone never opened a feed and
is never logged out by this.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ringdesk.core.commands import CtiLogout
from ringdesk.core.engine import Engine
from ringdesk.core.errors import CoreError
from ringdesk.core.model import AgentStatus
from ringdesk.live.feeds import Feeds

log = logging.getLogger(__name__)
CHECK_EVERY = 5.0  # seconds between looks
REASON = "browser_gone"


def absent_agents(engine: Engine, feeds: Feeds, limit: float, now: float) -> list[int]:
    """The logged-in agents, free of calls and offers, whose pages have been gone `limit` s.
    Only the users without an open page are looked at (not every agent: 10,000 of them every
    few seconds cost the loop more than the calls)."""
    if limit <= 0:
        return []
    found = []
    for user_id, gone in feeds.absent():
        if now - gone < limit:
            continue
        try:
            view = engine.agent(user_id)
        except CoreError:
            continue  # an admin or a supervisor who is not an agent
        if view.status == AgentStatus.LOGGED_OUT or view.call is not None or view.offer is not None:
            continue
        found.append(user_id)
    return found


async def watch(
    engine: Callable[[], Engine],
    feeds: Feeds,
    limit: Callable[[], float],
    command: Callable[[CtiLogout], None],
) -> None:
    """The loop the runtime runs: log out the absent agents, every CHECK_EVERY seconds."""
    while True:
        await asyncio.sleep(CHECK_EVERY)
        for agent_id in absent_agents(engine(), feeds, limit(), time.monotonic()):
            try:
                command(CtiLogout(agent_id, reason=REASON))
                log.info("agent %s logged out of CTI: no page open for %.0f s", agent_id, limit())
            except CoreError as exc:  # a call came meanwhile: she is not absent after all
                log.info("agent %s not logged out: %s", agent_id, exc.message)
