"""Every call flow of the manual clicked through in the browser, against the real switch:
SIPp is the customer (and the trunk), baresip is each agent's desk phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

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


def answer_incoming(
    desk: Desk, workdir: Path, *, shot: str = "", by_key: bool = False
) -> tuple[Customer, int]:
    """A customer calls; the widget blinks; Answer (or Alt+A) lands on the call's ticket."""
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
    if by_key:
        desk.page.locator("body").press("Alt+KeyA")
    else:
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
    # The long status fits the narrow tab at the screen edge (it ran past it).
    alice.widget.get_by_role("button", name="Close Call Widget").click()
    status = alice.toggle.locator(".widget-toggle-status")
    expect(status).to_have_text("Ticket work")
    expect(alice.toggle).to_have_attribute(
        "aria-label", "Call Widget: Business (Ticket Processing)"
    )
    fits = (
        "el => { const t = el.parentElement.getBoundingClientRect();"
        " const r = el.getBoundingClientRect();"
        " return r.left >= t.left && r.right <= t.right && el.scrollWidth <= el.clientWidth; }"
    )
    assert status.evaluate(fits)


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
        # An outbound call's customer was called, not the caller.
        facts = desk.page.locator(".ticket-side dl.facts").first
        expect(facts.locator("dt").first).to_have_text("Called")
        expect(desk.page.locator(".customer-card")).to_contain_text("Fox Mulder")
        desk.button("End").click()
        desk.expect_status("Business (Ticket Processing)")
        # The ticket list names the column for both directions.
        desk.page.get_by_role("link", name="Tickets", exact=True).click()
        expect(desk.page.locator("th", has_text="Caller")).to_have_count(0)
        expect(desk.page.locator("th", has_text="Number")).to_have_count(1)


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
    # The screen reader's live region does not keep announcing a call that is gone.
    expect(desk.page.locator("[aria-live=assertive]")).to_have_text("")


# A page the agent is not looking at: the test says when it is hidden (another window in front),
# and every desktop notification the page makes is kept for the test to read and click.
AWAY_SCRIPT = """
(() => {
  window.__away = false;
  Object.defineProperty(document, "visibilityState", {
    get: () => (window.__away ? "hidden" : "visible"),
  });
  Object.defineProperty(document, "hidden", { get: () => window.__away });
  document.hasFocus = () => !window.__away;
  window.__notes = [];
  window.__closed = [];
  const show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    window.__notes.push({
      title,
      body: options.body,
      tag: options.tag,
      callId: options.data.callId,
      actions: (options.actions || []).map((a) => a.title),
    });
    return show.call(this, title, options);
  };
  const close = Notification.prototype.close;
  Notification.prototype.close = function () {
    window.__closed.push(this.tag);
    return close.call(this);
  };
})();
"""

FAVICON = "document.querySelector('link[rel=icon]').getAttribute('href')"
RINGTONE = (
    "(() => { const a = document.querySelector('audio.ringtone');"
    " return a ? {paused: a.paused, time: a.currentTime, volume: a.volume, muted: a.muted}"
    " : null; })()"
)


def _away(desk: Desk, away: bool) -> None:
    desk.page.evaluate(
        "away => { window.__away = away; document.dispatchEvent(new Event('visibilitychange')); }",
        away,
    )


