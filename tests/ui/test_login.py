"""Login, a session that survives a reload, logout, and the pages' access rules."""

from __future__ import annotations

from playwright.sync_api import Route, expect

from tests.ui.desk import Desk


def test_wrong_password_is_refused_with_a_message(desk: Desk) -> None:
    desk.goto("/")
    desk.page.get_by_label("Username").fill("alice")
    desk.page.get_by_label("Password").fill("not-her-password")
    desk.page.get_by_role("button", name="Log in").click()
    expect(desk.page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(desk.page.get_by_role("button", name="Log out")).to_have_count(0)


def test_agent_logs_in_lands_on_tickets_and_survives_a_reload(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    page = desk.page
    expect(page).to_have_url(f"{desk.server.base_url}/tickets")
    expect(page.get_by_role("heading", name="Tickets", level=1)).to_be_visible()
    expect(page.locator(".topbar")).to_contain_text("Alice Martin")
    # Agents get no admin navigation.
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Tickets"]
    )
    token = page.evaluate("localStorage.getItem('ringdesk.token')")
    assert token, "the token is kept in localStorage"
    page.reload()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator(".topbar")).to_contain_text("Alice Martin")


def test_logout_forgets_the_token_and_shows_the_login(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    desk.page.get_by_role("button", name="Log out").click()
    expect(desk.page.get_by_role("heading", name="Log in")).to_be_visible()
    assert desk.page.evaluate("localStorage.getItem('ringdesk.token')") is None
    desk.page.reload()
    expect(desk.page.get_by_role("heading", name="Log in")).to_be_visible()


def test_deep_link_asks_for_login_then_opens_the_page(desk: Desk) -> None:
    desk.goto("/admin/cti-settings")
    expect(desk.page.get_by_role("heading", name="Log in")).to_be_visible()
    desk.login("admin")
    expect(desk.page.get_by_role("heading", name="CTI Settings", level=1)).to_be_visible()
    nav = desk.page.get_by_role("navigation", name="Main").get_by_role("link")
    expect(nav).to_have_text(["Tickets", "Board", "Admin"])


def test_admin_pages_are_closed_to_agents(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    desk.goto("/admin/users")
    expect(desk.page.get_by_role("heading", name="Admins only")).to_be_visible()


def test_a_stale_token_sends_the_user_back_to_login(desk: Desk) -> None:
    desk.goto("/")
    desk.page.evaluate("localStorage.setItem('ringdesk.token', 'no-such-token')")
    desk.goto("/tickets")
    expect(desk.page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_file_of_the_app_that_does_not_arrive_is_retried_then_explained(desk: Desk) -> None:
    # A module of the app's static graph dropped on the way (a poor network): the page reloads
    # once by itself and the login form appears.
    page = desk.page
    dropped: list[str] = []

    def drop_once(route: Route) -> None:
        if dropped:
            route.continue_()
        else:
            dropped.append(route.request.url)
            route.abort("connectionreset")

    page.route("**/static/js/dom.js", drop_once)
    desk.goto("/")
    expect(page.get_by_label("Username")).to_be_visible()
    assert len(dropped) == 1, dropped
    page.unroute("**/static/js/dom.js")

    # Dropped every time: after its one reload the page says so and offers a Reload button.
    page.route("**/static/js/dom.js", lambda route: route.abort("connectionreset"))
    page.reload()
    expect(page.get_by_role("heading", name="Ringdesk did not finish loading")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_count(0)
    page.unroute("**/static/js/dom.js")
    page.get_by_role("button", name="Reload").click()
    expect(page.get_by_label("Username")).to_be_visible()
