"""Queued callback with real peers: a SIPp caller presses 1 (RFC 4733) in the queue, hears its
number read back, confirms and is let go; the callback keeps its place behind the earlier
caller and ahead of the later one; an agent (baresip phone) answers it, the switch calls the
customer on a SIPp trunk with the service's calling number and bridges, audio checked both
ways; a busy customer is tried again after the delay, up to the limit; a restart keeps it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agents import AdminApi, AgentApi
from tests.e2e.conftest import SERVICE_ID, Rig
from tests.support.callback import book_callback
from tests.support.rtp import match_audio, samples_to_frames
from tests.support.sipp import Customer, header

pytestmark = pytest.mark.e2e

WANTS_CALLBACK = "5557777"


def _offer_callbacks(admin: AdminApi, **more: Any) -> None:
    admin.call(
        "PATCH",
        f"/api/admin/services/{SERVICE_ID}",
        json={"callback_enabled": True, "announce_every_seconds": 0, **more},
    )


def _book(rig: Rig, tmp_path: Path, caller: str) -> Customer:
    customer, rtp = rig.customer(caller=caller, send=False)
    book_callback(customer, rtp, rig.admin().sound, SERVICE_ID, caller, tmp_path / "speech")
    return customer


def _callbacks_waiting(admin: AdminApi, count: int, *, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        queue: dict[str, Any] = next(
            q for q in admin.board()["queues"] if q["service_id"] == SERVICE_ID
        )
        if queue["callbacks"] == count:
            return queue
        assert time.monotonic() < deadline, f"wanted {count} callbacks waiting: {queue}"
        time.sleep(0.2)


def _user(value: str | None) -> str:
    assert value is not None
    return value.split("sip:", 1)[1].split("@", 1)[0]


def test_a_callback_keeps_its_place_and_the_customer_is_called_back_and_bridged(
    rig: Rig, tmp_path: Path
) -> None:
    admin = rig.admin()
    _offer_callbacks(admin)
    trunk, trunk_rtp = rig.trunk("answer")
    first, _ = rig.customer(caller="5551111", send=False)
    admin.wait_queue(SERVICE_ID, 1)
    _book(rig, tmp_path, WANTS_CALLBACK)
    _callbacks_waiting(admin, 1)
    last, _ = rig.customer(caller="5553333", send=False)
    queue = admin.wait_queue(SERVICE_ID, 3)
    assert [w["callback_number"] for w in queue["calls"]] == [None, WANTS_CALLBACK, None]

    alice = rig.agent("alice")
    phone = rig.phone("alice", sip_trace=True)
    alice.ready()
    offer = alice.wait_offer()  # the earlier caller first
    assert (offer["caller"], offer["callback"]) == ("5551111", False), offer
    alice.answer(offer["call_id"])
    first.wait_answered()
    alice.wait_talking()
    first.hang_up()
    assert first.wait_ended() == "by_customer"
    alice.set_status("ready")  # out of the ticket's wrap-up

    offer = alice.wait_offer()  # then the callback, ahead of the later caller
    assert (offer["caller"], offer["callback"]) == (WANTS_CALLBACK, True), offer
    mark = phone.mark()
    alice.answer(offer["call_id"])
    invite = trunk.wait_invite()  # the agent's phone first, then the customer
    assert _user(invite.splitlines()[0]) == WANTS_CALLBACK, invite.splitlines()[0]
    assert _user(header(invite, "From")) == "5550100", header(invite, "From")
    call = alice.wait_talking()
    assert call["customer_number"] == WANTS_CALLBACK
    rung = phone.received("INVITE")[-1]  # her phone showed whom she was calling back
    assert _user(header(rung, "From")) == WANTS_CALLBACK, header(rung, "From")
    heard, _ = trunk_rtp.wait_matching(rig.signal("alice"))
    assert heard.matched_loud >= 25, f"the customer hears the agent: {heard}"
    trunk_rtp.send_samples(rig.signal("customer"))  # back to where the agent's audio came from
    phone.wait_event("CALL_RTPESTAB", since=mark)
    phone.wait_heard(4.0)
    heard = match_audio(samples_to_frames(phone.heard()), rig.signal("customer"))
    assert heard.matched_loud >= 50, f"the agent hears the customer: {heard}"
    alice.call_action(call["id"], "end")
    trunk.sipp.wait_log(r"^ended \S+ by_switch")

    ticket = alice.ticket(call["ticket_id"])
    kinds = [t["kind"] for t in ticket["timeline"]]
    assert "callback" in kinds and "callback_attempt" in kinds, ticket["timeline"]
    assert ticket["agent_id"] == alice.id and ticket["outcome"] == "answered", ticket
    assert ticket["callback"]["status"] == "done" and ticket["callback"]["attempts"] == 1

    alice.set_status("ready")
    offer = alice.wait_offer()  # and the later caller last
    assert (offer["caller"], offer["callback"]) == ("5553333", False), offer
    last.hang_up()
    assert last.wait_ended() == "by_customer"  # answered: the callback offer answers calls


def _failed_attempts(alice: AgentApi, ticket_id: int, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        ticket = alice.ticket(ticket_id)
        failed = [t for t in ticket["timeline"] if t["kind"] == "callback_failed"]
        if len(failed) >= count:
            return ticket
        assert time.monotonic() < deadline, ticket["timeline"]
        time.sleep(0.2)


def test_a_busy_customer_is_tried_again_up_to_the_limit_and_a_restart_keeps_the_callback(
    rig: Rig, tmp_path: Path
) -> None:
    admin = rig.admin()
    _offer_callbacks(admin, callback_retry_seconds=10, callback_max_attempts=2)
    trunk, _ = rig.trunk("busy", calls=2)
    _book(rig, tmp_path, WANTS_CALLBACK)
    _callbacks_waiting(admin, 1)

    rig.server.kill()  # nobody was on the line: the callback survives
    rig.server.launch()
    admin = AdminApi(rig.server, "admin", "admin-demo")
    queue = _callbacks_waiting(admin, 1)
    assert queue["calls"][0]["callback_number"] == WANTS_CALLBACK

    alice = rig.agent("alice")
    rig.phone("alice")
    alice.ready()
    offer = alice.wait_offer()
    assert offer["callback"] is True
    alice.answer(offer["call_id"])
    trunk.wait_invite()
    alice.wait_status("ready")  # the customer was busy: she is free again at once
    ticket_id = next(t["id"] for t in alice.tickets() if t["customer_number"] == WANTS_CALLBACK)
    ticket = _failed_attempts(alice, ticket_id, 1)
    assert ticket["callback"]["status"] == "waiting", ticket["callback"]
    assert ticket["callback"]["next_try_at"] is not None

    tried = time.monotonic()
    offer = alice.wait_offer(timeout=30)  # offered again after the delay
    assert offer["callback"] is True and time.monotonic() - tried >= 5
    alice.answer(offer["call_id"])
    ticket = _failed_attempts(alice, ticket_id, 2)
    assert ticket["outcome"] == "callback_failed", ticket
    assert ticket["callback"]["status"] == "failed" and ticket["callback"]["attempts"] == 2
    assert len(trunk.invites()) == 2  # one INVITE per attempt: never dialled twice at once
    _callbacks_waiting(admin, 0)
    admin.close()
