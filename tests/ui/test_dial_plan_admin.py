"""The dial plan card of a service's admin page: saved from the page, there after a reload, what
the server stores (through the API), and a bad pattern refused with the server's sentence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.ui.desk import Desk, api


@pytest.fixture
def plan_page(desk: Desk) -> Iterator[Desk]:
    with api(desk.server, "admin") as http:
        before = http.get("/api/admin/services/1").json()["dial_plan"]
    desk.goto("/")
    desk.login("admin")
    desk.goto("/admin/services/1")
    expect(desk.page.get_by_role("heading", name="Dial Plan")).to_be_visible()
    try:
        yield desk
    finally:
        with api(desk.server, "admin") as http:
            http.patch("/api/admin/services/1", json={"dial_plan": before})


def test_the_dial_plan_round_trip(plan_page: Desk) -> None:
    page = plan_page.page
    form = page.locator("form", has_text="Dial Plan")
    expect(form.get_by_label("Country", exact=True)).to_have_value("")
    expect(form.get_by_label("Allow international numbers")).not_to_be_checked()
    premium = form.get_by_label("Premium-rate prefixes").input_value()
    assert premium.splitlines()[0] == "+1900" and "0900" in premium.splitlines()
    form.get_by_label("Country", exact=True).select_option("49")
    form.get_by_label("Allow international numbers").check()
    form.get_by_label("Always allowed").fill("0033 1\n0900 5x1")
    form.get_by_label("Always blocked").fill("+49 (30) 9")
    form.get_by_role("button", name="Save dial plan").click()
    expect(form.locator(".save-status")).to_have_text("Dial plan saved.")
    expect(form.get_by_label("Always allowed")).to_have_value("00331\n09005X1")  # as stored

    page.reload()
    form = page.locator("form", has_text="Dial Plan")
    expect(form.get_by_label("Country", exact=True)).to_have_value("49")
    expect(form.get_by_label("Allow international numbers")).to_be_checked()
    expect(form.get_by_label("Allow premium-rate numbers (the prefixes below)")).not_to_be_checked()
    expect(form.get_by_label("Always blocked")).to_have_value("+49309")
    with api(plan_page.server, "admin") as http:
        plan = http.get("/api/admin/services/1").json()["dial_plan"]
    assert (plan["country_code"], plan["national_prefix"]) == ("49", "0")
    assert plan["international_prefixes"] == ["00"]
    assert plan["allow_international"] is True
    assert plan["allowed_patterns"] == ["00331", "09005X1"]


def test_a_bad_pattern_is_refused_with_the_servers_sentence(plan_page: Desk) -> None:
    page = plan_page.page
    form = page.locator("form", has_text="Dial Plan")
    form.get_by_label("Always blocked").fill("^0900")
    form.get_by_role("button", name="Save dial plan").click()
    expect(form.locator(".save-status.is-error")).to_contain_text("“^” cannot be in a pattern")
    with api(plan_page.server, "admin") as http:
        assert http.get("/api/admin/services/1").json()["dial_plan"]["blocked_patterns"] == []
