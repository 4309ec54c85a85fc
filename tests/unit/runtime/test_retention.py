"""The retention loop: a pass at start, then once an hour by the injected clock, and at once
when the setting changes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ringdesk.runtime import retention
from ringdesk.store.retention import Expired


async def test_a_pass_at_start_every_hour_and_when_the_setting_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    passes: list[tuple[int, float]] = []
    looked = asyncio.Event()
    clock = [1000.0]
    days = [0]

    def sweep(_db: Any, data_dir: Path, limit: int, now: float) -> Expired:
        assert data_dir == tmp_path
        passes.append((limit, now))
        return Expired(0, frozenset(), 0)

    def limit() -> int:
        looked.set()
        return days[0]

    async def look() -> None:  # one turn of the loop: it has read the setting again
        looked.clear()
        await asyncio.wait_for(looked.wait(), 5)
        await asyncio.sleep(0)

    monkeypatch.setattr(retention, "sweep", sweep)
    no_db: Any = None  # the sweep is the test's: no database is opened
    task = asyncio.create_task(
        retention.watch(no_db, tmp_path, limit, lambda: clock[0], look=0.001)
    )
    try:
        await look()
        await look()
        assert passes == [(0, 1000.0)]  # at start, even with 0 (nothing goes then)
        clock[0] += 3599
        await look()
        assert len(passes) == 1
        days[0] = 30  # an admin saved the setting
        await look()
        await look()
        assert passes[-1] == (30, 4599.0)
        clock[0] += 3600
        await look()
        await look()
        assert passes == [(0, 1000.0), (30, 4599.0), (30, 8199.0)]
    finally:
        task.cancel()
