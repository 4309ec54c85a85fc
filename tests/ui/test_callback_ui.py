"""Queued callback in the pages: the admin turns callbacks on for a service (refused without a
calling number, saved with one), a callback's ticket is marked in the list and on its page,
and the widget's cards and the board's queues say which calls are callbacks."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from ringdesk.store.db import make_engine
from tests.support.callback import insert_callback_ticket
from tests.support.server import RunningServer
from tests.ui.desk import Desk, api


@pytest.fixture
def admin_desk(desk: Desk) -> Iterator[Desk]:
    desk.goto("/")
    desk.login("admin")
    yield desk


def test_turn_callbacks_on_in_the_service_page(admin_desk: Desk) -> None:
    server: RunningServer = admin_desk.server
    page = admin_desk.page
    with api(server, "admin") as http:
        created = http.post("/api/admin/services", json={"name": "Call me back"})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]

    admin_desk.goto(f"/admin/services/{sid}")
    offer = page.get_by_label("Offer callbacks (press 1 while waiting)")
    retry = page.get_by_label("Retry after (seconds)")
    attempts = page.get_by_label("Attempts", exact=True)
    expect(offer).not_to_be_checked()
    expect(retry).to_be_hidden()  # shown with callbacks on
    offer.check()
    expect(retry).to_have_value("300")
    expect(attempts).to_have_value("3")
    retry.fill("600")
    attempts.fill("4")
    caller_form = page.locator("form", has=offer)
    caller_form.get_by_role("button", name="Save").click()
    # no calling number yet: refused, said beside the Save button, the checkbox marked
    expect(caller_form.locator(".save-status.is-error")).to_contain_text(
        "Callbacks need a calling number"
    )
    expect(offer).to_have_attribute("aria-invalid", "true")
    with api(server, "admin") as http:
        assert http.get(f"/api/admin/services/{sid}").json()["callback_enabled"] is False
        http.post(
            f"/api/admin/services/{sid}/calling-numbers", json={"number": "5550700"}
        ).raise_for_status()

    caller_form.get_by_role("button", name="Save").click()
    expect(caller_form.get_by_text("Saved.", exact=True)).to_be_visible()
    expect(offer).not_to_have_attribute("aria-invalid", "true")
    with api(server, "admin") as http:
        service = http.get(f"/api/admin/services/{sid}").json()
    assert service["callback_enabled"] is True
    assert (service["callback_retry_seconds"], service["callback_max_attempts"]) == (600, 4)

    # an out-of-range value: the server's 422 names the field, the page says it by its label
    attempts.fill("11")
    caller_form.get_by_role("button", name="Save").click()
    error = caller_form.locator(".save-status.is-error")
    expect(error).to_contain_text("must be at most 10")
    expect(error).not_to_contain_text("callback_max_attempts")
    expect(attempts).to_have_attribute("aria-invalid", "true")

    page.reload()
    expect(offer).to_be_checked()
    expect(retry).to_have_value("600")
    expect(attempts).to_have_value("4")


def _callback_ticket(server: RunningServer, number: str) -> int:
    """A callback's ticket with one unanswered attempt, written into the server's database."""
    engine = make_engine(f"sqlite:///{(server.data_dir / 'ringdesk.db').resolve()}")
    now = time.time()
    try:
        return insert_callback_ticket(
            engine,
            number,
            caller="5557300",
            at=now,
            attempts=1,
            next_try_at=now + 600,
            last_reason="no_answer",
        )
    finally:
        engine.dispose()


def test_a_callback_ticket_is_marked_in_the_list_and_on_its_page(admin_desk: Desk) -> None:
    page = admin_desk.page
    ticket_id = _callback_ticket(admin_desk.server, "5557301")
    admin_desk.goto("/tickets")
    row = page.locator(f'tr[data-ticket="{ticket_id}"]')
    expect(row.locator(".badge-callback")).to_have_text("Callback")
    row.get_by_role("link", name=f"#{ticket_id}").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}$"))
    expect(page.locator('[data-testid="ticket-callback"]')).to_have_text(
        re.compile(r"^5557301 · waiting · 1 attempt · next try ")
    )


OFFER: dict[str, Any] = {
    "call_id": "cb-1",
    "service_id": 1,
    "service_name": "Customer Support",
    "caller": "5551234",
    "customer_name": None,
    "expires_at": None,
    "pickup_seconds": 20,
    "phone_ringing": False,
    "callback": True,
    "callback_number": "5559876",
}
CALL: dict[str, Any] = {
    "id": "cb-1",
    "side": "agent",
    "agent_id": 2,
    "agent_name": "Alice Martin",
    "service_id": 1,
    "service_name": "Customer Support",
    "direction": "inbound",
    "state": "dialing",
    "customer_number": "5551234",
    "customer_name": None,
    "calling_number": None,
    "connected_at": None,
    "ticket_id": None,
    "consult": None,
    "consult_ended": None,
    "callback_number": "5559876",
    "callback_attempts": 2,
}
QUEUE: dict[str, Any] = {
    "service_id": 1,
    "service_name": "Customer Support",
    "open": True,
    "next_change": None,
    "in_menu": 0,
    "waiting": 3,
    "callbacks": 2,
    "longest_wait_seconds": 95.0,
    "calls": [
        {
            "call_id": "c-1",
            "caller": "5551111",
            "since": None,
            "state": "queued",
            "callback_number": None,
            "callback_attempts": 0,
        },
        {
            "call_id": "cb-2",
            "caller": "5552222",
            "since": None,
            "state": "queued",
            "callback_number": "5552299",
            "callback_attempts": 0,
        },
        {
            "call_id": "cb-3",
            "caller": "5553333",
            "since": None,
            "state": "callback_wait",
            "callback_number": "5553333",
            "callback_attempts": 1,
        },
    ],
}
# The widget's cards and the board's queues, rendered by the app's own modules from the JSON
# the server sends (tests/unit/web/test_callback_shapes.py checks that JSON).
RENDER = """async ([offer, call, queue]) => {
  const cards = await import("/static/js/widget/cards.js");
  const board = await import("/static/js/pages/board.js");
  const host = document.createElement("div");
  host.id = "callback-test";
  const plain = {...offer, callback: false, callback_number: null, call_id: "c-9"};
  const talking = {...call, state: "talking", callback_number: null, callback_attempts: 0};
  host.append(
    cards.offerCard(offer), cards.offerCard(plain), cards.callCard(call, "dialing"),
    cards.callCard({...call, state: "connecting"}, "dialing"), cards.callCard(talking, "on_call"),
    board.queues([queue]),
  );
  document.body.prepend(host);
}"""


def test_the_widget_and_the_board_show_callbacks(admin_desk: Desk) -> None:
    page = admin_desk.page
    page.evaluate(RENDER, [OFFER, CALL, QUEUE])
    host = page.locator("#callback-test")
    offers = host.locator(".offer-card")
    callback, plain = offers.nth(0), offers.nth(1)
    expect(callback.locator(".offer-title")).to_have_text("Callback to 5559876")
    expect(callback.locator(".caller-number")).to_have_text("5559876")
    expect(callback.locator(".callback-note")).to_contain_text("asked to be called back")
    expect(callback.get_by_role("button", name="Call back")).to_be_visible()
    expect(plain.locator(".offer-title")).to_have_text("Incoming call")
    expect(plain.get_by_role("button", name="Answer")).to_be_visible()
    expect(plain.locator(".callback-note")).to_have_count(0)
    calls = host.locator(".call-card h3")
    expect(calls.nth(0)).to_have_text("Calling 5559876 back (attempt 2)")
    expect(calls.nth(1)).to_have_text("Callback to 5559876: pick up your phone")
    expect(calls.nth(2)).to_have_text("On call with 5551234")
    queue = host.locator('.queue[data-service="1"]')
    expect(queue.locator(".queue-numbers")).to_contain_text("3 waiting")
    expect(queue.locator(".queue-callbacks")).to_have_text(" · 2 callbacks")
    entries = queue.locator(".queue-calls li")
    expect(entries).to_have_count(3)
    expect(entries.nth(0).locator(".badge-callback")).to_have_count(0)
    expect(entries.nth(1)).to_have_attribute("data-callback", "true")
    expect(entries.nth(1)).to_contain_text("5552299")
    expect(entries.nth(1).locator(".badge-callback")).to_have_text("Callback")
    expect(entries.nth(2).locator(".badge-callback")).to_have_text("Callback · retry later")
