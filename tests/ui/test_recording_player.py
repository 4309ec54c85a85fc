"""A recorded call's ticket page plays its recording: a SIPp customer talks with Alice's desk
phone while the global setting records calls; on the ticket the <audio> element loads the WAV
(fetched with her session, no media error) and its duration is the call's recorded length."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.rtp import make_signal
from tests.support.server import RunningServer
from tests.ui.browser_phone import customer_calls
from tests.ui.calls import Phones, agent_phones
from tests.ui.desk import Desk, api, reset_agents, wait_until

TALK_SECONDS = 4.0


@pytest.fixture
def phones(server: RunningServer, tmp_path: Path) -> Iterator[Phones]:
    with agent_phones(server, tmp_path / "phones") as registered:
        yield registered


@pytest.fixture
def recording(server: RunningServer) -> Iterator[None]:
    """The global setting "Record calls" on for the test, off again after."""
    with api(server, "admin") as http:
        before = http.get("/api/admin/cti/settings").json()
        saved = http.put("/api/admin/cti/settings", json=dict(before, record_calls=True))
        assert saved.status_code == 200, saved.text
    try:
        yield
    finally:
        with api(server, "admin") as http:
            http.put("/api/admin/cti/settings", json=before).raise_for_status()
        reset_agents(server)


def test_a_recorded_calls_ticket_page_plays_its_recording(
    desk: Desk, phones: Phones, recording: None, tmp_path: Path
) -> None:
    server = desk.server
    with api(server, "alice") as alice:
        assert alice.post("/api/cti/login").status_code == 200
        wait_until(lambda: alice.get("/api/cti/state").json()["phone_registered"], what="her phone")
        assert alice.put("/api/cti/status", json={"status": "ready"}).status_code == 200
        rtp, customer = customer_calls(server, tmp_path)
        offer = wait_until(lambda: alice.get("/api/cti/state").json()["offer"], what="an offer")
        assert alice.post(f"/api/calls/{offer['call_id']}/answer").status_code == 200
        customer.wait_answered()
        call: dict[str, Any] = wait_until(
            lambda: (
                (c := alice.get("/api/cti/state").json()["call"]) and c["state"] == "talking" and c
            ),
            what="talking",
        )
        talking = time.monotonic()
        rtp.wait_packets(50)  # the agent's phone is heard by the customer (and latched)
        rtp.send_samples(make_signal(30.0, seed=11), loop=True)  # the customer speaks
        phones.alice.wait_heard(TALK_SECONDS)  # she hears him: they talk 4 s
        customer.hang_up()
        talked = time.monotonic() - talking
        assert customer.wait_ended() == "by_customer"
        ticket_id = call["ticket_id"]
        ticket = wait_until(
            lambda: (
                (t := alice.get(f"/api/tickets/{ticket_id}").json())["recordings"]
                and t["recordings"][0]["seconds"] > 0
                and t
            ),
            what="the recording's length",
        )
    (listed,) = ticket["recordings"]
    assert listed["kind"] == "call"
    assert abs(listed["seconds"] - talked) <= 1.0, (listed, talked)

    desk.goto("/")
    desk.login("alice")
    desk.goto(f"/tickets/{ticket_id}")
    audio = desk.page.locator("audio[data-recording]")
    expect(audio).to_have_count(1)
    expect(audio).to_have_attribute("src", re.compile(r"^blob:"))
    loaded = desk.page.evaluate(
        """async () => {
            const audio = document.querySelector("audio[data-recording]");
            audio.muted = true;
            await audio.play();  // what the player's Play does: the file is read
            if (audio.readyState < 1) {
                await new Promise((done) =>
                    audio.addEventListener("loadedmetadata", done, { once: true }));
            }
            audio.pause();
            return {
                readyState: audio.readyState,
                duration: audio.duration,
                error: audio.error && audio.error.code,
            };
        }"""
    )
    assert loaded["readyState"] >= 1 and loaded["error"] is None, loaded
    assert abs(loaded["duration"] - listed["seconds"]) <= 1.0, (loaded, listed)
