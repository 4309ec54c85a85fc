"""The web edge as a user meets it in the browser: every page runs under the strict CSP, a
session ended elsewhere takes the page back to the login at once, a throttled login says why,
and the trunk password is never shown back."""

from __future__ import annotations

import httpx
from playwright.sync_api import ConsoleMessage, expect

from tests.ui.desk import Desk, api


def test_every_page_runs_under_the_csp_without_a_violation(desk: Desk) -> None:
    violations: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(message.text)

    desk.page.on("console", note)
    first = desk.page.goto("/")
    assert first is not None
    csp = first.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    desk.login("admin")
    for path, heading in (
        ("/tickets", "Tickets"),
        ("/board", None),
        ("/admin/services", None),
        ("/admin/cti-settings", "CTI Settings"),
        ("/admin/cti-agents", None),
        ("/admin/users", "Users"),
        ("/admin/reports", None),
    ):
        desk.goto(path)
        expect(desk.page.get_by_role("button", name="Log out")).to_be_visible()
        if heading:
            expect(desk.page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    # Sounds play from blob: URLs: the admin page's preview must not be blocked either.
    desk.goto("/admin/cti-settings")
    desk.page.wait_for_load_state("networkidle")
    assert violations == []


def test_a_session_ended_elsewhere_returns_the_page_to_the_login(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    expect(desk.page.get_by_role("heading", name="Tickets", level=1)).to_be_visible()
    token = desk.page.evaluate("localStorage.getItem('ringdesk.token')")
    # Logged out from somewhere else (another tab, an admin resetting the password...): the
    # server closes the page's feed and the page, without any click, goes back to the login.
    with httpx.Client(base_url=desk.server.base_url) as http:
        ended = http.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
        assert ended.status_code == 204
    expect(desk.page.get_by_role("button", name="Log in")).to_be_visible()
    expect(desk.page.get_by_text("Your session has ended")).to_be_visible()
    assert not desk.page.evaluate("localStorage.getItem('ringdesk.token')")


def test_a_throttled_login_says_why_and_when(desk: Desk) -> None:
    desk.goto("/")
    page = desk.page
    # An account that does not exist: the demo users stay usable for the other tests.
    for _ in range(5):
        page.get_by_label("Username").fill("mallory")
        page.get_by_label("Password").fill("guess-guess-guess")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        page.get_by_label("Password").fill("")
    page.get_by_label("Password").fill("guess-guess-guess")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed logins for this account")
    expect(page.get_by_role("alert")).to_contain_text("minutes")


def test_the_trunk_password_is_never_shown_back(desk: Desk) -> None:
    desk.goto("/")
    desk.login("admin")
    desk.goto("/admin/trunks")
    page = desk.page
    form = page.locator("form.settings-form")
    field = form.get_by_label("Password", exact=True)
    expect(field).to_have_value("")
    expect(field).to_have_attribute("placeholder", "Not set")
    form.get_by_label("Name", exact=True).fill("secret-trunk")
    form.get_by_label("Host", exact=True).fill("192.0.2.9")
    field.fill("trunk-secret-42")
    form.get_by_role("button", name="Add trunk").click()
    expect(form.locator(".save-status.is-ok")).to_be_visible()
    page.reload()
    assert "trunk-secret-42" not in page.content()
    page.get_by_role("button", name="Edit secret-trunk").click()
    dialog = page.get_by_role("dialog")
    kept = dialog.get_by_label("Password", exact=True)
    expect(kept).to_have_value("")
    expect(kept).to_have_attribute("placeholder", "Set (type a new one to replace it)")
    # Saving other fields keeps it.
    dialog.get_by_label("Priority").fill("2")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    with api(desk.server, "admin") as http:
        (trunk,) = [t for t in http.get("/api/admin/trunks").json() if t["name"] == "secret-trunk"]
        assert trunk["has_password"] is True and trunk["priority"] == 2
        assert "trunk-secret-42" not in http.get("/api/admin/trunks").text
        http.delete(f"/api/admin/trunks/{trunk['id']}")
