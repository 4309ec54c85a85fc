"""What a caller meets before an agent, with real SIPp callers: an IVR menu chosen by RFC 4733
telephone-events, SIP INFO and in-band tones; opening hours and holidays; the position
announcement in the queue. The prompts are spoken by espeak-ng in the server, and what the
caller hears is compared frame by frame with the same prompt fetched from the admin API."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ringdesk.media.speech import Speech
from tests.e2e.agents import AdminApi
from tests.e2e.conftest import SERVICE_ID, Rig
from tests.support.dtmf import dtmf_pcap
from tests.support.rtp import match_audio, read_wav, samples_to_frames

pytestmark = pytest.mark.e2e

SALES_NUMBER = "5550200"


def _sales(admin: AdminApi) -> int:
    service: dict[str, Any] = admin.call(
        "POST",
        "/api/admin/services",
        expect=201,
        json={"name": "Sales", "inbound_number": SALES_NUMBER},
    )
    return int(service["id"])


def _menu(admin: AdminApi, sales: int) -> int:
    menu: dict[str, Any] = admin.call(
        "POST",
        "/api/admin/menus",
        expect=201,
        json={
            "name": "Main",
            "prompt_text": "For support, press 1. For sales, press 2.",
            "timeout_seconds": 8,
            "max_tries": 3,
            "fallback": {"action": "queue", "target": SERVICE_ID},
            "choices": [
                {"digit": "1", "action": "queue", "target": SERVICE_ID},
                {"digit": "2", "action": "queue", "target": sales},
            ],
        },
    )
    admin.call("PATCH", f"/api/admin/services/{SERVICE_ID}", json={"menu_id": menu["id"]})
    return int(menu["id"])


def _in_menu(admin: AdminApi, count: int, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        queues = {q["service_id"]: q for q in admin.board()["queues"]}
        if queues[SERVICE_ID]["in_menu"] == count:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"wanted {count} callers in the menu: {queues[SERVICE_ID]}")
        time.sleep(0.2)


def test_menu_keys_by_telephone_event_sip_info_and_inband_tones_reach_the_chosen_queue(
    rig: Rig, tmp_path: Path
) -> None:
    admin = rig.admin()
    sales = _sales(admin)
    menu = _menu(admin, sales)
    prompt = read_wav(admin.sound(f"menu.{menu}"))  # the prompt, spoken by the server

    # A caller with our RTP: hears the menu's prompt (answered, not early media), keys 1.
    alice = rig.agent("alice")
    rig.phone("alice")
    customer, rtp = rig.customer(send=False)
    customer.wait_answered()  # a menu answers the call: phones send keys once answered
    heard, _ = rtp.wait_matching(prompt, frames=50, min_loud=25)
    assert heard.matched == 50, heard
    rtp.send_samples([0] * 160)  # silence, with the key inside the stream
    rtp.send_digit("1")
    admin.wait_queue(SERVICE_ID, 1)

    # Three SIPp callers choose Sales, each keying 2 its own way.
    by_event = rig.sipp_customer(pcap=dtmf_pcap(tmp_path / "rfc4733.pcap", "2", mode="rfc4733"))
    by_info = rig.sipp_customer(info_digit="2", info_delay_ms=1500)
    # This one offers no telephone-event (a trunk that sends neither): its keys are tones.
    in_band = rig.sipp_customer(
        pcap=dtmf_pcap(tmp_path / "inband.pcap", "2", mode="inband"), telephone_events=False
    )
    for each in (by_event, by_info, in_band):
        each.wait_answered()
    admin.wait_queue(sales, 3, timeout=30)
    _in_menu(admin, 0)
    assert admin.board()["queues"][0]["waiting"] == 1  # Support kept its one caller

    # Alice (Support) takes the first caller: the ticket tells the way it came.
    alice.ready()
    offer = alice.wait_offer()
    alice.answer(offer["call_id"])
    call = alice.wait_talking()
    ticket = alice.ticket(call["ticket_id"])
    steps = [t["detail"] for t in ticket["timeline"] if t["kind"] == "route"]
    assert steps == ["Menu Main", "Pressed 1: Customer Support"], ticket["timeline"]
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    for each in (by_event, by_info, in_band):
        each.hang_up()
        assert each.wait_ended() == "by_customer"


def _hours(admin: AdminApi, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = admin.call(
        "PUT", f"/api/admin/services/{SERVICE_ID}/hours", json={"timezone": "UTC", **body}
    )
    return result


def test_closed_hours_and_a_holiday_play_the_closed_message_then_open_hours_queue(
    rig: Rig,
) -> None:
    admin = rig.admin()
    today = dt.datetime.now(ZoneInfo("UTC"))
    holiday = {"name": "Today", "first": today.date().isoformat(), "last": today.date().isoformat()}
    closed = _hours(admin, weekly=[], holidays=[{**holiday, "yearly": False}])
    assert closed["open_now"] is False
    admin.call(
        "PUT",
        f"/api/admin/cti/prompts/closed.{SERVICE_ID}",
        json={"text": "Support is closed today. Goodbye."},
    )
    message = read_wav(admin.sound(f"closed.{SERVICE_ID}"))
    customer, rtp = rig.customer(send=False)
    start = rtp.mark()
    ended = customer.wait_ended(timeout=30)
    assert ended == "by_switch" or ended.startswith("rejected_"), ended
    heard = match_audio([p.payload for p in rtp.received(start)], message)
    assert heard.matched_loud >= 25, f"the caller heard the closed message: {heard}"
    board = {q["service_id"]: q for q in admin.board()["queues"]}
    assert board[SERVICE_ID]["open"] is False and board[SERVICE_ID]["waiting"] == 0

    # Open all day today (no holiday): the next caller waits in the queue.
    weekday = today.weekday()
    opened = _hours(admin, weekly=[{"weekday": weekday, "start": "00:00", "end": "24:00"}])
    assert opened["open_now"] is True
    second, _ = rig.customer(send=False)
    admin.wait_queue(SERVICE_ID, 1)
    second.hang_up()
    assert second.wait_ended() == "cancelled"


def test_the_position_is_announced_at_join_over_the_queue_music(rig: Rig, tmp_path: Path) -> None:
    admin = rig.admin()
    admin.call(
        "PATCH",
        f"/api/admin/services/{SERVICE_ID}",
        json={"announce_position": True, "announce_every_seconds": 0},
    )
    first, _ = rig.customer(send=False)
    admin.wait_queue(SERVICE_ID, 1)
    second, rtp = rig.customer(send=False)
    admin.wait_queue(SERVICE_ID, 2)
    # Nobody has answered a call yet: the position alone, spoken by the server; espeak-ng is
    # deterministic, so the same text spoken here gives the same samples.
    said = Speech(tmp_path / "speech").render_sync("You are number 2 in the queue.").read_bytes()
    heard, _ = rtp.wait_matching(read_wav(said), frames=40, min_loud=20)
    assert heard.matched == 40, heard
    for each in (first, second):
        each.hang_up()
        assert each.wait_ended() == "cancelled"


def test_a_voicemail_left_when_closed_becomes_a_ticket_with_the_recording(rig: Rig) -> None:
    admin = rig.admin()
    admin.call(
        "PATCH",
        f"/api/admin/services/{SERVICE_ID}",
        json={"closed_action": "voicemail", "voicemail_max_seconds": 30},
    )
    today = dt.datetime.now(ZoneInfo("UTC")).date().isoformat()
    _hours(admin, weekly=[], holidays=[{"name": "Today", "first": today, "last": today}])
    admin.call(  # a short greeting: the test's time goes to the message
        "PUT",
        f"/api/admin/cti/prompts/voicemail.{SERVICE_ID}",
        json={"text": "Leave a message after the tone."},
    )
    greeting = read_wav(admin.sound(f"voicemail.{SERVICE_ID}"))
    customer, rtp = rig.customer(send=False)
    customer.wait_answered()  # voicemail answers
    rtp.wait_matching(greeting, frames=40, min_loud=20)
    rtp.wait_quiet(quiet_for=0.5)  # the greeting and the beep are over: recording
    rtp.send_samples(rig.signal("customer"))  # the caller speaks for 3 s, then hangs up
    time.sleep(3.0)
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"

    alice = rig.agent("alice")  # an agent of the service: the ticket is in her list
    deadline = time.monotonic() + 10
    while not (found := [t for t in alice.tickets() if t["outcome"] == "voicemail"]):
        assert time.monotonic() < deadline, alice.tickets()
        time.sleep(0.2)
    ticket = alice.ticket(found[0]["id"])
    assert ticket["agent_id"] is None and ticket["direction"] == "inbound"
    kinds = [t["kind"] for t in ticket["timeline"]]
    assert kinds[:3] == ["route", "route", "voicemail"], ticket["timeline"]
    (recording,) = ticket["recordings"]
    assert recording["kind"] == "voicemail" and 2.0 <= recording["seconds"] <= 6.0, recording
    wav = alice.call("GET", recording["url"])
    assert isinstance(wav, bytes) and wav[:4] == b"RIFF"
    heard = match_audio(samples_to_frames(read_wav(wav)), rig.signal("customer"))
    assert heard.matched_loud >= 50, f"the recording holds what the caller said: {heard}"
