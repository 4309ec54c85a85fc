"""The WebSocket drops: a visible "Reconnecting…" banner, reconnection with `since=<last seq>`,
and live updates flowing again afterwards.

Playwright's WebSocket routing stands between the page and the real server: it passes the
first connection through, then closes it as a network drop would, refuses the next attempts
for a while, then lets them through to the server again.
"""

from __future__ import annotations

import re

from playwright.sync_api import WebSocketRoute, expect

from tests.ui.desk import Desk, api


def test_reconnecting_banner_and_resume_with_since(desk: Desk) -> None:
    urls: list[str] = []
    live: list[WebSocketRoute] = []
    mode = {"pass": True}

    def handle(ws: WebSocketRoute) -> None:
        urls.append(ws.url)
        if mode["pass"]:
            ws.connect_to_server()
            live.append(ws)
        else:
            ws.close(code=1011, reason="test: server unreachable")

    desk.page.route_web_socket(re.compile(r".*/api/ws(\?.*)?$"), handle)
    desk.goto("/")
    desk.login("alice")
    banner = desk.page.get_by_text("Reconnecting…")
    expect(banner).to_be_hidden()
    desk.cti_login()  # the feed sends agent_state with a sequence number
    desk.expect_status("Business")
    desk.wait_until(lambda: live, what="the first WebSocket")
    # The status can show from the API's answer before the feed's first numbered message has
    # arrived; drop the socket only once the page holds a sequence number to resume from.
    desk.wait_until(
        lambda: desk.page.evaluate("import('/static/js/feed.js').then(m => m.lastSequence())"),
        what="a numbered feed message",
    )
    assert "since=" not in urls[0] and "token" not in urls[0]

    mode["pass"] = False
    live[-1].close(code=1006, reason="test: network drop")
    expect(banner).to_be_visible()
    # The app keeps trying, and the banner stays while it cannot get through.
    desk.wait_until(lambda: len(urls) >= 3, what="reconnect attempts", timeout=30)
    expect(banner).to_be_visible()
    # A change made meanwhile reaches the page once it reconnects (replayed from `since`).
    with api(desk.server, "alice") as http:
        assert http.put("/api/cti/status", json={"status": "rest"}).status_code == 200

    mode["pass"] = True
    expect(banner).to_be_hidden(timeout=30_000)
    desk.expect_status("Rest")
    found = re.search(r"since=(\d+)", urls[-1])
    assert found, f"the reconnect did not ask to resume: {urls[-1]}"
    assert int(found[1]) >= 1

    # And the feed is live again.
    with api(desk.server, "alice") as http:
        assert http.put("/api/cti/status", json={"status": "ready"}).status_code == 200
    desk.expect_status("Ready")
