"""Calls whose far end stops confirming them, and calls cut by a crash of the server.

A SIPp caller asks for a 6 s RFC 4028 session timer, refreshed by itself, and never refreshes:
the switch ends the call with a BYE to both peers and the ticket says why. And a call between a
SIPp caller and the agent's baresip survives nothing of a kill -9, but after the restart the
switch sends both a BYE (it kept the dialogs in the data dir) and the agent is not on a call.
An agent's baresip over TLS cannot be reached on a connection of ours: after the crash it opens
a new one and registers again, and its BYE comes over that."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agents import AgentApi
from tests.e2e.conftest import Rig, running_rig
from tests.support.rtp import free_tcp_port

pytestmark = pytest.mark.e2e
INTERVAL = 6  # seconds, instead of the default 1800 (the flag lets tests go below 90)
REFRESH = 30  # seconds: the TLS phone's registrations (--sip-min-expires lowered to match)


@pytest.fixture
def timer_rig(
    request: pytest.FixtureRequest, tmp_path: Path, signals: dict[str, tuple[Path, list[int]]]
) -> Iterator[Rig]:
    with running_rig(request, tmp_path, signals, ("--sip-session-expires", str(INTERVAL))) as rig:
        yield rig


def test_a_session_the_caller_stops_refreshing_is_ended_and_the_ticket_says_why(
    timer_rig: Rig,
) -> None:
    rig = timer_rig
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    mark = phone.mark()
    customer = rig.sipp_customer(
        echo=True,  # SIPp sends the agent's audio back: the media timeout has no say here
        extra_headers=f"Supported: timer\r\nSession-Expires: {INTERVAL};refresher=uac\r\n",
    )
    offer = alice.wait_offer()
    alice.answer(offer["call_id"])
    customer.wait_answered()
    answered = time.monotonic()
    call = alice.wait_talking()
    phone.wait_event("CALL_ESTABLISHED", since=mark)
    blocks = customer.sipp.messages().split("----------------------------------------------- ")
    ok = next(
        b for b in blocks if "message received" in b and "SIP/2.0 200" in b and " INVITE" in b
    )
    assert f"Session-Expires: {INTERVAL};refresher=uac" in ok  # the caller is the refresher
    assert "Require: timer" in ok
    time.sleep(2)
    assert alice.state()["call"] is not None  # up within the interval
    # The caller never refreshes: at the interval minus a third the switch hangs up.
    assert customer.wait_ended(timeout=20) == "by_switch"
    took = time.monotonic() - answered
    assert INTERVAL * 2 / 3 - 1 <= took <= INTERVAL + 4, took
    phone.wait_event("CALL_CLOSED", since=mark, timeout=15)  # the agent's leg too
    alice.wait_status("ticket_processing")
    ticket = alice.ticket(call["ticket_id"])
    details = [e["detail"] for e in ticket["timeline"] if e["kind"] == "ended"]
    assert details and "connection was lost" in details[-1], details
    assert "session timer expired" in details[-1], details


def _live_dialogs(data_dir: Path) -> list[dict[str, object]]:
    try:
        rows = json.loads((data_dir / "sip-dialogs.json").read_text())
    except (FileNotFoundError, ValueError):
        return []
    return rows if isinstance(rows, list) else []


def test_after_a_crash_both_peers_get_a_bye_and_the_agent_is_off_the_call(rig: Rig) -> None:
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    mark = phone.mark()
    customer, _rtp, call = rig.connect_inbound("alice")
    phone.wait_event("CALL_ESTABLISHED", since=mark)
    deadline = time.monotonic() + 5
    while len(_live_dialogs(rig.server.data_dir)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_live_dialogs(rig.server.data_dir)) == 2  # the caller's leg and the phone's

    rig.server.kill()  # no shutdown code runs: no BYE from the dying server
    assert customer.sipp.running()  # the caller still thinks it is talking
    rig.server.launch()  # the same data dir and database, new ports
    assert customer.wait_ended(timeout=30) == "by_switch"  # its BYE came, and was answered
    closed = phone.wait_event("CALL_CLOSED", since=mark, timeout=30)
    assert closed  # the agent's phone is out of the dead call
    deadline = time.monotonic() + 10
    while _live_dialogs(rig.server.data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _live_dialogs(rig.server.data_dir) == []  # both answered: forgotten

    again = AgentApi(rig.server, "alice", "alice-demo")
    try:
        state = again.state()
        assert state["call"] is None, state
        assert state["status"] == "ready", state  # her own choice, not On Call
        ticket = again.ticket(call["ticket_id"])
        assert ticket["outcome"] == "interrupted", ticket
        details = [e["detail"] for e in ticket["timeline"] if e["kind"] == "interrupted"]
        assert details and "server restarted" in details[-1], ticket["timeline"]
    finally:
        again.close()


def test_after_a_crash_a_tls_phone_gets_its_bye_once_it_registers_again(
    request: pytest.FixtureRequest, tmp_path: Path, signals: dict[str, tuple[Path, list[int]]]
) -> None:
    # The same TLS port after the restart: the phone knows its registrar by address and port.
    # Registrations of 30 s (the server's minimum lowered for it): the phone's next refresh
    # comes soon after the restart, and not while the server is down (a refresh that fails
    # makes baresip drop the call itself, which is not what this test is about).
    tls_args = ("--sip-tls-port", str(free_tcp_port()), "--sip-min-expires", str(REFRESH))
    with running_rig(request, tmp_path, signals, tls_args) as rig:
        alice = rig.agent("alice")
        # baresip 1.0 does not register again when its connection drops, only at its next
        # refresh.
        phone = rig.phone("alice", tls=True, regint=REFRESH)
        alice.ready()
        mark = phone.mark()
        customer, _rtp, call = rig.connect_inbound("alice")
        phone.wait_event("CALL_ESTABLISHED", since=mark)
        deadline = time.monotonic() + 5
        while len(_live_dialogs(rig.server.data_dir)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        rows = _live_dialogs(rig.server.data_dir)
        assert sorted((str(r["transport"]), r.get("cti_id")) for r in rows) == [
            ("tls", "1001"),
            ("udp", None),
        ], rows

        rig.server.kill()
        killed = time.monotonic()
        rig.server.launch()
        assert customer.wait_ended(timeout=30) == "by_switch"  # UDP: its BYE at once
        closed = phone.wait_event("CALL_CLOSED", since=mark, timeout=REFRESH * 3)
        took = time.monotonic() - killed
        assert closed, "the TLS phone is still in the dead call"
        log = rig.server.log_tail(200)
        assert "BYE sent to 1, 1 wait for their phones to register again" in log, log
        assert "BYE sent to 1 dialogs of 1001's phone, registered again over TLS" in log, log
        print(f"TLS phone's BYE {took:.1f} s after the kill")
        deadline = time.monotonic() + 10
        while _live_dialogs(rig.server.data_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _live_dialogs(rig.server.data_dir) == []  # answered over the new connection
        assert phone.registered()
        again = AgentApi(rig.server, "alice", "alice-demo")
        try:
            assert again.state()["call"] is None
            ticket = again.ticket(call["ticket_id"])
            assert ticket["outcome"] == "interrupted", ticket
        finally:
            again.close()
