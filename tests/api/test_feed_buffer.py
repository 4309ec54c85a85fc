"""The feed's replay buffer (pure code): what a reconnecting client gets for each `since`."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from ringdesk.live import feeds as feed_module
from ringdesk.live.feeds import REPLAY, Feeds
from ringdesk.store.recorder import Recorded


def _feeds_with(messages: int) -> Feeds:
    feeds = Feeds(cast(Any, None))  # publishing plain messages needs no runtime
    for i in range(messages):
        feeds.publish(7, "agent_state", {"n": i})
    return feeds


def test_since_within_the_buffer_replays_exactly_the_missed_messages() -> None:
    feeds = _feeds_with(REPLAY + 100)
    since = feeds.current_seq(7) - 30
    _, replay, resync = feeds.subscribe(7, since)
    assert not resync
    seqs = [json.loads(m)["seq"] for m in replay]
    assert seqs == list(range(since + 1, since + 31))


def test_since_older_than_the_buffer_asks_for_resync() -> None:
    feeds = _feeds_with(REPLAY + 100)
    _, replay, resync = feeds.subscribe(7, 5)
    assert resync and replay == []


def test_since_up_to_date_or_absent_replays_nothing() -> None:
    feeds = _feeds_with(10)
    assert feeds.subscribe(7, 10)[1:] == ([], False)
    assert feeds.subscribe(7, None)[1:] == ([], False)
    assert feeds.subscribe(8, None)[1:] == ([], False)  # a user with no messages yet


def test_live_messages_reach_every_subscriber_of_the_user_only() -> None:
    feeds = _feeds_with(0)
    first, _, _ = feeds.subscribe(7, None)
    second, _, _ = feeds.subscribe(7, None)
    other, _, _ = feeds.subscribe(8, None)
    feeds.publish(7, "ticket_updated", {"id": 1})
    for sub in (first, second):
        message = json.loads(sub.queue.get_nowait() or "")
        assert message == {"seq": 1, "type": "ticket_updated", "data": {"id": 1}}
    assert other.queue.empty()
    feeds.unsubscribe(7, second)
    feeds.publish(7, "ticket_updated", {"id": 2})
    assert second.queue.empty() and not first.queue.empty()


def _failure(agent_id: int) -> Recorded:
    return Recorded(call_failures=[(agent_id, {"call_id": "c1", "reason": "busy"})])


def test_a_widget_that_reconnects_soon_gets_what_it_missed() -> None:
    feeds = _feeds_with(0)
    sub, _, _ = feeds.subscribe(7, None)
    feeds.unsubscribe(7, sub)
    feeds.publish_recorded(_failure(7))  # the socket dropped a moment ago: still built
    _, replay, resync = feeds.subscribe(7, 0)
    assert not resync
    assert [json.loads(m)["type"] for m in replay] == ["call_failed"]


def test_messages_for_nobody_are_skipped_and_a_later_since_resyncs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feed_module, "LINGER", 0.0)
    feeds = _feeds_with(0)
    sub, _, _ = feeds.subscribe(7, None)
    feeds.unsubscribe(7, sub)
    feeds.publish_recorded(_failure(7))
    feeds.publish_recorded(_failure(9))  # user 9 never opened a feed
    assert feeds.current_seq(7) == 0 and feeds.current_seq(9) == 0  # nothing was built
    _, replay, resync = feeds.subscribe(7, 0)
    assert resync and replay == []
    # Once resynced the feed is live again: the next message is delivered, no further resync.
    feeds.publish_recorded(_failure(7))
    assert feeds.current_seq(7) == 1
    assert feeds.subscribe(7, 1)[1:] == ([], False)
