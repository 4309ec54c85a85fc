"""Fixtures shared by every suite: a real server (SQLite) and a throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import postgres
from tests.support.server import RunningServer, start_server

__all__ = ["postgres", "server"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """`ringdesk serve` with the demo tenant on SQLite, shared by the tests of one module."""
    running = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield running
    finally:
        running.stop()
