"""Every call flow of the manual clicked through in the browser, against the real switch:
SIPp is the customer (and the trunk), baresip is each agent's desk phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.server import RunningServer
from tests.support.sipp import Customer
from tests.ui.calls import Phones, agent_phones, call_in, trunk
from tests.ui.desk import Desk, api

TICKET_URL = re.compile(r"/tickets/(\d+)$")


@pytest.fixture(scope="module")
def phones(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phones]:
    with agent_phones(server, tmp_path_factory.mktemp("phones")) as registered:
        yield registered


@pytest.fixture
def alice(desk: Desk, phones: Phones) -> Desk:
    """Alice logged in to the desktop and to CTI, Ready, her phone registered."""
    desk.goto("/")
    desk.login("alice")
    desk.cti_login()
    expect(desk.widget.get_by_text("Phone not registered")).to_have_count(0)
    desk.set_status("Ready")
    return desk


def cti_login(server: RunningServer, username: str, status: str = "business") -> None:
    """Another agent logs in to CTI (through the API) and picks a status."""
    with api(server, username) as http:
        assert http.post("/api/cti/login").status_code == 200
        assert http.put("/api/cti/status", json={"status": status}).status_code == 200


def answer_incoming(desk: Desk, workdir: Path, *, shot: str = "") -> tuple[Customer, int]:
    """A customer calls; the widget blinks; Answer lands on the call's ticket."""
    customer = call_in(desk.server, workdir)
    expect(desk.toggle).to_have_class(re.compile(r"\bis-ringing\b"))
    widget = desk.open_widget()
    offer = widget.locator(".offer-card")
    expect(offer).to_contain_text("5551234")
    expect(offer).to_contain_text("Dana Scully")
    expect(offer).to_contain_text("Customer Support")
    expect(offer.locator(".countdown-left")).to_have_text(re.compile(r"^\d+ s$"))
    if shot:
        desk.screenshot(shot)
    before = desk.page.url
    desk.button("Answer").click()
    desk.page.wait_for_url(lambda url: bool(TICKET_URL.search(url)) and url != before)
    found = TICKET_URL.search(desk.page.url)
    assert found
    desk.expect_status("On Call")
    expect(desk.toggle).not_to_have_class(re.compile(r"\bis-ringing\b"))
    customer.wait_answered()
    return customer, int(found[1])


def test_inbound_call_answer_hold_resume_notes_end_and_ready(alice: Desk, tmp_path: Path) -> None:
    desk = alice
    customer, ticket_id = answer_incoming(desk, tmp_path, shot="incoming-call")
    page = desk.page
    # The ticket screen: caller, matched customer, the call in its timeline.
    expect(page.get_by_role("heading", name=f"Ticket #{ticket_id}")).to_be_visible()
    expect(page.locator("[data-testid=ticket-caller]")).to_have_text("5551234")
    expect(page.locator(".customer-card")).to_contain_text("Dana Scully")
    expect(desk.widget.locator(".call-timer")).to_have_text(re.compile(r"^0:0\d$"))

    desk.button("Hold").click()
    desk.expect_status("On Hold")
    desk.button("Resume").click()
    desk.expect_status("On Call")

    page.get_by_label("Subject").fill("Billing question")
    page.get_by_label("Notes").fill("Customer asks about the March invoice.")
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_hidden()
    desk.screenshot("ticket")

    desk.button("End").click()
    desk.expect_status("Business (Ticket Processing)")
    assert customer.wait_ended() == "by_switch"
    desk.set_status("Ready")
    # The agent's home: the ticket list with this call's ticket, the widget Ready.
    page.get_by_role("link", name="Tickets", exact=True).click()
    expect(page.locator(f"tr[data-ticket='{ticket_id}']")).to_contain_text("Billing question")
    desk.screenshot("agent-home")

    with api(desk.server, "alice") as http:
        ticket = http.get(f"/api/tickets/{ticket_id}").json()
    assert ticket["subject"] == "Billing question"
    assert ticket["notes"] == "Customer asks about the March invoice."
    assert ticket["customer"]["name"] == "Dana Scully"
    assert ticket["ended_at"]
    # The ticket's timeline lists the call's events.
    page.locator(f"tr[data-ticket='{ticket_id}']").get_by_role("link").first.click()
    expect(page.locator(".timeline li").first).to_be_visible()
    expect(page.locator(".ticket-side")).to_contain_text("Hold")


