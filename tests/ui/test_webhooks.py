"""Admin > Webhooks in the browser: a webhook added from the form (its secret shown once, with
Copy), its test event in the log as delivered to a receiver on 127.0.0.1, edited, deleted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.api.test_webhooks import Receiver, assert_signed
from tests.ui.desk import Desk, api


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.down()


def test_add_test_edit_and_delete_a_webhook(desk: Desk, receiver: Receiver) -> None:
    page = desk.page
    desk.goto("/")
    desk.login("admin")
    desk.goto("/admin/webhooks")
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Webhooks")).to_have_attribute("aria-current", "page")
    page.get_by_label("URL").fill("ftp://nowhere/")
    page.get_by_role("button", name="Add webhook").click()
    # Named as the form names the field, with what is wrong (a 422's summary).
    expect(page.locator(".save-status.is-error")).to_contain_text("URL: must be")
    expect(page.get_by_label("URL")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("The CRM")
    page.get_by_label("call.offered", exact=False).uncheck()
    page.get_by_role("button", name="Add webhook").click()
    secret = page.locator("[data-webhook-secret]")
    expect(secret).to_be_visible()
    shown = secret.inner_text()
    assert len(shown) >= 40
    expect(page.get_by_role("button", name="Copy the secret")).to_be_visible()
    row = page.locator("tr[data-webhook]")
    expect(row).to_contain_text(receiver.url)
    expect(row).to_contain_text("The CRM")
    expect(row).not_to_contain_text("call.offered")

    row.get_by_role("button", name="Send a test event").click()
    log = page.locator("[data-webhook-log]")
    expect(log).to_be_visible()
    desk.wait_until(lambda: receiver.events("ping"), what="the ping")
    assert_signed(receiver.events("ping")[0], shown)
    first = log.locator("tr[data-delivery]").first

    def delivered() -> bool:
        # marked once the receiver's answer is in: the page shows it after a Refresh
        log.get_by_role("button", name="Refresh").click()
        return "Delivered" in first.inner_text()

    desk.wait_until(delivered, what="the log showing it delivered")
    expect(log.locator("tr[data-delivery]").first).to_contain_text("HTTP 204")

    row.get_by_role("button", name="Edit").click()
    dialog = desk.dialog()
    dialog.get_by_label("Enabled").uncheck()
    dialog.get_by_role("button", name="Save").click()
    expect(row.locator("td").nth(2)).to_have_text("No")
    with api(desk.server, "admin") as http:
        (hook,) = http.get("/api/admin/webhooks").json()
        assert hook["enabled"] is False and "call.offered" not in hook["events"]
        assert hook["description"] == "The CRM"

    row.get_by_role("button", name="Delete").click()
    desk.dialog().get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("No webhook yet.")).to_be_visible()
