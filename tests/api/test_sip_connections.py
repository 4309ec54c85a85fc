"""SIP over TCP as an admin sees it (GET /api/admin/sip/connections): the connections open, the
limits, and a connection beyond the per-source limit refused at once and counted. The server is
the shared API test server with its default settings (20 connections per source)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

from tests.api.conftest import Clients, assert_error, wait_for
from tests.support.server import RunningServer

SOURCE = "127.0.0.13"  # this test's connections come from here, so no other test's count


@pytest.fixture
def connections(api: RunningServer) -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def _connect(api: RunningServer, opened: list[socket.socket]) -> socket.socket:
    sock = socket.create_connection(
        (api.sip_host, api.sip_port), timeout=5, source_address=(SOURCE, 0)
    )
    opened.append(sock)
    return sock


def test_connections_are_counted_and_the_21st_from_a_source_is_refused(
    http: Clients, api: RunningServer, connections: list[socket.socket]
) -> None:
    admin = http("admin")
    assert_error(http("alice").get("/api/admin/sip/connections"), 403)
    before = admin.get("/api/admin/sip/connections").json()
    assert before["per_source_limit"] == 20
    assert 16 <= before["total_limit"] <= 2000
    assert set(before["closed"]) == {
        "refused_banned",
        "refused_per_source",
        "refused_total",
        "message_timeout",
        "idle_timeout",
        "handshake_timeout",
        "handshake_failed",
    }
    for _ in range(20):
        _connect(api, connections)
    wait_for(
        lambda: admin.get("/api/admin/sip/connections").json()["open"] >= before["open"] + 20,
        message="20 connections open",
    )
    refused = _connect(api, connections)
    refused.settimeout(5)
    with contextlib.suppress(ConnectionResetError):  # a refusal is a reset, or an end
        assert refused.recv(1) == b""
    after = admin.get("/api/admin/sip/connections").json()
    assert after["closed"]["refused_per_source"] == before["closed"]["refused_per_source"] + 1
    for sock in connections:
        sock.close()
    wait_for(
        lambda: admin.get("/api/admin/sip/connections").json()["open"] <= before["open"],
        message="the connections closed",
    )