def test_customer_hanging_up_ends_the_call_in_the_widget(alice: Desk, tmp_path: Path) -> None:
    customer, _ = answer_incoming(alice, tmp_path)
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    alice.expect_status("Business (Ticket Processing)")
    expect(alice.widget.locator(".call-card")).to_have_count(0)


def test_transfer_by_direct_input_then_connect_to_customer(
    alice: Desk, phones: Phones, tmp_path: Path
) -> None:
    desk = alice
    customer, _ = answer_incoming(desk, tmp_path)
    desk.button("Transfer").click()
    dialog = desk.dialog()
    expect(dialog.get_by_role("heading", name="Transfer")).to_be_visible()
    dialog.get_by_label("Transfer number").fill("1002")  # Bob's CTI number rings his phone
    # Bob is logged out of CTI: the server's reason is shown, and the dialog stays.
    dialog.get_by_role("button", name="Consultation Call").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Bob Chen cannot take a call now")
    desk.expect_status("On Call")
    cti_login(desk.server, "bob")
    dialog.get_by_role("button", name="Consultation Call").click()
    expect(dialog).to_have_count(0)
    desk.expect_status("On Call (Transfer in Progress)")
    expect(desk.widget.locator(".consult")).to_contain_text("1002")
    expect(desk.widget.locator(".consult")).to_contain_text("talking")  # Bob's phone answered
    desk.button("Connect to Customer").click()
    desk.expect_status("Business (Ticket Processing)")
    # The customer is still on the line, now with Bob.
    with api(desk.server, "bob") as http:
        bob_state = http.get("/api/cti/state").json()
    assert customer.sipp.running()
    assert bob_state["call"] is None or bob_state["call"]["customer_number"] == "5551234"
    customer.hang_up()
    customer.wait_ended()


def test_transfer_to_a_frequently_used_number_cancel_and_resume(
    alice: Desk, phones: Phones, tmp_path: Path
) -> None:
    desk = alice
    customer, _ = answer_incoming(desk, tmp_path)
    desk.button("Transfer").click()
    dialog = desk.dialog()
    favourites = dialog.locator("section", has_text="Frequently Used Numbers")
    favourites.get_by_role("button", name="Add", exact=True).click()
    favourites.get_by_label("Label").fill("Bob desk")
    favourites.get_by_label("Number", exact=True).fill("1002")
    favourites.get_by_role("button", name="Save number").click()
    expect(favourites.locator("[data-favorite]")).to_contain_text("Bob desk")

    # Rename it (a dialog over the dialog), and keep a second one to remove.
    favourites.get_by_role("button", name="Rename Bob desk").click()
    rename = desk.page.locator("dialog[open]", has_text="Rename number")
    rename.get_by_label("Label").fill("Bob Chen (desk)")
    rename.get_by_role("button", name="Rename").click()
    expect(favourites.locator("[data-favorite]")).to_contain_text("Bob Chen (desk)")
    favourites.get_by_role("button", name="Add", exact=True).click()
    favourites.get_by_label("Label").fill("Old number")
    favourites.get_by_label("Number", exact=True).fill("5550999")
    favourites.get_by_role("button", name="Save number").click()
    expect(favourites.locator("[data-favorite]")).to_have_count(2)
    favourites.get_by_role("button", name="Remove Old number").click()
    desk.page.locator("dialog[open]", has_text="Remove number").get_by_role(
        "button", name="Remove"
    ).click()
    expect(favourites.locator("[data-favorite]")).to_have_count(1)
    with api(desk.server, "alice") as http:
        stored = http.get("/api/me/favorites").json()
    assert [(f["label"], f["number"]) for f in stored] == [("Bob Chen (desk)", "1002")]

    cti_login(desk.server, "bob")
    favourites.get_by_role("button", name="Connect Bob Chen (desk)").click()
    desk.expect_status("On Call (Transfer in Progress)")
    desk.button("Cancel").click()
    desk.expect_status("On Hold")
    desk.button("Resume").click()
    desk.expect_status("On Call")
    desk.button("End").click()
    desk.expect_status("Business (Ticket Processing)")
    assert customer.wait_ended() == "by_switch"


