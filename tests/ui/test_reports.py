"""The admin's Reports page: a real call (SIPp customer, Alice's baresip phone) is answered and
ended and another caller gives up in the queue; Reports then shows them per service, per agent
and in total, and the CSV download carries the same figures."""

from __future__ import annotations

import csv
import io
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, expect

from tests.support.server import RunningServer
from tests.ui.calls import Phones, agent_phones, call_in
from tests.ui.desk import Desk, api, wait_until


@pytest.fixture(scope="module")
def phones(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phones]:
    with agent_phones(server, tmp_path_factory.mktemp("phones")) as registered:
        yield registered


TALK_SECONDS = 2.0
WAIT_SECONDS = 2.0
NO_VALUE = "\u2013"  # the en dash the page shows where there is no figure
LOCAL_DAYS = """() => {
  const day = (d) => [d.getFullYear(), d.getMonth() + 1, d.getDate()]
    .map((n) => String(n).padStart(2, "0")).join("-");
  const now = new Date();
  const before = new Date();
  before.setDate(before.getDate() - 1);
  return [Intl.DateTimeFormat().resolvedOptions().timeZone, day(now), day(before)];
}"""


def short_duration(seconds: float | None) -> str:
    """What the page shows for a duration (format.js shortDuration; JS rounds halves up)."""
    if seconds is None:
        return NO_VALUE
    s = math.floor(seconds + 0.5)
    if s < 60:
        return f"{s} s"
    minutes, rest = divmod(s, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def percent(share: float | None) -> str:
    return NO_VALUE if share is None else f"{math.floor(share * 100 + 0.5)} %"


def answered_call(server: RunningServer, workdir: Path) -> None:
    """A customer calls the demo service; Alice answers, talks, ends, and goes Ready again."""
    with api(server, "alice") as alice:
        assert alice.post("/api/cti/login").status_code == 200
        assert alice.put("/api/cti/status", json={"status": "ready"}).status_code == 200
        wait_until(
            lambda: alice.get("/api/cti/state").json()["phone_registered"],
            what="Alice's phone registered",
        )
        customer = call_in(server, workdir)
        offer = wait_until(
            lambda: alice.get("/api/cti/state").json()["offer"], what="the call offered to Alice"
        )
        answered = alice.post(f"/api/calls/{offer['call_id']}/answer")
        assert answered.status_code == 200, answered.text
        customer.wait_answered()

        def connected() -> dict[str, Any] | None:
            call: dict[str, Any] | None = alice.get("/api/cti/state").json()["call"]
            return call if call and call.get("connected_at") else None

        call = wait_until(connected, what="the call connected")
        time.sleep(TALK_SECONDS)  # talk time: the report's average talk is then not zero
        ended = alice.post(f"/api/calls/{call['id']}/end")
        assert ended.status_code == 200, ended.text
        assert customer.wait_ended() == "by_switch"
        wait_until(
            lambda: alice.get("/api/cti/state").json()["status"] == "ticket_processing",
            what="Ticket Processing",
        )
        # Leaving Ticket Processing ends the wrap-up, which the report averages.
        assert alice.put("/api/cti/status", json={"status": "ready"}).status_code == 200


def abandoned_call(server: RunningServer, workdir: Path) -> None:
    """With Alice on Rest nobody is Ready: a caller waits in the queue and hangs up."""
    with api(server, "alice") as alice:
        assert alice.put("/api/cti/status", json={"status": "rest"}).status_code == 200
    with api(server, "admin") as admin:
        customer = call_in(server, workdir, caller="5555678")

        def queued() -> bool:
            queues = admin.get("/api/board").json()["queues"]
            return any(q["service_id"] == 1 and q["waiting"] == 1 for q in queues)

        wait_until(queued, what="the caller waiting in the queue")
        time.sleep(WAIT_SECONDS)  # the caller gives up after a while, not at once
        customer.hang_up()
        # CANCEL while the queue music plays as early media, BYE when it plays answered.
        assert customer.wait_ended() in ("cancelled", "by_customer")


def row_cells(row: Locator) -> dict[str, str]:
    cells = row.locator("td[data-col]")
    return {
        str(cells.nth(i).get_attribute("data-col")): cells.nth(i).inner_text().strip()
        for i in range(cells.count())
    }


def shown(figures: dict[str, Any]) -> dict[str, str]:
    """The cells the page should show for a service's (or the total's) row of /api/stats."""
    callbacks = figures["callback_requested"]
    return {
        "offered": str(figures["offered"]),
        **{
            name: str(figures[name])
            for name in (
                "answered",
                "transferred_out",
                "abandoned",
                "overflowed",
                "closed",
                "menu_ended",
                "voicemail",
                "in_progress",
                "other",
                "refused",
            )
        },
        "callback_requested": (
            f"{callbacks} ({figures['callback_done']} done, {figures['callback_failed']} failed)"
            if callbacks
            else "0"
        ),
        "avg_abandon_seconds": short_duration(figures["avg_abandon_seconds"]),
        "avg_wait_seconds": short_duration(figures["avg_wait_seconds"]),
        "longest_wait_seconds": short_duration(figures["longest_wait_seconds"]),
        "avg_talk_seconds": short_duration(figures["avg_talk_seconds"]),
        "avg_wrap_up_seconds": short_duration(figures["avg_wrap_up_seconds"]),
        "service_level": percent(figures["service_level"]),
        "outbound": str(figures["outbound"]),
    }


def shown_agent(figures: dict[str, Any]) -> dict[str, str]:
    """The cells the page should show for an agent's row of /api/stats."""
    counts = (
        "offered",
        "answered",
        "missed",
        "declined",
        "transfers_made",
        "transfers_received",
        "outbound",
    )
    times = ("talk_seconds", "avg_talk_seconds", "wrap_up_seconds", "logged_in_seconds")
    return {
        **{name: str(figures[name]) for name in counts},
        **{name: short_duration(figures[name]) for name in times},
        "occupancy": percent(figures["occupancy"]),
    }


def test_reports_show_an_answered_call_and_download_it_as_csv(
    desk: Desk, phones: Phones, tmp_path: Path
) -> None:
    answered_call(desk.server, tmp_path / "answered")
    abandoned_call(desk.server, tmp_path / "abandoned")
    desk.goto("/")
    page = desk.page
    # The page counts days in the browser's time zone; the figures to expect are taken so too.
    tz, today, yesterday = page.evaluate(LOCAL_DAYS)
    with api(desk.server, "admin") as admin:
        users = {u["username"]: u["id"] for u in admin.get("/api/admin/users").json()}

        def complete() -> dict[str, Any] | None:
            body: dict[str, Any] = admin.get("/api/stats", params={"tz": tz}).json()
            # The wrap-up is recorded when Alice leaves Ticket Processing, the abandoned call
            # when the caller hangs up.
            support = body["services"][0]
            done = support["avg_wrap_up_seconds"] is not None and support["abandoned"] == 1
            return body if done else None

        stats = wait_until(complete, what="the call's record complete")
    support = stats["services"][0]
    assert (support["offered"], support["answered"], support["abandoned"]) == (2, 1, 1)
    assert support["service_level"] == 0.5 and support["avg_talk_seconds"] >= TALK_SECONDS
    assert support["avg_abandon_seconds"] >= WAIT_SECONDS

    desk.login("admin")
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    expect(page).to_have_url(f"{desk.server.base_url}/admin/reports")
    expect(page.get_by_label("From")).to_have_value(today)
    expect(page.get_by_label("To")).to_have_value(today)

    services = page.locator("[data-testid=report-services]")
    service_row = services.locator("tr[data-service='1']")
    expect(service_row).to_contain_text("Customer Support")
    expect(service_row.locator("[data-col=offered]")).to_have_text("2")
    expect(service_row.locator("[data-col=answered]")).to_have_text("1")
    expect(service_row.locator("[data-col=abandoned]")).to_have_text("1")
    expect(service_row.locator("[data-col=service_level]")).to_have_text("50 %")
    assert row_cells(service_row) == shown(support)
    assert row_cells(services.locator("tr[data-service='total']")) == shown(stats["total"])

    agents = page.locator("[data-testid=report-agents]")
    alice_row = agents.locator(f"tr[data-agent='{users['alice']}']")
    expect(alice_row).to_contain_text("Alice Martin")
    expect(alice_row.locator("[data-col=answered]")).to_have_text("1")
    alice_figures = next(a for a in stats["agents"] if a["agent_id"] == users["alice"])
    # Alice is still logged in: her logged-in time (and so her occupancy) grows until the page
    # asks; every other cell is the API's.
    moving = ("logged_in_seconds", "occupancy")
    alice_cells = row_cells(alice_row)
    assert {k: v for k, v in alice_cells.items() if k not in moving} == {
        k: v for k, v in shown_agent(alice_figures).items() if k not in moving
    }
    assert alice_cells["logged_in_seconds"] != NO_VALUE and alice_cells["occupancy"].endswith("%")
    assert alice_figures["talk_seconds"] >= TALK_SECONDS and alice_figures["offered"] == 1
    carol_row = agents.locator(f"tr[data-agent='{users['carol']}']")
    expect(carol_row.locator("[data-col=offered]")).to_have_text("0")
    expect(page.locator(".tiles .tile-value").first).to_have_text("2")
    expect(page.get_by_test_id("report-zone")).to_have_text(f"Days in the time zone {tz}")
    desk.screenshot("reports")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"ringdesk-stats-{today}-to-{today}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = {(r["row"], r["id"]): r for r in csv.DictReader(io.StringIO(text))}
    csv_support = rows[("service", "1")]
    assert (csv_support["from"], csv_support["to"]) == (today, today)
    assert csv_support["name"] == "Customer Support"
    assert (csv_support["offered"], csv_support["answered"], csv_support["abandoned"]) == (
        "2",
        "1",
        "1",
    )
    for key in (
        "avg_abandon_seconds",
        "avg_wait_seconds",
        "longest_wait_seconds",
        "avg_talk_seconds",
        "avg_wrap_up_seconds",
        "service_level",
    ):
        assert float(csv_support[key]) == support[key], key
    csv_alice = rows[("agent", str(users["alice"]))]
    assert (csv_alice["name"], csv_alice["answered"]) == ("Alice Martin", "1")
    assert (rows[("total", "")]["offered"], rows[("total", "")]["abandoned"]) == ("2", "1")

    # Another range: yesterday had no calls; the range is kept in the address.
    page.get_by_role("button", name="Yesterday").click()
    expect(page).to_have_url(
        f"{desk.server.base_url}/admin/reports?from={yesterday}&to={yesterday}"
    )
    expect(page.get_by_label("From")).to_have_value(yesterday)
    expect(service_row.locator("[data-col=offered]")).to_have_text("0")
    expect(service_row.locator("[data-col=service_level]")).to_have_text(NO_VALUE)
    page.reload()
    expect(page.get_by_label("To")).to_have_value(yesterday)
    expect(service_row.locator("[data-col=answered]")).to_have_text("0")


def test_reports_refuse_a_backwards_range_and_are_for_admins_only(desk: Desk) -> None:
    desk.goto("/")
    desk.login("admin")
    desk.goto("/admin/reports?from=2026-03-01&to=2026-03-31")
    page = desk.page
    expect(page.get_by_label("From")).to_have_value("2026-03-01")
    expect(page.get_by_label("To")).to_have_value("2026-03-31")
    expect(page.locator("[data-testid=report-services] tr[data-service='1']")).to_be_visible()
    page.get_by_label("From").fill("2026-03-20")
    page.get_by_label("To").fill("2026-03-10")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="before the start date")).to_be_visible()
    expect(page).to_have_url(f"{desk.server.base_url}/admin/reports?from=2026-03-01&to=2026-03-31")
    page.get_by_role("button", name="Log out").click()
    desk.login("bob")
    desk.goto("/admin/reports")
    expect(page.get_by_role("heading", name="Admins only")).to_be_visible()


