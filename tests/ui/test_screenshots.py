"""Screenshots of the main screens for the README (docs/screenshots/*.png, 1280x800).

The call screens (incoming call, ticket, transfer dialog, agent home) are taken by the call-flow
tests in test_calls.py at the moment they show; these are the ones that need no call.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.desk import Desk, api


def set_statuses(desk: Desk, statuses: dict[str, str]) -> None:
    for name, status in statuses.items():
        with api(desk.server, name) as http:
            assert http.post("/api/cti/login").status_code == 200
            assert http.put("/api/cti/status", json={"status": status}).status_code == 200


def test_login_screenshot(desk: Desk) -> None:
    desk.goto("/")
    expect(desk.page.get_by_role("heading", name="Log in")).to_be_visible()
    path = desk.screenshot("login")
    assert path.stat().st_size > 5_000


def test_admin_cti_settings_screenshot(desk: Desk) -> None:
    desk.goto("/admin/cti-settings")
    desk.login("admin")
    expect(desk.page.get_by_label("SIP domain")).to_have_value("ringdesk.local")
    assert desk.screenshot("admin-cti-settings").stat().st_size > 5_000


def test_board_screenshot(desk: Desk) -> None:
    set_statuses(desk, {"alice": "ready", "bob": "rest", "carol": "business"})
    desk.goto("/")
    desk.login("admin")
    agents = desk.page.locator("section", has=desk.page.get_by_role("heading", name="Agents"))
    expect(agents.locator("tr[data-status=ready]")).to_contain_text("Alice Martin")
    expect(agents.locator("tr[data-status=rest]")).to_contain_text("Bob Chen")
    expect(agents.locator("tr[data-status=business]")).to_contain_text("Carol Diaz")
    assert desk.screenshot("board").stat().st_size > 5_000


def test_narrow_window_screenshot(desk: Desk) -> None:
    desk.page.set_viewport_size({"width": 400, "height": 800})
    desk.goto("/")
    desk.login("alice")
    desk.cti_login()
    desk.set_status("Ready")
    assert desk.screenshot("narrow-widget").stat().st_size > 5_000
