"""The statistics arithmetic (pure code: call records in, figures out)."""

from __future__ import annotations

import datetime as dt

from ringdesk.store import models as m
from ringdesk.store.stats import day_bounds, summarize


def _call(
    direction: str = "inbound",
    *,
    arrived: float = 1000.0,
    wait: float | None = None,
    talk: float | None = None,
    ended: float | None = None,
    outcome: str | None = None,
    wrap_up: float | None = None,
) -> m.CallRecord:
    connected = arrived + wait if wait is not None and outcome != "abandoned" else None
    return m.CallRecord(
        call_id=f"c{arrived}{direction}{outcome}",
        direction=direction,
        customer_number="5551234",
        arrived_at=arrived,
        connected_at=connected,
        wait_seconds=wait,
        talk_seconds=talk,
        ended_at=ended,
        outcome=outcome,
        wrap_up_seconds=wrap_up,
    )


def test_offered_answered_abandoned_waits_talk_wrap_up_and_service_level() -> None:
    records = [
        _call(wait=5, talk=60, ended=1065, outcome="answered", wrap_up=30),
        _call(wait=25, talk=120, ended=1145, outcome="answered", wrap_up=10),
        _call(wait=12, ended=1012, outcome="abandoned"),
        _call(outcome="rejected", ended=1000),  # contract off: never reached a queue
        _call(outcome="refused", ended=1000),  # the queue was full: nor did this one
        _call(outcome="refused", ended=1001, arrived=1001),
        _call("outbound", wait=8, talk=40, ended=1048, outcome="answered"),
    ]
    figures = summarize(records, service_level_seconds=20)
    assert figures["offered"] == 3
    assert figures["refused"] == 2
    assert figures["answered"] == 2
    assert figures["abandoned"] == 1
    assert figures["avg_abandon_seconds"] == 12.0
    assert figures["avg_wait_seconds"] == 15.0  # (5 + 25) / 2, answered calls only
    assert figures["longest_wait_seconds"] == 25.0
    assert figures["avg_talk_seconds"] == round((60 + 120 + 40) / 3, 1)
    assert figures["avg_wrap_up_seconds"] == 20.0
    assert figures["service_level"] == round(1 / 3, 3)  # one of three answered within 20 s
    assert figures["outbound"] == 1 and figures["outbound_connected"] == 1


def test_no_calls_gives_zero_counts_and_no_averages() -> None:
    figures = summarize([], service_level_seconds=20)
    assert (figures["offered"], figures["answered"], figures["abandoned"]) == (0, 0, 0)
    assert figures["avg_wait_seconds"] is None and figures["service_level"] is None


def test_calls_still_waiting_do_not_count_against_the_service_level() -> None:
    waiting = _call(arrived=2000)
    answered = _call(wait=3, talk=10, ended=1013, outcome="answered")
    assert summarize([waiting, answered], service_level_seconds=20)["service_level"] == 1.0


def test_day_bounds_are_utc_midnights() -> None:
    start, end = day_bounds(dt.date(2026, 11, 24))
    assert dt.datetime.fromtimestamp(start, dt.UTC) == dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    assert end - start == 86400
