"""Wrap-up codes in the browser: an admin lists a service's codes on its page and makes one
required; after a real call (SIPp customer, Alice's baresip phone) the widget offers them in
Ticket Processing, refuses Ready until one is picked, and the report page counts it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.server import RunningServer
from tests.ui.calls import Phones, agent_phones, call_in
from tests.ui.desk import Desk, api, wait_until


@pytest.fixture(scope="module")
def phones(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phones]:
    with agent_phones(server, tmp_path_factory.mktemp("phones")) as registered:
        yield registered


def test_an_admin_lists_the_codes_on_the_service_page(desk: Desk) -> None:
    desk.goto("/")
    desk.login("admin")
    desk.goto("/admin/services/1")
    card = desk.page.get_by_test_id("dispositions")
    expect(card).to_contain_text("No wrap-up codes")
    for n, label in enumerate(("Resolved", "Call back later")):
        card.get_by_role("button", name="Add code").click()
        expect(card.get_by_label("Wrap-up code")).to_have_count(n + 1)
        card.get_by_label("Wrap-up code").nth(n).fill(label)
    card.get_by_label("Required").check()
    card.get_by_role("button", name="Save wrap-up codes").click()
    expect(card).to_contain_text("Wrap-up codes saved.")
    with api(desk.server, "admin") as admin:
        saved = admin.get("/api/admin/services/1/dispositions").json()
    assert saved["required"] is True
    assert [c["label"] for c in saved["codes"]] == ["Resolved", "Call back later"]
    desk.page.reload()
    expect(card.get_by_label("Wrap-up code")).to_have_count(2)
    expect(card.get_by_label("Wrap-up code").first).to_have_value("Resolved")
    expect(card.get_by_label("Required")).to_be_checked()


def test_the_widget_asks_for_a_required_code_before_ready(
    desk: Desk, phones: Phones, tmp_path: Path
) -> None:
    with api(desk.server, "admin") as admin:
        body = {"required": True, "codes": [{"label": "Resolved"}, {"label": "Call back later"}]}
        assert admin.put("/api/admin/services/1/dispositions", json=body).status_code == 200
    desk.goto("/")
    desk.login("alice")
    desk.cti_login()
    expect(desk.widget.get_by_text("Phone not registered")).to_have_count(0)
    desk.set_status("Ready")
    with api(desk.server, "alice") as alice:
        customer = call_in(desk.server, tmp_path)
        offer = wait_until(
            lambda: alice.get("/api/cti/state").json()["offer"], what="the call offered to Alice"
        )
        assert alice.post(f"/api/calls/{offer['call_id']}/answer").status_code == 200
        customer.wait_answered()

        def connected() -> dict[str, Any] | None:
            call: dict[str, Any] | None = alice.get("/api/cti/state").json()["call"]
            return call if call and call.get("connected_at") else None

        call = wait_until(connected, what="the call connected")
        assert alice.post(f"/api/calls/{call['id']}/end").status_code == 200
        customer.wait_ended()
    desk.expect_status("Business (Ticket Processing)")
    codes = desk.widget.get_by_test_id("wrap-up")
    expect(codes).to_contain_text("Wrap-up code (required)")
    expect(codes.get_by_test_id("wrap-up-picked")).to_have_text("Pick one before you choose Ready.")
    # Ready is refused, in words, and Ticket Processing goes on.
    desk.widget.get_by_role("button", name="Status").click()
    desk.widget.get_by_role("menuitemradio", name="Ready").click()
    expect(desk.widget).to_contain_text("Pick a wrap-up code for this call of Customer Support")
    desk.expect_status("Business (Ticket Processing)")
    codes.get_by_role("button", name="Call back later").click()
    expect(codes.get_by_test_id("wrap-up-picked")).to_have_text("Picked: Call back later")
    expect(codes.get_by_role("button", name="Call back later")).to_have_attribute(
        "aria-pressed", "true"
    )
    desk.set_status("Ready")
    expect(desk.widget.get_by_test_id("wrap-up")).to_have_count(0)

    with api(desk.server, "admin") as admin:
        report = admin.get("/api/admin/dispositions/report").json()
    assert report["counts"] == [{"service_id": 1, "label": "Call back later", "count": 1}]
    desk.goto("/")
    desk.page.get_by_role("button", name="Log out").click()
    desk.login("admin")
    desk.goto("/admin/reports")
    row = desk.page.get_by_test_id("report-codes").locator("tr[data-service='1']")
    expect(row).to_contain_text("Call back later")
    expect(row.locator("[data-col=count]")).to_have_text("1")