def test_an_offer_reaches_an_agent_who_is_not_looking_and_stops_when_gone(
    alice: Desk, tmp_path: Path
) -> None:
    desk = alice
    page = desk.page
    desk.context.grant_permissions(["notifications"], origin=desk.server.base_url)
    desk.context.add_init_script(AWAY_SCRIPT)
    desk.widget.get_by_role("button", name="Close Call Widget").click()
    page.reload()
    expect(desk.widget).to_be_hidden()
    page.mouse.click(5, 5)  # the agent has used the tab once (browsers' autoplay rule)
    assert page.evaluate(FAVICON) == "/static/img/favicon.svg"
    _away(desk, True)

    customer = call_in(desk.server, tmp_path / "first")
    # The widget opened by itself, the tab's title and icon say it, the ringtone plays.
    expect(desk.widget).to_be_visible()
    expect(desk.widget.locator(".offer-card")).to_contain_text("5551234")
    expect(page).to_have_title(re.compile(r"Incoming call · 5551234"))
    assert page.evaluate(FAVICON) == "/static/img/favicon-ringing.svg"
    ring = desk.wait_until(
        lambda: (r := page.evaluate(RINGTONE)) and not r["paused"] and r["time"] > 0 and r,
        what="the ringtone playing",
    )
    assert ring["volume"] == pytest.approx(0.8) and ring["muted"] is False
    notes = desk.wait_until(lambda: page.evaluate("window.__notes"), what="a notification")
    assert len(notes) == 1 and notes[0]["title"] == "Incoming call"
    assert notes[0]["body"] == "5551234 · Dana Scully · Customer Support"
    assert notes[0]["actions"] == ["Answer"]
    shown = desk.wait_until(
        lambda: page.evaluate(
            "tag => navigator.serviceWorker.getRegistration('/static/js/widget/')"
            ".then(r => r.getNotifications({tag})).then(ns => ns.length)",
            notes[0]["tag"],
        ),
        what="the notification shown by the browser",
    )
    assert shown == 1
    # Its Answer button (pressed in the service worker, as the browser would): answered.
    worker = next(w for w in desk.context.service_workers if "notify-sw.js" in w.url)
    before = page.url
    worker.evaluate("id => self.notificationClicked('answer', {callId: id})", notes[0]["callId"])
    desk.expect_status("On Call")
    page.wait_for_url(lambda url: bool(TICKET_URL.search(url)) and url != before)
    customer.wait_answered()
    assert page.evaluate(RINGTONE)["paused"] is True
    desk.wait_until(
        lambda: notes[0]["tag"] in page.evaluate("window.__closed"), what="notification closed"
    )
    assert page.evaluate(FAVICON) == "/static/img/favicon.svg"
    expect(page).not_to_have_title(re.compile("Incoming call"))
    expect(page.locator("[aria-live=assertive]")).to_have_text("")
    _away(desk, False)

    # The keyboard: Alt+H holds and resumes, Alt+E ends, also while typing in the ticket.
    page.get_by_label("Notes").click()
    page.keyboard.press("Alt+KeyH")
    desk.expect_status("On Hold")
    page.keyboard.press("Alt+KeyH")
    desk.expect_status("On Call")
    expect(page.get_by_label("Notes")).to_have_value("")  # nothing typed by the shortcuts
    page.keyboard.press("Alt+KeyE")
    desk.expect_status("Business (Ticket Processing)")
    customer.wait_ended()
    desk.set_status("Ready")

    # An offer that goes away unanswered (the caller hangs up) stops every alert too.
    title = page.title()
    _away(desk, True)
    second = call_in(desk.server, tmp_path / "second")
    expect(page).to_have_title(re.compile(r"Incoming call · 5551234"))
    desk.wait_until(lambda: page.evaluate("window.__notes.length") == 2, what="a notification")
    tag = page.evaluate("window.__notes[1].tag")
    second.hang_up()
    second.wait_ended()
    expect(desk.widget.locator(".offer-card")).to_have_count(0)
    expect(page).to_have_title(title)  # what the tab said before the offer
    desk.wait_until(lambda: page.evaluate(RINGTONE)["paused"], what="the ringtone stopped")
    desk.wait_until(lambda: tag in page.evaluate("window.__closed"), what="notification closed")
    assert page.evaluate(FAVICON) == "/static/img/favicon.svg"
    expect(page).not_to_have_title(re.compile("Incoming call"))
    expect(page.locator("[aria-live=assertive]")).to_have_text("")
    # Alt+A with nothing offered does nothing (the key is left to the browser).
    page.keyboard.press("Alt+KeyA")
    desk.expect_status("Ready")