def test_transfer_to_an_available_agent(alice: Desk, phones: Phones, tmp_path: Path) -> None:
    desk = alice
    customer, _ = answer_incoming(desk, tmp_path)
    desk.button("Transfer").click()
    dialog = desk.dialog()
    agents = dialog.locator("section", has_text="Available Agents")
    expect(agents).to_contain_text("No agent is Ready right now.")
    # Bob becomes Ready while the dialog is open: the list follows.
    cti_login(desk.server, "bob", "ready")
    expect(agents.locator("[data-agent]")).to_contain_text("Bob Chen")
    agents.get_by_label("Search agents").fill("zzz")
    expect(agents).to_contain_text("No Ready agent matches.")
    agents.get_by_label("Search agents").fill("bob")
    expect(agents.locator("[data-agent]")).to_have_count(1)
    desk.screenshot("transfer-dialog")
    agents.get_by_role("button", name="Connect Bob Chen").click()
    desk.expect_status("On Call (Transfer in Progress)")
    expect(desk.widget.locator(".consult")).to_contain_text("Bob Chen")
    desk.button("Connect to Customer").click()
    desk.expect_status("Business (Ticket Processing)")
    with api(desk.server, "bob") as http:
        state = desk.wait_until(
            lambda: (s := http.get("/api/cti/state").json())["call"] and s,
            what="Bob has the customer",
        )
    assert state["call"]["customer_number"] == "5551234"
    customer.hang_up()
    customer.wait_ended()


def test_force_disconnect_asks_first_then_ends_the_call(alice: Desk, tmp_path: Path) -> None:
    desk = alice
    customer, _ = answer_incoming(desk, tmp_path)
    desk.button("Force Disconnect").click()
    confirm = desk.dialog()
    expect(confirm).to_contain_text("force-disconnect message")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Cancel").click()
    desk.expect_status("On Call")
    desk.button("Force Disconnect").click()
    desk.dialog().get_by_role("button", name="Force Disconnect").click()
    assert customer.wait_ended(timeout=60) == "by_switch"
    desk.expect_status("Business (Ticket Processing)")


def test_dial_up_with_a_registered_calling_number(alice: Desk, tmp_path: Path) -> None:
    desk = alice
    with trunk(desk.server, tmp_path) as carrier:
        desk.button("Dial up").click()
        dialog = desk.dialog()
        dialog.get_by_label("Customer number").fill("5555678")
        dialog.get_by_label("Calling number").select_option("5550199")
        dialog.get_by_role("button", name="Confirm").click()
        invite = carrier.wait_invite()
        assert "5550199" in invite.split("\r\n\r\n")[0]
        expect(desk.page).to_have_url(TICKET_URL)
        desk.expect_status("On Call")
        expect(desk.page.locator("[data-testid=ticket-caller]")).to_have_text("5555678")
        expect(desk.page.locator(".customer-card")).to_contain_text("Fox Mulder")
        desk.button("End").click()
        desk.expect_status("Business (Ticket Processing)")


