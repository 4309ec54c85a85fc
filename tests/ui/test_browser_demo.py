"""The README's quick start with nothing but a browser: `ringdesk serve` as `make serve` starts it
(plain HTTP on loopback), an agent of the demo picks Browser as her phone in the widget (the
demo allows it), and `ringdesk demo caller` places a customer's call. She answers in the widget
and they hear each other: the caller reports the seconds of audio it heard (chromium's fake
microphone), the page receives the caller's tone (getStats)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect

from tests.support.rtp import free_udp_port
from tests.support.server import RunningServer, start_server
from tests.support.sipp import CARRIER
from tests.support.webrtc import fake_media_args, tone, write_wav48
from tests.ui.browser_phone import sign_in_with_browser_phone, wait_receiving
from tests.ui.calls import INBOUND_NUMBER
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.ui.desk import Desk


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("browser-demo"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(playwright: Playwright, server: RunningServer) -> Iterator[Browser]:
    microphone = write_wav48(server.data_dir.parent / "voice.wav", tone(700.0, 60, 48000))
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*CHROMIUM_ARGS, *fake_media_args(microphone)],
    )
    try:
        yield launched
    finally:
        launched.close()


def test_the_demo_with_nothing_but_a_browser(desk: Desk, tmp_path: Path) -> None:
    server = desk.server
    assert server.http_scheme == "http"  # as `make serve` runs it: loopback, no TLS
    sign_in_with_browser_phone(desk)
    desk.set_status("Ready")

    # The demo trusts its trunk's address, 127.0.0.1:5080; files run in parallel here, so the
    # caller binds the test carrier's address, listed as a trunk source.
    server.trust_source(CARRIER)
    out = tmp_path / "caller.out"
    with out.open("w") as sink:
        caller = subprocess.Popen(
            [sys.executable, "-m", "ringdesk.cli", "demo", "caller", INBOUND_NUMBER,
             "--server", f"{server.sip_host}:{server.sip_port}",
             "--bind", f"{CARRIER}:{free_udp_port()}", "--seconds", "8"],
            stdout=sink, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        expect(desk.widget.locator(".offer-card")).to_contain_text("5551234")
        desk.button("Answer").click()
        desk.expect_status("On Call")
        wait_receiving(desk, "the page hearing the caller")
        assert caller.wait(timeout=30) == 0  # --seconds 8: it hangs up and exits
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
    printed = out.read_text()
    assert "answered by an agent" in printed, printed
    found = re.search(r"heard ([\d.]+) s of audio from the far end, ([\d.]+) s of it not", printed)
    assert found and float(found[2]) >= 3.0, printed
    desk.expect_status("Business (Ticket Processing)")
