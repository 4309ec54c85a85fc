"""Browser fixtures: Debian's chromium driven by Playwright against a real `ringdesk serve`.

The `server` fixture (tests/conftest.py) is module-scoped, so each test file gets its own server
and its own demo tenant; tests in a file share it and leave the agents logged out of CTI.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

from tests.support.server import RunningServer
from tests.ui.desk import TIMEOUT_MS, Desk, reset_agents

# Assertions wait as long as actions do: a loaded 2-core machine runs a server, phones, SIPp and
# the browser at once (the default of 5 s is for a quiet laptop).
expect.set_options(timeout=TIMEOUT_MS)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Module scope: the sync API owns an event loop while it runs, so it is stopped before
    # the next (possibly asyncio) test module starts.
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/install-test-deps.sh` (chromium)")
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield launched
    finally:
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def desk(
    browser: Browser, server: RunningServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Desk]:
    """A fresh browser context (no token stored) on the server, 1280x800."""
    with Desk.open(browser, server) as opened:
        yield opened
        if request.node.stash.get(FAILED, False):
            # What the page looked like when the test failed, beside the test's other files.
            opened.page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
            print("the page's failed requests and console errors:", *opened.trouble, sep="\n  ")
    reset_agents(server)
