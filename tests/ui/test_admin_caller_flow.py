"""The admin builds what the caller meets in the pages: a menu with two choices, and a
service's opening hours and holiday; the API then returns exactly that."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.support.server import RunningServer
from tests.ui.desk import Desk, api


@pytest.fixture
def admin_desk(desk: Desk) -> Iterator[Desk]:
    desk.goto("/")
    desk.login("admin")
    yield desk


def test_build_a_menu_and_opening_hours_in_the_pages(admin_desk: Desk) -> None:
    server: RunningServer = admin_desk.server
    page = admin_desk.page
    with api(server, "admin") as http:
        created = http.post("/api/admin/services", json={"name": "Front desk"})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]

    # a new menu from the list page, then its two choices on its own page
    admin_desk.goto("/admin/menus")
    page.get_by_label("Menu name").fill("Welcome")
    page.get_by_role("button", name="Create menu").click()
    expect(page).to_have_url(re.compile(r"/admin/menus/\d+$"))
    menu_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_label("Prompt", exact=True).fill(
        "For the front desk press 1. For the office press 2."
    )
    page.get_by_role("button", name="Add choice").click()
    page.get_by_role("button", name="Add choice").click()
    rows = page.locator(".choice-row")
    expect(rows).to_have_count(2)
    first, second = rows.nth(0), rows.nth(1)
    first.get_by_label("Digit").select_option("1")
    first.get_by_label("Choice action").select_option("queue")
    first.get_by_label("Choice service").select_option(str(sid))
    second.get_by_label("Digit").select_option("2")
    second.get_by_label("Choice action").select_option("forward")
    second.get_by_label("Choice number").fill("5550199")
    page.get_by_label("Tries").fill("2")
    page.get_by_role("button", name="Save menu").click()
    expect(page.get_by_text("Menu saved.")).to_be_visible()

    with api(server, "admin") as http:
        menu = http.get(f"/api/admin/menus/{menu_id}").json()
    assert menu["name"] == "Welcome" and menu["max_tries"] == 2
    assert menu["choices"] == [
        {"digit": "1", "action": "queue", "target": sid, "number": None},
        {"digit": "2", "action": "forward", "target": None, "number": "5550199"},
    ]
    assert menu["prompt"] == {
        "kind": "text",
        "text": "For the front desk press 1. For the office press 2.",
    }

    # the service: its menu first, then its opening hours and a holiday
    admin_desk.goto(f"/admin/services/{sid}")
    page.get_by_label("Menu first").select_option(str(menu_id))
    page.locator("form", has=page.get_by_label("Menu first")).get_by_role(
        "button", name="Save"
    ).click()
    expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
    page.get_by_label("Time zone", exact=True).select_option("Europe/Berlin")
    page.get_by_role("button", name="Add hours").click()
    hours = page.locator(".hours-row")
    expect(hours).to_have_count(1)
    hours.get_by_label("Day").select_option("2")
    hours.get_by_label("From").fill("08:30")
    hours.get_by_label("To").fill("16:00")
    page.get_by_role("button", name="Add holiday").click()
    holiday = page.locator(".holiday-row")
    holiday.get_by_label("Holiday").fill("Christmas")
    holiday.get_by_label("From").fill("2026-12-24")
    holiday.get_by_label("To").fill("2026-12-26")
    holiday.get_by_label("Every year").check()
    page.get_by_role("button", name="Save opening hours").click()
    expect(page.get_by_text("Opening hours saved.")).to_be_visible()
    expect(page.locator(".open-now .badge")).to_contain_text(re.compile("(Open|Closed) now"))

    with api(server, "admin") as http:
        calendar = http.get(f"/api/admin/services/{sid}/hours").json()
        service = http.get(f"/api/admin/services/{sid}").json()
    assert calendar["timezone"] == "Europe/Berlin"
    assert calendar["weekly"] == [{"weekday": 2, "start": "08:30", "end": "16:00"}]
    assert calendar["holidays"] == [
        {"name": "Christmas", "first": "2026-12-24", "last": "2026-12-26", "yearly": True}
    ]
    assert service["menu_id"] == menu_id and service["timezone"] == "Europe/Berlin"
    assert service["open_now"] is calendar["open_now"]
