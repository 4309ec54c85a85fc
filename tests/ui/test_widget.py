"""The Call Widget without a call: CTI Login/Logout, the status button, the timer, the phone
warning, keyboard use, and a narrow window."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.ui.desk import Desk, api


def test_cti_login_sets_the_default_status_and_logout_ends_it(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    widget = desk.open_widget()
    desk.expect_status("Logged out")
    desk.cti_login()
    desk.expect_status("Business")  # the demo tenant's default login status
    expect(desk.toggle).to_have_attribute("data-status", "business")
    # The reason of the change is the agent's own login: no raw code "login" under the status.
    expect(widget.locator(".status-reason")).to_have_count(0)
    expect(widget).not_to_contain_text("login")
    widget.get_by_role("button", name="CTI Logout").click()
    desk.expect_status("Logged out")
    expect(widget.get_by_role("button", name="CTI Login")).to_be_visible()
    with api(desk.server, "alice") as http:
        assert http.get("/api/cti/state").json()["logged_in"] is False


def test_status_button_switches_between_business_ready_and_rest(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    desk.cti_login()
    for label, value in (("Ready", "ready"), ("Rest", "rest"), ("Business", "business")):
        desk.set_status(label)
        expect(desk.toggle).to_have_attribute("data-status", value)
        with api(desk.server, "alice") as http:
            assert http.get("/api/cti/state").json()["status"] == value


def test_time_in_status_counts_up(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    desk.cti_login()
    desk.set_status("Ready")
    timer = desk.widget.locator(".status-timer")
    expect(timer).to_have_text(re.compile(r"^0:0[0-9]$"))
    expect(timer).to_have_text(re.compile(r"^0:0[2-9]$"), timeout=10_000)


def test_unregistered_phone_is_reported(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    desk.cti_login()
    # No SIP phone registered for 1001 in this test.
    expect(desk.widget.get_by_text("Phone not registered")).to_be_visible()


def test_status_changed_elsewhere_shows_up_live(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    desk.cti_login()
    with api(desk.server, "alice") as http:
        assert http.put("/api/cti/status", json={"status": "rest"}).status_code == 200
    desk.expect_status("Rest")


def test_widget_is_keyboard_operable(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    page = desk.page
    # The page is settled once the landing view has taken the focus (its heading): a key
    # pressed before that raced the post-login render on a loaded machine (seen twice).
    expect(page.get_by_role("heading", name="Tickets", level=1)).to_be_focused()
    # locator.press focuses and presses on the same element.
    desk.toggle.press("Enter")
    expect(desk.widget).to_be_visible()
    expect(desk.toggle).to_have_attribute("aria-expanded", "true")
    # Focus moved into the panel; the CTI Login button is reachable and works with Enter.
    login = desk.widget.get_by_role("button", name="CTI Login")
    login.press("Enter")
    desk.expect_status("Business")
    status = desk.widget.get_by_role("button", name="Status")
    status.focus()
    page.keyboard.press("ArrowDown")
    menu = desk.widget.get_by_role("menu", name="Status")
    expect(menu).to_be_visible()
    page.keyboard.press("ArrowDown")  # Business -> Ready
    expect(desk.widget.get_by_role("menuitemradio", name="Ready")).to_be_focused()
    page.keyboard.press("Enter")
    desk.expect_status("Ready")
    expect(menu).to_be_hidden()
    page.keyboard.press("Escape")
    expect(desk.widget).to_be_hidden()
    expect(desk.toggle).to_be_focused()


def test_narrow_window_keeps_the_widget_usable(desk: Desk) -> None:
    desk.page.set_viewport_size({"width": 400, "height": 800})
    desk.goto("/")
    desk.login("alice")
    desk.open_widget()
    box = desk.widget.bounding_box()
    assert box is not None and box["width"] <= 400 and box["x"] >= 0
    desk.cti_login()
    desk.set_status("Ready")
    desk.widget.get_by_role("button", name="Close Call Widget").click()
    expect(desk.toggle).to_be_visible()
    # Nothing on the page is wider than the window (no sideways scrolling).
    width = desk.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400


def test_open_widget_stays_open_after_a_reload(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    desk.open_widget()
    desk.page.reload()
    expect(desk.widget).to_be_visible()
    expect(desk.toggle).to_have_attribute("aria-expanded", "true")
    desk.widget.get_by_role("button", name="Close Call Widget").click()
    desk.page.reload()
    expect(desk.toggle).to_be_visible()
    expect(desk.widget).to_be_hidden()


def test_cti_login_without_phone_permission_says_why(desk: Desk) -> None:
    with api(desk.server, "admin") as http:
        carol = next(
            a for a in http.get("/api/admin/services/1/agents").json() if a["name"] == "Carol Diaz"
        )
        path = f"/api/admin/services/1/agents/{carol['user_id']}"
        assert http.put(path, json={"phone_permission": False}).status_code == 200
    try:
        desk.goto("/")
        desk.login("carol")
        widget = desk.open_widget()
        widget.get_by_role("button", name="CTI Login").click()
        alert = widget.get_by_role("alert")
        expect(alert).to_be_visible()
        expect(alert).to_contain_text(re.compile(r"permission", re.I))
        desk.expect_status("Logged out")
        alert.get_by_role("button", name="Dismiss message").click()
        expect(widget.get_by_role("alert")).to_have_count(0)
    finally:
        with api(desk.server, "admin") as http:
            http.put(path, json={"phone_permission": True})


def test_ringtone_volume_and_mute_are_remembered_and_shortcuts_are_explained(desk: Desk) -> None:
    desk.goto("/")
    desk.login("alice")
    widget = desk.open_widget()
    # Before CTI Login the widget says why the browser will ask for notifications.
    expect(widget.locator(".notify-why")).to_contain_text("reaches you while you work in another")
    desk.cti_login()
    volume = widget.get_by_label("Ringtone volume")
    expect(volume).to_have_value("80")
    volume.fill("35")
    widget.get_by_label("Mute").check()
    desk.page.reload()
    widget = desk.open_widget()
    expect(widget.get_by_label("Ringtone volume")).to_have_value("35")
    expect(widget.get_by_label("Mute")).to_be_checked()
    ringtone = desk.page.evaluate(
        "(() => { const a = document.querySelector('audio.ringtone');"
        " return [a.getAttribute('src'), a.loop]; })()"
    )
    assert ringtone == ["/static/sounds/ringtone.wav", True]
    assert desk.page.request.get("/static/sounds/ringtone.wav").body()[:4] == b"RIFF"
    widget.get_by_label("Mute").uncheck()
    widget.get_by_role("button", name="Keyboard shortcuts").click()
    help_ = desk.dialog()
    expect(help_.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    for keys, what in (
        ("Alt+A", "Answer"),
        ("Alt+H", "Hold"),
        ("Alt+T", "Transfer"),
        ("Alt+E", "End"),
    ):
        expect(help_.locator("dt", has_text=keys)).to_have_count(1)
        expect(help_).to_contain_text(what)
    desk.page.keyboard.press("Escape")
    expect(desk.dialog()).to_have_count(0)
