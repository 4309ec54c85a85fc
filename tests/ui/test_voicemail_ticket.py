"""A voicemail left out of hours reaches the service's agent as a ticket (announced in her
open page, listed without a reload), and she plays it in the ticket page: the browser fetches
the WAV with her session and the audio element plays it to the end."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

from playwright.sync_api import expect

from tests.support.rtp import make_signal
from tests.ui.browser_phone import customer_calls
from tests.ui.desk import Desk, api


def test_a_voicemail_ticket_plays_in_the_ticket_page(desk: Desk, tmp_path: Path) -> None:
    server = desk.server
    today = dt.datetime.now(dt.UTC).date().isoformat()
    with api(server, "admin") as http:
        changed = http.patch(
            "/api/admin/services/1",
            json={"closed_action": "voicemail", "voicemail_max_seconds": 20},
        )
        assert changed.status_code == 200, changed.text
        hours = http.put(
            "/api/admin/services/1/hours",
            json={
                "timezone": "UTC",
                "weekly": [],
                "holidays": [{"name": "Today", "first": today, "last": today}],
            },
        )
        assert hours.status_code == 200 and hours.json()["open_now"] is False, hours.text
        greeting = http.put(  # short: the test's time goes to the message
            "/api/admin/cti/prompts/voicemail.1", json={"text": "Leave a message."}
        )
        assert greeting.status_code == 200, greeting.text

    # Alice (Support) has her ticket list open: the message reaches her without a reload.
    desk.goto("/")
    desk.login("alice")
    desk.goto("/tickets")

    rtp, customer = customer_calls(server, tmp_path)
    customer.wait_answered()
    rtp.wait_packets(40)  # the greeting and the beep
    rtp.wait_quiet(quiet_for=0.5)
    rtp.send_samples(make_signal(3.0, seed=77), loop=False)
    time.sleep(3.2)
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"

    expect(desk.page.get_by_text("New voicemail from 5551234")).to_be_visible(timeout=10_000)
    row = desk.page.locator("tr", has=desk.page.locator(".badge-voicemail")).first
    expect(row).to_be_visible(timeout=10_000)
    row.get_by_role("link").first.click()
    audio = desk.page.locator("audio[data-recording]")
    expect(audio).to_have_attribute("src", re.compile(r"^blob:"))
    played = desk.page.evaluate(
        """async () => {
            const audio = document.querySelector("audio[data-recording]");
            audio.muted = true;
            await audio.play();
            await new Promise((done) => audio.addEventListener("ended", done, { once: true }));
            return audio.duration;
        }"""
    )
    assert 2.0 <= played <= 6.0, played