def test_the_consulted_agent_sees_a_consultation_then_the_customer_after_connect(
    alice: Desk, phones: Phones, browser: Browser, tmp_path: Path
) -> None:
    desk = alice
    with Desk.open(browser, desk.server) as bob:
        bob.goto("/")
        bob.login("bob")
        bob.cti_login()
        bob.set_status("Ready")
        customer, ticket_id = answer_incoming(desk, tmp_path)

        def consult_bob() -> None:
            desk.button("Transfer").click()
            agents = desk.dialog().locator("section", has_text="Available Agents")
            agents.get_by_role("button", name="Connect Bob Chen").click()
            desk.expect_status("On Call (Transfer in Progress)")

        # Bob's side: a consultation from Alice, talking once his phone answered, and only the
        # buttons he can use; never the customer's Connect to Customer or Cancel.
        consult_bob()
        card = bob.widget.locator(".call-card")
        expect(card.get_by_role("heading")).to_have_text("Consultation from Alice Martin")
        expect(card.locator(".consult")).to_have_text("Talking")
        expect(card).to_contain_text("Dana Scully")
        expect(card.get_by_role("button")).to_have_text(["Hold", "End consultation"])
        expect(desk.widget.locator(".consult")).to_contain_text("talking")
        # He holds his end (Alice's phone gets the hold music) and ends it while holding.
        bob.button("Hold").click()
        bob.expect_status("On Hold")
        expect(card.get_by_role("button")).to_have_text(["Resume", "End consultation"])
        expect(desk.widget.locator(".consult")).to_contain_text("Bob Chen put you on hold")
        # Bob ends it: Alice is told so, her customer still on hold.
        bob.button("End consultation").click()
        bob.expect_status("Ready")
        desk.expect_status("On Hold")
        expect(desk.widget.get_by_role("alert")).to_contain_text("Bob Chen ended the consultation.")
        expect(desk.widget.get_by_role("alert")).to_contain_text("still on hold")

        # Again, and this time Alice connects: Bob has the customer's call and its ticket.
        consult_bob()
        expect(desk.widget.locator(".consult-ended")).to_have_count(0)
        expect(bob.widget.locator(".consult")).to_have_text("Talking")
        desk.button("Connect to Customer").click()
        desk.expect_status("Business (Ticket Processing)")
        expect(bob.widget.get_by_role("heading", name="On call with Dana Scully")).to_be_visible()
        for name in ("Hold", "Transfer", "End"):
            expect(bob.button(name)).to_be_visible()
        expect(bob.page).to_have_url(re.compile(rf"/tickets/{ticket_id}$"))
        # The timeline names the agent, not the CTI number.
        timeline = bob.page.locator(".timeline")
        expect(timeline).to_contain_text("Transferred to Bob Chen")
        expect(timeline).to_contain_text("Consultation call to Bob Chen")
        expect(timeline).to_contain_text("Bob Chen put the consultation on hold")
        bob.button("End").click()
        bob.expect_status("Business (Ticket Processing)")
        customer.wait_ended()


def test_a_failed_consultation_says_why_and_the_customer_waits_on_hold(
    alice: Desk, tmp_path: Path
) -> None:
    desk = alice
    customer, _ = answer_incoming(desk, tmp_path, by_key=True)
    with trunk(desk.server, tmp_path, "busy"):
        desk.page.locator("body").press("Alt+KeyT")  # opens the Transfer dialog
        expect(desk.dialog().get_by_role("heading", name="Transfer")).to_be_visible()
        desk.dialog().get_by_label("Transfer number").fill("5555678")
        desk.dialog().get_by_role("button", name="Consultation Call").click()
        alert = desk.widget.locator(".consult-ended")
        expect(alert).to_contain_text("5555678 is busy.", timeout=60_000)
        expect(alert).to_have_attribute("role", "alert")
        desk.expect_status("On Hold")
    assert customer.sipp.running()  # the customer is still there, on hold
    desk.button("Resume").click()
    desk.expect_status("On Call")
    expect(desk.widget.locator(".consult-ended")).to_have_count(0)
    desk.button("End").click()
    assert customer.wait_ended() == "by_switch"
