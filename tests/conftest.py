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


# The slowest tiers first: with whole files handed to three workers (`make test`), the browser
# and end-to-end files start at once and the many short unit files fill the end, instead of a
# few browser files running alone at the end while the other workers sit idle.
TIER_ORDER = {"ui": 0, "e2e": 1, "api": 2, "unit": 3}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def tier(item: pytest.Item) -> int:
        parts = item.nodeid.split("/")
        return TIER_ORDER.get(parts[1], len(TIER_ORDER)) if len(parts) > 2 else len(TIER_ORDER)

    items.sort(key=tier)  # stable: each file's tests stay together and in their order
