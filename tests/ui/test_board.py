"""The supervisor board follows agents' statuses live (WebSocket `board` messages)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.ui.calls import call_in
from tests.ui.desk import Desk, api


def test_board_updates_when_an_agent_changes_status(desk: Desk) -> None:
    desk.goto("/")
    desk.login("admin")
    page = desk.page
    expect(page).to_have_url(f"{desk.server.base_url}/board")
    agents = page.locator("section", has=page.get_by_role("heading", name="Agents"))
    alice = agents.locator("tr", has_text="Alice Martin")
    expect(alice).to_contain_text("Logged out")
    expect(page.locator("section", has=page.get_by_role("heading", name="Today"))).to_contain_text(
        "Customer Support"
    )
    ready_tile = page.locator(".tile-ready .tile-value")
    expect(ready_tile).to_have_text("0")

    with api(desk.server, "alice") as http:
        assert http.post("/api/cti/login").status_code == 200
        assert http.put("/api/cti/status", json={"status": "ready"}).status_code == 200
    # No reload: the feed brings the change.
    expect(alice).to_contain_text("Ready")
    expect(alice).to_have_attribute("data-status", "ready")
    expect(ready_tile).to_have_text("1")
    expect(alice.locator("[data-since]")).to_have_text(re.compile(r"^0:\d\d$"))

    with api(desk.server, "alice") as http:
        assert http.put("/api/cti/status", json={"status": "rest"}).status_code == 200
    expect(alice).to_have_attribute("data-status", "rest")
    expect(alice).to_contain_text("Rest")
    expect(ready_tile).to_have_text("0")
    expect(page.locator(".tile-rest .tile-value")).to_have_text("1")


def test_board_is_for_admins_only(desk: Desk) -> None:
    desk.goto("/")
    desk.login("bob")
    desk.goto("/board")
    expect(desk.page.get_by_role("heading", name="Admins only")).to_be_visible()


def test_board_shows_a_waiting_call_then_counts_it_abandoned(desk: Desk, tmp_path: Path) -> None:
    desk.goto("/")
    desk.login("admin")
    page = desk.page
    queue = page.locator(".queue[data-service='1']")
    expect(queue.locator(".queue-waiting")).to_have_text("0")
    today = page.locator("section", has=page.get_by_role("heading", name="Today"))
    abandoned = today.locator("tr[data-service='1'] [data-col=abandoned]")
    before = int(abandoned.inner_text())

    # Nobody is Ready: the caller waits in the queue.
    customer = call_in(desk.server, tmp_path, caller="5555678")
    expect(queue.locator(".queue-waiting")).to_have_text("1")
    expect(queue.locator(".queue-calls")).to_contain_text("5555678")
    expect(page.locator(".tile-alert .tile-value")).to_have_text("1")

    customer.hang_up()
    customer.wait_ended()
    expect(queue.locator(".queue-waiting")).to_have_text("0")
    expect(abandoned).to_have_text(str(before + 1))
