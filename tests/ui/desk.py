"""A small page-object for the agent desktop, so tests read like the manual's steps."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.support.server import RunningServer

TIMEOUT_MS = 30_000  # generous: a loaded 2-core machine runs a server, phones and a browser
# `make screenshots` (RINGDESK_SCREENSHOTS=1) refreshes the README's pictures; a plain test run
# writes them to a scratch folder so the work tree stays clean.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("RINGDESK_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "ringdesk-screenshots"
)

PASSWORDS = {
    "admin": "admin-demo",
    "alice": "alice-demo",
    "bob": "bob-demo",
    "carol": "carol-demo",
}


def api(server: RunningServer, username: str) -> httpx.Client:
    """An HTTP client logged in as a demo user (for setting the scene beside the browser)."""
    return server.client(server.login(username, PASSWORDS[username]))


def reset_agents(server: RunningServer) -> None:
    """Leave every demo agent logged out of CTI, so the next test starts clean."""
    for name in ("alice", "bob", "carol"):
        with contextlib.suppress(httpx.HTTPError), api(server, name) as http:
            state = http.get("/api/cti/state").json()
            call = state.get("call")
            if call:
                http.post(f"/api/calls/{call['id']}/end")
            if state.get("logged_in"):
                http.post("/api/cti/logout")


def wait_until(check: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (never sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@dataclass
class Desk:
    page: Page
    context: BrowserContext
    server: RunningServer
    errors: list[str] = field(default_factory=list)
    # Requests that failed and console errors, printed when a test fails (a blank page with no
    # JavaScript error was once seen on a loaded machine: this says which file did not arrive).
    trouble: list[str] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def open(
        cls, browser: Browser, server: RunningServer, *, width: int = 1280, height: int = 800
    ) -> Iterator[Desk]:
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=server.base_url
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        desk = cls(page=page, context=context, server=server)
        page.on("pageerror", lambda error: desk.errors.append(str(error)))
        page.on(
            "requestfailed",
            lambda r: desk.trouble.append(f"request failed: {r.method} {r.url} {r.failure}"),
        )
        page.on(
            "console",
            lambda m: (
                desk.trouble.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        try:
            yield desk
        finally:
            context.close()
        assert not desk.errors, f"JavaScript errors in the page: {desk.errors}"

    # -- navigation and login

    def goto(self, path: str) -> None:
        self.page.goto(path)

    def login(self, username: str, password: str | None = None) -> None:
        page = self.page
        if not page.url.startswith(self.server.base_url):
            page.goto("/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password or PASSWORDS[username])
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # -- the Call Widget

    @property
    def widget(self) -> Locator:
        return self.page.locator("#call-widget")

    @property
    def toggle(self) -> Locator:
        return self.page.locator(".widget-toggle")

    def open_widget(self) -> Locator:
        if self.toggle.get_attribute("aria-expanded") != "true":
            self.toggle.click()
        expect(self.widget).to_be_visible()
        return self.widget

    def status_label(self) -> Locator:
        return self.widget.locator("[data-testid=status-label]")

    def expect_status(self, label: str) -> None:
        expect(self.status_label()).to_have_text(label, timeout=TIMEOUT_MS)

    def cti_login(self) -> None:
        self.open_widget()
        self.widget.get_by_role("button", name="CTI Login").click()
        expect(self.widget.get_by_role("button", name="CTI Logout")).to_be_visible()

    def set_status(self, label: str) -> None:
        self.open_widget()
        self.widget.get_by_role("button", name="Status").click()
        self.widget.get_by_role("menuitemradio", name=label).click()
        self.expect_status(label)

    def wait_until(
        self, check: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition"
    ) -> Any:
        """Like wait_until, but lets the browser's events run while waiting (the sync API only
        dispatches them inside a Playwright call)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            self.page.wait_for_timeout(200)
        raise AssertionError(f"timed out waiting for {what} (last: {last!r})")

    def button(self, name: str) -> Locator:
        return self.widget.get_by_role("button", name=name, exact=True)

    def dialog(self) -> Locator:
        return self.page.locator("dialog[open]")

    # -- evidence

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path
