"""A caller booking a queued callback, as a person on a phone does it: hear the offer, press 1,
hear their number read back, press 1, hear the goodbye, be let go. What they hear is compared
frame by frame with the same prompts fetched from the server (and the read-back spoken here by
the same espeak-ng)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ringdesk.media.speech import Speech
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
