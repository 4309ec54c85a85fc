"""Inbound trust and call limits as an admin sets and sees them: the CTI settings with their
defaults and validation, the refusals counted at the SIP edge, and a call refused because its
service's queue is full, which is a call record in the statistics (outcome refused)."""

from __future__ import annotations

import datetime as dt
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ringdesk.store.cti_settings import DEFAULTS
from tests.api.conftest import Clients, assert_error, wait_for
from tests.support.server import RunningServer, ServerError

CARRIER = "127.0.0.11"  # listed as a trunk source by the test that calls from it
STRANGER = "127.0.0.12"  # nobody: not the trunk, not listed


@pytest.fixture
def settings(http: Clients, api: RunningServer) -> Iterator[dict[str, Any]]:
    """The CTI settings as GET gives them, put back after the test with the demo trunk's
    sources (the server is shared)."""
    admin = http("admin")
    before = admin.get("/api/admin/cti/settings").json()
    sources = api.trunk()["sources"]
    yield before
    assert admin.put("/api/admin/cti/settings", json=before).status_code == 200
    api.update_trunk(sources=sources)


def _put(http: Clients, settings: dict[str, Any], **changes: Any) -> Any:
    return http("admin").put("/api/admin/cti/settings", json={**settings, **changes})


def _invite(switch: tuple[str, int], source: str, number: str) -> str:
    """One INVITE from `source`; the status line of its final answer."""
    host, port = switch
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(5.0)
        local = sock.getsockname()[1]
        body = (
            "v=0\r\no=c 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )
        text = (
            f"INVITE sip:{number}@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {source}:{local};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
            f"From: <sip:5551234@{source}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{number}@{host}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:c@{source}:{local}>\r\n"
            "Max-Forwards: 70\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        sock.sendto(text.encode(), switch)
        while True:
            reply = sock.recv(65535).decode()
            if not re.match(r"SIP/2.0 1\d\d", reply):
                return reply.split("\r\n", 1)[0]


def test_the_settings_have_safe_defaults_and_are_validated(
    http: Clients, api: RunningServer, settings: dict[str, Any]
) -> None:
    # The demo tenant: trunk-only, with the defaults of store/cti_settings.py.
    assert settings["allow_any_source"] is False
    assert api.trunk()["name"] == "Demo trunk"
    assert settings["max_calls_per_source"] == DEFAULTS.max_calls_per_source == 10
    assert settings["max_calls_total"] == DEFAULTS.max_calls_total == 200
    assert settings["max_queued_per_service"] == DEFAULTS.max_queued_per_service == 50
    saved = _put(
        http, settings, max_calls_per_source=3, max_calls_total=40, max_queued_per_service=0
    )
    assert saved.status_code == 200, saved.text
    got = http("admin").get("/api/admin/cti/settings").json()
    assert (got["max_calls_per_source"], got["max_calls_total"]) == (3, 40)
    assert got["max_queued_per_service"] == 0
    # A trunk's other sources are kept in one spelling, as the switch compares them.
    listed = [" 192.0.2.7 ", "192.0.2.8:5070", "2001:DB8::7", "[2001:db8::8]:5060"]
    assert api.update_trunk(sources=listed)["sources"] == [
        "192.0.2.7",
        "192.0.2.8:5070",
        "2001:db8::7",
        "[2001:db8::8]:5060",
    ]
    for sources in (
        ["trunk.example.com"],
        ["192.0.2.7:0"],
        ["192.0.2.7:99999"],
        ["300.1.2.3"],
        [f"192.0.2.{n}" for n in range(17)],
    ):
        with pytest.raises(ServerError, match=r"422 .*invalid_input.*sources"):
            api.update_trunk(sources=sources)
    for bad in (
        {"max_calls_per_source": 0},
        {"max_calls_total": 0},
        {"max_queued_per_service": -1},
        {"max_calls_total": 2**63},
    ):
        problem = assert_error(_put(http, settings, **bad), 422, "invalid_input")
        assert next(iter(bad)) in problem["message"], problem
    assert_error(http("alice").get("/api/admin/sip/refusals"), 403)


def test_untrusted_invites_are_counted_and_answered_alike(
    http: Clients, api: RunningServer
) -> None:
    admin = http("admin")
    before = admin.get("/api/admin/sip/refusals").json()
    assert set(before["refused"]) == {"untrusted", "source_limit", "total_limit", "queue_full"}
    switch = (api.sip_host, api.sip_port)
    answers = {_invite(switch, STRANGER, number) for number in ("5550100", "5559999", "123")}
    assert answers == {"SIP/2.0 403 Forbidden"}
    after = admin.get("/api/admin/sip/refusals").json()
    assert after["refused"]["untrusted"] == before["refused"]["untrusted"] + 3
    assert after["live_inbound_calls"] == 0


def test_a_call_refused_because_the_queue_is_full_is_in_the_stats(
    http: Clients, api: RunningServer, settings: dict[str, Any]
) -> None:
    admin = http("admin")
    # Nobody is Ready; with max_queued_per_service 0 a call may not wait at all.
    api.update_trunk(sources=[CARRIER])
    assert _put(http, settings, max_queued_per_service=0).status_code == 200
    today = dt.datetime.now(dt.UTC).date().isoformat()

    def refused() -> int:
        report = admin.get("/api/stats", params={"date": today, "service_id": 1}).json()
        return int(report["total"]["refused"])

    counted = refused()
    offered = admin.get("/api/stats", params={"date": today}).json()["total"]["offered"]
    before = admin.get("/api/admin/sip/refusals").json()["refused"]["queue_full"]
    assert _invite((api.sip_host, api.sip_port), CARRIER, "5550100") == "SIP/2.0 486 Busy Here"
    wait_for(lambda: refused() == counted + 1, message="the refused call in the stats")
    report = admin.get("/api/stats", params={"date": today}).json()
    assert report["total"]["offered"] == offered  # refused calls are not offered
    [support] = [s for s in report["services"] if s["service_id"] == 1]
    assert support["refused"] == counted + 1
    assert admin.get("/api/admin/sip/refusals").json()["refused"]["queue_full"] == before + 1
    csv = admin.get("/api/stats.csv", params={"date": today}).text.splitlines()
    assert "refused" in csv[0].split(",")
