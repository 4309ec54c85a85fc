"""Which agents the presence check logs out: logged in, no call and no offer, and their pages
(feeds) gone for the limit; never one who has a page open or never opened one."""

from __future__ import annotations

from typing import Any, cast

from ringdesk.core.commands import CtiLogin, CtiLogout
from ringdesk.core.engine import Engine
from ringdesk.core.model import AgentConfig, CtiSettings, ServiceConfig
from ringdesk.live.feeds import Feeds
from ringdesk.runtime.presence import absent_agents

AGENTS = [
    AgentConfig(
        id=n, name=f"A{n}", cti_id=str(1000 + n), cti_number=str(1000 + n), services=frozenset({1})
    )
    for n in (1, 2, 3, 4)
]


def test_only_agents_whose_pages_are_gone_for_the_limit() -> None:
    engine = Engine(CtiSettings(), [ServiceConfig(id=1, name="Support")], AGENTS)
    for n in (1, 2, 3):
        engine.handle(CtiLogin(n), 0.0)  # 4 stays logged out
    feeds = Feeds(cast(Any, None))  # the sources are only read to build messages
    gone, _, _ = feeds.subscribe(1, None)
    feeds.unsubscribe(1, gone)  # 1: her page closed
    feeds.subscribe(2, None)  # 2: a page open; 3: never had one (the API alone)
    closed = feeds.absent_since(1)
    assert closed is not None and feeds.absent_since(2) is None and feeds.absent_since(3) is None
    assert absent_agents(engine, feeds, 120.0, closed + 119.0) == []
    assert absent_agents(engine, feeds, 120.0, closed + 121.0) == [1]
    assert absent_agents(engine, feeds, 0.0, closed + 9999.0) == []  # 0: never
    engine.handle(CtiLogout(1, reason="browser_gone"), 1.0)
    assert engine.agent(1).reason == "browser_gone"
    assert absent_agents(engine, feeds, 120.0, closed + 121.0) == []  # logged out already
