"""A caller booking a queued callback, as a person on a phone does it: hear the offer, press 1,
hear their number read back, press 1, hear the goodbye, be let go. What they hear is compared
frame by frame with the same prompts fetched from the server (and the read-back spoken here by
the same espeak-ng)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ringdesk.media.speech import Speech
from ringdesk.store import models as m
from tests.support.rtp import RtpEndpoint, read_wav
from tests.support.sipp import Customer


def press(rtp: RtpEndpoint, digit: str) -> None:
    rtp.send_samples([0] * 160)  # a stream to carry the key
    rtp.send_digit(digit)


def book_callback(
    customer: Customer,
    rtp: RtpEndpoint,
    sound: Callable[[str], bytes],
    service_id: int,
    caller: str,
    speech_dir: Path,
) -> None:
    """`customer` (its RTP is `rtp`, sending nothing yet) books a callback to its own number;
    `sound(name)` fetches a prompt as the server plays it (the admin API's Listen)."""
    offer = read_wav(sound(f"callback_offer.{service_id}"))
    customer.wait_answered()  # the offer answers the call: phones send keys once answered
    heard, _ = rtp.wait_matching(offer, frames=40, min_loud=20)
    assert heard.matched == 40, heard
    press(rtp, "1")
    digits = ", ".join(caller)
    said = Speech(speech_dir).render_sync(f"We will call you back at {digits}.")
    heard, _ = rtp.wait_matching(read_wav(said.read_bytes()), frames=40, min_loud=20)
    assert heard.matched == 40, f"the caller hears their number read back: {heard}"
    press(rtp, "1")
    booked = read_wav(sound(f"callback_booked.{service_id}"))
    heard, _ = rtp.wait_matching(booked, frames=40, min_loud=20)
    assert heard.matched == 40, heard
    assert customer.wait_ended() == "by_switch"  # the goodbye, then our BYE


def insert_callback_ticket(
    engine: sa.Engine,
    number: str,
    *,
    caller: str,
    at: float,
    call_id: str | None = None,
    **row: Any,
) -> int:
    """A callback's ticket on the demo's service 1 and its callbacks row, as the recorder
    writes them when a caller books one at `at` (`row` overrides the callbacks row's columns:
    attempts, status, next_try_at...); the ticket's id."""
    call_id = call_id or f"cb-{time.monotonic_ns()}"
    with Session(engine) as db:
        ticket = m.Ticket(
            call_id=call_id,
            service_id=1,
            direction="inbound",
            customer_number=caller,
            subject="",
            notes="",
            status="open",
            created_at=at,
        )
        db.add(ticket)
        db.flush()
        values: dict[str, Any] = {
            "call_id": call_id,
            "service_id": 1,
            "ticket_id": ticket.id,
            "caller": caller,
            "called": "5550100",
            "number": number,
            "arrived_at": at - 60,
            "requested_at": at,
            "attempts": 0,
            "status": "waiting",
        } | row
        db.add(m.Callback(**values))
        db.commit()
        ticket_id: int = ticket.id
    return ticket_id
