"""A customer's history in the browser: the ticket page's Previous tickets and its link to the
customer page (their tickets and calls, details editable), "My tickets" on the list, and the
widget's incoming card naming the caller's last ticket on a real call.

The earlier tickets are written into the server's database as the recorder writes them."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.db import make_engine
from tests.support.server import RunningServer
from tests.ui.calls import agent_phones, call_in
from tests.ui.desk import Desk, api, wait_until

DANA = "5551234"  # the demo's Dana Scully


@pytest.fixture(scope="module")
def scene(server: RunningServer) -> dict[str, int]:
    with api(server, "admin") as http:
        users = {u["username"]: u["id"] for u in http.get("/api/admin/users").json()}
        dana = http.get("/api/customers", params={"q": "Scully"}).json()[0]["id"]
    now = time.time()
    rows: dict[str, dict[str, Any]] = {
        "router": {
            "customer_number": DANA,
            "customer_id": dana,
            "agent_id": users["alice"],
            "subject": "Router keeps rebooting",
            "created_at": now - 3 * 86400,
        },
        "invoice": {
            "customer_number": DANA,
            "customer_id": dana,
            "agent_id": users["bob"],
            "subject": "Invoice question",
            "status": "solved",
            "created_at": now - 86400,
        },
        "other": {
            "customer_number": "5559999",
            "agent_id": users["alice"],
            "subject": "Somebody else",
            "created_at": now - 3600,
        },
    }
    engine = make_engine(f"sqlite:///{(server.data_dir / 'ringdesk.db').resolve()}")
    ids: dict[str, int] = {"dana": dana}
    try:
        with Session(engine) as db:
            for key, row in rows.items():
                values = {"direction": "inbound", "service_id": 1, "notes": ""} | row
                ticket = m.Ticket(**values)
                db.add(ticket)
                db.flush()
                ids[key] = ticket.id
            db.add(
                m.CallRecord(
                    call_id="ui-router",
                    service_id=1,
                    direction="inbound",
                    customer_number=DANA,
                    agent_id=users["alice"],
                    ticket_id=ids["router"],
                    arrived_at=now - 3 * 86400 - 30,
                    talk_seconds=125.0,
                    outcome="answered",
                )
            )
            db.commit()
    finally:
        engine.dispose()
    return ids


@pytest.fixture
def alice(desk: Desk, scene: dict[str, int]) -> Desk:
    desk.goto("/")
    desk.login("alice")
    return desk


def test_previous_tickets_and_the_customer_page(alice: Desk, scene: dict[str, int]) -> None:
    page = alice.page
    alice.goto(f"/tickets/{scene['invoice']}")
    previous = page.locator("[data-testid=previous-tickets]")
    expect(previous.get_by_role("heading", name="Previous tickets")).to_be_visible()
    expect(previous.locator("li[data-ticket]")).to_have_count(1)
    expect(previous.locator(f'li[data-ticket="{scene["router"]}"]')).to_contain_text(
        "Router keeps rebooting"
    )
    expect(previous).to_contain_text("Alice Martin")

    page.locator(".customer-card").get_by_role("link", name="Dana Scully").click()
    expect(page).to_have_url(re.compile(rf"/customers/{scene['dana']}$"))
    expect(page.get_by_role("heading", name="Dana Scully", level=1)).to_be_visible()
    expect(page.locator("[data-testid=customer-counts]")).to_have_text("2 tickets · 1 call")
    tickets = page.locator("tr[data-ticket]")
    expect(tickets).to_have_count(2)
    expect(tickets.nth(0)).to_have_attribute("data-ticket", str(scene["invoice"]))
    expect(tickets.nth(1)).to_contain_text("Router keeps rebooting")
    call = page.locator('tr[data-call="ui-router"]')
    expect(call).to_contain_text("Answered")
    expect(call).to_contain_text("Alice Martin")

    # her details, edited here
    page.get_by_label("Email (optional)").fill("dana@fbi.example")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Dana Scully saved.")).to_be_visible()
    with api(alice.server, "alice") as http:
        assert http.get(f"/api/customers/{scene['dana']}").json()["email"] == "dana@fbi.example"

    # back to a ticket from the customer's list
    tickets.nth(1).get_by_role("link", name=f"#{scene['router']}").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{scene['router']}$"))
    expect(page.locator("[data-testid=previous-tickets]")).to_contain_text("Invoice question")


def test_my_tickets_filters_the_list(alice: Desk, scene: dict[str, int]) -> None:
    page = alice.page
    alice.goto("/tickets")
    rows = page.locator("tr[data-ticket]")
    expect(rows).to_have_count(3)
    whose = page.get_by_role("group", name="Whose tickets")
    expect(whose.get_by_role("button", name="All")).to_have_attribute("aria-pressed", "true")
    whose.get_by_role("button", name="My tickets").click()
    expect(page).to_have_url(re.compile(r"mine=true"))
    expect(rows).to_have_count(2)  # Bob's invoice ticket is not hers
    expect(page.locator(f'tr[data-ticket="{scene["invoice"]}"]')).to_have_count(0)
    page.reload()  # kept in the address
    expect(whose.get_by_role("button", name="My tickets")).to_have_attribute("aria-pressed", "true")
    expect(rows).to_have_count(2)
    whose.get_by_role("button", name="All").click()
    expect(rows).to_have_count(3)
    expect(page).not_to_have_url(re.compile(r"mine="))
    # the list's customer opens the customer page
    page.locator(f'tr[data-ticket="{scene["invoice"]}"]').get_by_role(
        "link", name="Dana Scully"
    ).click()
    expect(page).to_have_url(re.compile(rf"/customers/{scene['dana']}$"))
    expect(page.get_by_role("heading", name="Dana Scully", level=1)).to_be_visible()


def test_the_incoming_card_names_the_callers_last_ticket(
    alice: Desk, scene: dict[str, int], tmp_path: Path
) -> None:
    with agent_phones(alice.server, tmp_path / "phones"), api(alice.server, "alice") as http:
        assert http.post("/api/cti/login").status_code == 200
        assert http.put("/api/cti/status", json={"status": "ready"}).status_code == 200
        customer = call_in(alice.server, tmp_path, caller=DANA)
        alice.open_widget()
        offer = alice.widget.locator(".offer-card")
        last = offer.locator("[data-testid=offer-last-ticket]")
        expect(last).to_contain_text("Invoice question")  # the newest of hers
        expect(last.get_by_role("link", name="Invoice question")).to_have_attribute(
            "href", f"/tickets/{scene['invoice']}"
        )
        state = http.get("/api/cti/state").json()
        assert state["offer"]["last_ticket"]["id"] == scene["invoice"]
        call_id = state["offer"]["call_id"]
        assert http.post(f"/api/calls/{call_id}/answer").status_code == 200
        wait_until(
            lambda: (c := http.get("/api/cti/state").json()["call"]) and c["ticket_id"],
            what="the connected call",
        )
        customer.wait_answered()
        assert http.post(f"/api/calls/{call_id}/end").status_code == 200
        customer.wait_ended()
