"""A Switch on loopback with the in-memory directory and media of harness.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringdesk.switch import Switch

from .harness import Events, FakeDirectory, FakeMedia


@pytest.fixture
async def switch_rig(tmp_path: Path) -> AsyncIterator[tuple[Switch, FakeDirectory, Events]]:
    directory = FakeDirectory(tmp_path)
    events = Events()
    switch = Switch(
        "127.0.0.1", 0, directory=directory, sink=events, data_dir=tmp_path, media=FakeMedia()
    )
    await switch.start()
    try:
        yield switch, directory, events
    finally:
        await switch.stop()
