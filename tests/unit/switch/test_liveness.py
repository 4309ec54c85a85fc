"""Silent legs: found from the packet counters alone, with time passed in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ringdesk.switch.legs import LegState
from ringdesk.switch.liveness import Liveness

from .harness import FakeEndpoint


@dataclass
class _Leg:
    """The four things Liveness reads of a leg."""

    leg_id: str
    endpoint: FakeEndpoint | None
    state: LegState = LegState.ANSWERED
    direction: str = "sendrecv"


def _leg(leg_id: str = "l1", *, direction: str = "sendrecv") -> Any:
    return _Leg(leg_id, FakeEndpoint(leg_id, 40000), direction=direction)


def test_a_leg_that_keeps_sending_is_never_silent() -> None:
    watch = Liveness(timeout=60)
    leg = _leg()
    for second in range(0, 300, 5):
        assert leg.endpoint is not None
        leg.endpoint.received += 250
        assert watch.silent([leg], float(second)) == []


def test_no_packet_for_the_timeout_reports_the_leg_once() -> None:
    watch = Liveness(timeout=60)
    leg = _leg()
    assert watch.silent([leg], 0.0) == []
    assert watch.silent([leg], 59.0) == []
    assert watch.silent([leg], 60.0) == [leg]


def test_rtcp_alone_keeps_a_silence_suppressing_phone_alive() -> None:
    watch = Liveness(timeout=60)
    leg = _leg()
    for second in range(0, 300, 5):
        assert leg.endpoint is not None
        leg.endpoint.rtcp_in += 1
        assert watch.silent([leg], float(second)) == []


def test_a_leg_we_asked_not_to_send_is_not_watched() -> None:
    watch = Liveness(timeout=60)
    held = _leg(direction="sendonly")  # on hold: it listens to our music
    assert watch.silent([held], 0.0) == []
    assert watch.silent([held], 600.0) == []
    held.direction = "sendrecv"  # resumed: the clock starts again from now
    assert watch.silent([held], 601.0) == []
    assert watch.silent([held], 661.0) == [held]


def test_unanswered_legs_and_a_disabled_timeout_are_left_alone() -> None:
    ringing = _leg()
    ringing.state = LegState.EARLY
    watch = Liveness(timeout=60)
    assert watch.silent([ringing], 0.0) == [] and watch.silent([ringing], 999.0) == []
    off = Liveness(timeout=None)
    leg = _leg()
    assert off.silent([leg], 0.0) == [] and off.silent([leg], 10_000.0) == []
