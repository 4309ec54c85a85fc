"""The ticket screen and list: search and filters, explicit Save, drafts that survive a reload
or a new call, and setting the customer (existing or new). Tickets come from real calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.server import RunningServer
from tests.ui.calls import agent_phones, call_in
from tests.ui.desk import Desk, api, wait_until

CALLERS = ("5551234", "5555678", "5559999")  # Dana Scully, Fox Mulder, nobody known


def take_call(server: RunningServer, workdir: Path, caller: str) -> int:
    """Alice answers and ends a call from `caller` through the API; the ticket's id."""
    customer = call_in(server, workdir, caller=caller)
    with api(server, "alice") as http:
        offer = wait_until(
            lambda: http.get("/api/cti/state").json()["offer"], what=f"the offer from {caller}"
        )
        assert http.post(f"/api/calls/{offer['call_id']}/answer").status_code == 200
        call = wait_until(
            lambda: (c := http.get("/api/cti/state").json()["call"]) and c["ticket_id"] and c,
            what="the connected call",
        )
        customer.wait_answered()
        assert http.post(f"/api/calls/{call['id']}/end").status_code == 200
        assert http.put("/api/cti/status", json={"status": "ready"}).status_code == 200
    customer.wait_ended()
    return int(call["ticket_id"])


@pytest.fixture(scope="module")
def tickets(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, int]]:
    workdir = tmp_path_factory.mktemp("ticket-calls")
    with agent_phones(server, workdir / "phones"):
        with api(server, "alice") as http:
            assert http.post("/api/cti/login").status_code == 200
            assert http.put("/api/cti/status", json={"status": "ready"}).status_code == 200
        ids = {caller: take_call(server, workdir, caller) for caller in CALLERS}
        with api(server, "alice") as http:
            http.post("/api/cti/logout")
        yield ids


@pytest.fixture
def alice(desk: Desk, tickets: dict[str, int]) -> Desk:
    desk.goto("/")
    desk.login("alice")
    return desk


def rows(desk: Desk):  # type: ignore[no-untyped-def]
    return desk.page.locator("tr[data-ticket]")


def test_ticket_list_search_and_filters(alice: Desk, tickets: dict[str, int]) -> None:
    page = alice.page
    filters = page.get_by_role("search")
    expect(rows(alice)).to_have_count(3)
    filters.get_by_label("Search").fill("5559999")
    filters.get_by_role("button", name="Search", exact=True).click()
    expect(rows(alice)).to_have_count(1)
    expect(rows(alice)).to_have_attribute("data-ticket", str(tickets["5559999"]))
    expect(page).to_have_url(re.compile(r"q=5559999"))
    page.reload()  # the filters live in the address
    expect(filters.get_by_label("Search")).to_have_value("5559999")
    expect(rows(alice)).to_have_count(1)

    filters.get_by_label("Search").fill("")
    filters.get_by_label("Direction").select_option("outbound")
    expect(page.get_by_text("No tickets match.")).to_be_visible()
    filters.get_by_label("Direction").select_option("inbound")
    expect(rows(alice)).to_have_count(3)

    with api(alice.server, "alice") as http:
        patched = http.patch(f"/api/tickets/{tickets['5555678']}", json={"status": "solved"})
        assert patched.status_code == 200
    filters.get_by_label("Status").select_option("solved")
    expect(rows(alice)).to_have_count(1)
    expect(rows(alice)).to_contain_text("Fox Mulder")


def test_unsaved_notes_survive_a_reload_and_guard_navigation(
    alice: Desk, tickets: dict[str, int]
) -> None:
    page = alice.page
    ticket_id = tickets["5551234"]
    alice.goto(f"/tickets/{ticket_id}")
    page.get_by_label("Notes").fill("Promised a call back on Monday.")
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_label("Notes")).to_have_value("Promised a call back on Monday.")
    expect(page.get_by_text("Your unsaved changes from earlier were restored.")).to_be_visible()

    # Leaving asks first; staying keeps everything.
    page.get_by_role("link", name="← Tickets").click()
    dialog = alice.dialog()
    expect(dialog).to_contain_text("not saved")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}$"))
    expect(page.get_by_label("Notes")).to_have_value("Promised a call back on Monday.")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_hidden()
    draft = page.evaluate(f"localStorage.getItem('ringdesk.draft.ticket.{ticket_id}')")
    assert draft is None
    with api(alice.server, "alice") as http:
        assert http.get(f"/api/tickets/{ticket_id}").json()["notes"] == (
            "Promised a call back on Monday."
        )
    page.get_by_role("link", name="← Tickets").click()
    expect(page.get_by_role("heading", name="Tickets", level=1)).to_be_visible()


def test_discarding_a_draft_shows_the_saved_ticket(alice: Desk, tickets: dict[str, int]) -> None:
    page = alice.page
    ticket_id = tickets["5555678"]
    alice.goto(f"/tickets/{ticket_id}")
    page.get_by_label("Subject").fill("Draft subject")
    page.reload()
    expect(page.get_by_label("Subject")).to_have_value("Draft subject")
    page.get_by_role("button", name="Discard changes").click()
    alice.dialog().get_by_role("button", name="Discard").click()
    expect(page.get_by_label("Subject")).to_have_value("")
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_hidden()


def test_a_restored_draft_does_not_revert_a_change_made_elsewhere(
    alice: Desk, tickets: dict[str, int]
) -> None:
    page = alice.page
    ticket_id = tickets["5559999"]
    alice.goto(f"/tickets/{ticket_id}")
    page.get_by_label("Notes").fill("Typed here, not saved")
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_visible()
    # Meanwhile the status is changed from another place (the API, another tab).
    with api(alice.server, "alice") as http:
        assert http.patch(f"/api/tickets/{ticket_id}", json={"status": "pending"}).is_success
    page.reload()
    expect(page.get_by_label("Notes")).to_have_value("Typed here, not saved")
    expect(page.locator("form.ticket-form").get_by_label("Status")).to_have_value("pending")
    page.get_by_role("button", name="Discard changes").click()
    alice.dialog().get_by_role("button", name="Discard").click()
    expect(page.get_by_label("Notes")).to_have_value("")


def test_set_a_new_customer_then_pick_an_existing_one(alice: Desk, tickets: dict[str, int]) -> None:
    page = alice.page
    ticket_id = tickets["5559999"]
    alice.goto(f"/tickets/{ticket_id}")
    expect(page.get_by_text("No customer matches 5559999.")).to_be_visible()
    page.get_by_role("button", name="Set customer").click()
    picker = page.locator(".customer-picker")
    picker.get_by_label("Name").fill("Walter Skinner")
    expect(picker.get_by_label("Phone")).to_have_value("5559999")
    picker.get_by_role("button", name="Create customer").click()
    expect(page.locator(".customer-card")).to_contain_text("Walter Skinner")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_hidden()
    with api(alice.server, "alice") as http:
        assert http.get(f"/api/tickets/{ticket_id}").json()["customer"]["name"] == "Walter Skinner"

    page.get_by_role("button", name="Change customer").click()
    picker.get_by_label("Find customer").fill("Dana")
    picker.get_by_role("button", name="Select Dana Scully").click()
    expect(page.locator(".customer-card")).to_contain_text("Dana Scully")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_hidden()
    page.reload()
    expect(page.locator(".customer-card")).to_contain_text("Dana Scully")


def test_unknown_ticket_says_so(alice: Desk) -> None:
    alice.goto("/tickets/999999")
    expect(alice.page.get_by_role("alert")).to_contain_text("does not exist")
