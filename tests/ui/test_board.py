"""The supervisor board follows agents' statuses live (WebSocket `board` messages)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.ui.calls import agent_phones, call_in
from tests.ui.desk import Desk, api, wait_until


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


def test_board_is_for_supervisors_and_admins_only(desk: Desk) -> None:
    desk.goto("/")
    desk.login("bob")
    desk.goto("/board")
    expect(desk.page.get_by_role("heading", name="Supervisors only")).to_be_visible()


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


def test_board_shows_the_live_call_and_a_lead_logs_an_agent_out_with_a_message(
    desk: Desk, browser: Browser, tmp_path: Path
) -> None:
    """The board tells whom Alice talks to, which way and for how long (ticking); Carol, their
    supervisor, logs Bob out from the board, and Bob's widget says who did it and why."""
    with api(desk.server, "admin") as admin:
        carol = next(u for u in admin.get("/api/admin/users").json() if u["username"] == "carol")
        admin.patch(f"/api/admin/users/{carol['id']}", json={"role": "supervisor"})
    try:
        _board_story(desk, browser, tmp_path)
    finally:
        with api(desk.server, "admin") as admin:
            admin.patch(f"/api/admin/users/{carol['id']}", json={"role": "agent"})


def _board_story(desk: Desk, browser: Browser, tmp_path: Path) -> None:
    with agent_phones(desk.server, tmp_path / "phones"), api(desk.server, "alice") as alice:
        alice.post("/api/cti/login").raise_for_status()
        alice.put("/api/cti/status", json={"status": "ready"}).raise_for_status()
        customer = call_in(desk.server, tmp_path, caller="5557777")
        offer = wait_until(
            lambda: alice.get("/api/cti/state").json()["offer"], what="the offer to Alice"
        )
        alice.post(f"/api/calls/{offer['call_id']}/answer").raise_for_status()
        customer.wait_answered()

        desk.goto("/")
        desk.login("carol")
        page = desk.page
        expect(page).to_have_url(f"{desk.server.base_url}/board")  # a supervisor's start page
        expect(page.get_by_role("link", name="Admin")).to_have_count(0)
        row = page.locator("section", has=page.get_by_role("heading", name="Agents")).locator(
            "tr", has_text="Alice Martin"
        )
        call = row.locator(".board-call")
        expect(call).to_contain_text("5557777")
        expect(call).to_contain_text("Inbound")
        duration = call.locator("[data-duration]")
        expect(duration).to_have_text(re.compile(r"^0:\d\d$"))
        first = duration.inner_text()
        expect(duration).not_to_have_text(first)  # it ticks between board messages
        for mode in ("Listen", "Whisper", "Barge in"):
            expect(row.get_by_role("button", name=mode)).to_be_visible()

        with Desk.open(browser, desk.server) as bob:
            bob.goto("/")
            bob.login("bob")
            bob.cti_login()
            bob_row = page.locator("tr", has_text="Bob Chen")
            expect(bob_row).not_to_have_attribute("data-status", "logged_out")
            bob_row.get_by_role("button", name="Status…").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_label("Message to the agent").fill("Your shift is over, thank you!")
            dialog.get_by_role("button", name="Log out of CTI").click()
            expect(dialog).to_be_hidden()
            expect(bob_row).to_have_attribute("data-status", "logged_out")
            widget = bob.open_widget()
            expect(widget.locator("[data-reason=by_supervisor]")).to_contain_text(
                "Your shift is over, thank you!"
            )
            expect(widget.locator("[data-reason=by_supervisor]")).to_contain_text(
                "Carol Diaz (supervisor)"
            )
        customer.hang_up()
        customer.wait_ended()
