"""A caller whose phone vanishes mid-call (no BYE, no more audio): the switch ends the call
after the media timeout instead of leaving the agent On Call for ever."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Rig, running_rig

pytestmark = pytest.mark.e2e
TIMEOUT = 3  # seconds, instead of the default 60


@pytest.fixture
def quick_rig(
    request: pytest.FixtureRequest, tmp_path: Path, signals: dict[str, tuple[Path, list[int]]]
) -> Iterator[Rig]:
    with running_rig(request, tmp_path, signals, ("--media-timeout", str(TIMEOUT))) as rig:
        yield rig


def test_a_caller_gone_silent_is_hung_up_and_the_ticket_says_why(quick_rig: Rig) -> None:
    rig = quick_rig
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    mark = phone.mark()
    customer, rtp, call = rig.connect_inbound("alice")
    phone.wait_event("CALL_RTPESTAB", since=mark)
    time.sleep(TIMEOUT + 1)  # audio flowing all along: the call stays up past the timeout
    assert alice.state()["call"] is not None
    # The caller's phone loses its network: no BYE, no more RTP.
    rtp.close()
    assert customer.sipp.process is not None
    customer.sipp.process.kill()
    phone.wait_event("CALL_CLOSED", since=mark, timeout=TIMEOUT + 10)
    alice.wait_status("ticket_processing")
    ticket = alice.ticket(call["ticket_id"])
    details = [e["detail"] for e in ticket["timeline"] if e["kind"] == "ended"]
    assert details and "connection was lost" in details[-1]