def test_dial_up_refuses_a_bad_number_and_reports_busy(alice: Desk, tmp_path: Path) -> None:
    desk = alice
    desk.button("Dial up").click()
    dialog = desk.dialog()
    dialog.get_by_label("Customer number").fill("call me")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "“c” cannot be dialled: use digits, a leading +, * and #."
    )
    # The dial plan's refusal, in the server's words, and the dialog stays open to correct it.
    dialog.get_by_label("Customer number").fill("+1 (900) 555-0100")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_role("alert")).to_contain_text(
        "+19005550100 is a premium-rate number (+1900)"
    )
    dialog.get_by_label("Customer number").fill("00 49 30 1234567")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_role("alert")).to_contain_text("+49301234567 is an international number")
    dialog.get_by_role("button", name="Cancel").click()
    with trunk(desk.server, tmp_path, "busy"):
        desk.button("Dial up").click()
        dialog = desk.dialog()
        dialog.get_by_label("Customer number").fill("5555678")
        dialog.get_by_role("button", name="Confirm").click()
        expect(desk.widget.get_by_role("alert")).to_contain_text("busy", timeout=60_000)
    expect(desk.widget.locator(".call-card")).to_have_count(0)


def test_a_new_call_keeps_unsaved_notes_of_the_open_ticket(alice: Desk, tmp_path: Path) -> None:
    desk = alice
    page = desk.page
    first, first_ticket = answer_incoming(desk, tmp_path / "first")
    desk.button("End").click()
    first.wait_ended()
    page.get_by_label("Notes").fill("Half-written notes about the first call")
    desk.set_status("Ready")

    second, second_ticket = answer_incoming(desk, tmp_path / "second")
    assert second_ticket != first_ticket
    expect(page.get_by_text(f"unsaved changes to ticket #{first_ticket} are kept")).to_be_visible()
    desk.button("End").click()
    second.wait_ended()
    desk.goto(f"/tickets/{first_ticket}")
    expect(page.get_by_label("Notes")).to_have_value("Half-written notes about the first call")
    expect(page.get_by_text("Unsaved changes", exact=True)).to_be_visible()


def test_unanswered_offer_counts_down_then_the_agent_goes_to_rest(
    alice: Desk, tmp_path: Path
) -> None:
    desk = alice
    with api(desk.server, "admin") as http:
        settings = http.get("/api/admin/cti/settings").json()
        short = {**settings, "pickup_seconds": 4, "pickup_timeout_status": "rest"}
        assert http.put("/api/admin/cti/settings", json=short).status_code == 200
    try:
        customer = call_in(desk.server, tmp_path)
        desk.open_widget()
        expect(desk.widget.locator(".offer-card")).to_contain_text("Answer within")
        # Nobody answers: the offer is taken back and the agent moved to Rest, with the reason.
        desk.expect_status("Rest")
        expect(desk.widget.locator(".offer-card")).to_have_count(0)
        expect(desk.toggle).not_to_have_class(re.compile(r"\bis-ringing\b"))
        expect(desk.widget.locator(".status-reason")).to_contain_text("not answered in time")
        customer.hang_up()
        customer.wait_ended()
    finally:
        with api(desk.server, "admin") as http:
            http.put("/api/admin/cti/settings", json=settings)


def test_incoming_call_blinks_unless_the_user_prefers_reduced_motion(
    alice: Desk, tmp_path: Path
) -> None:
    desk = alice
    customer = call_in(desk.server, tmp_path)
    expect(desk.toggle).to_have_class(re.compile(r"\bis-ringing\b"))
    style = (
        "el => { const s = getComputedStyle(el);"
        " return [s.animationName, s.animationIterationCount, s.outlineStyle]; }"
    )
    name, count, _ = desk.toggle.evaluate(style)
    assert (name, count) == ("ring-pulse", "infinite")
    # Reduced motion: no blinking, a steady strong outline instead; the text still says it.
    desk.page.emulate_media(reduced_motion="reduce")
    name, count, outline = desk.toggle.evaluate(style)
    assert count == "1" and outline == "solid"
    expect(desk.toggle).to_have_attribute("aria-label", "Call Widget: incoming call")
    expect(desk.page.locator("[aria-live=assertive]")).to_have_text(
        re.compile(r"Incoming call from 5551234, Dana Scully, Customer Support")
    )
    customer.hang_up()
    customer.wait_ended()
    expect(desk.toggle).not_to_have_class(re.compile(r"\bis-ringing\b"))