def test_a_supervisor_reaches_the_reports_of_their_services(desk: Desk) -> None:
    """A supervisor's Reports (top navigation, /reports): their service, no admin pages."""
    with api(desk.server, "admin") as admin:
        carol = next(u for u in admin.get("/api/admin/users").json() if u["username"] == "carol")
        admin.patch(f"/api/admin/users/{carol['id']}", json={"role": "supervisor"})
    try:
        desk.goto("/")
        desk.login("carol")
        page = desk.page
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
        expect(page).to_have_url(re.compile(r"/reports($|\?)"))
        expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
        row = page.locator("[data-testid=report-services] tr[data-service='1']")
        expect(row).to_contain_text("Customer Support")
        expect(page.get_by_role("navigation", name="Settings")).to_have_count(0)
        expect(page.locator(".callout-error")).to_have_count(0)
        # exact: the board's "Today" card may still be leaving the page
        page.get_by_label("From", exact=True).fill("2026-03-01")
        page.get_by_label("To", exact=True).fill("2026-03-02")
        page.get_by_role("button", name="Show", exact=True).click()
        expect(page).to_have_url(f"{desk.server.base_url}/reports?from=2026-03-01&to=2026-03-02")
        expect(row).to_be_visible()
    finally:
        with api(desk.server, "admin") as admin:
            admin.patch(f"/api/admin/users/{carol['id']}", json={"role": "agent"})
