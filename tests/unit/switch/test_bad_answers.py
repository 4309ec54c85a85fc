"""A far end's answer the switch cannot use must end the leg at once, never leave it hanging."""

from __future__ import annotations

import time

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import LegAnswered, LegFailed, Originate
from ringdesk.sip.message import make_response
from ringdesk.switch import Switch

from .harness import Events, FakeDirectory, Peer, sdp


async def test_a_trunk_2xx_with_an_unparseable_contact_is_acked_hung_up_and_fails_the_leg(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    sw, directory, events = switch_rig
    trunk = await Peer().open(("127.0.0.1", sw.local_port))
    directory.trunk_settings = type(directory.trunk_settings)(host="127.0.0.1", port=trunk.port)
    sw.execute(Originate("c9", "out-leg", "5551234", "5550199"))
    invite = await trunk.expect_request("INVITE")
    started = time.monotonic()
    trunk.send(
        make_response(
            invite,
            200,
            to_tag="t1",
            headers=[("Contact", "<sip:broken@@@>;;;<"), ("Content-Type", "application/sdp")],
            body=sdp(32000).encode(),
        )
    )
    ack = await trunk.expect_request("ACK")
    assert ack.cseq[0] == invite.cseq[0]
    bye = await trunk.expect_request("BYE")
    assert bye.to_addr.tag == "t1"
    failed = await events.wait_for(LegFailed, timeout=5)
    assert isinstance(failed, LegFailed) and failed.reason is FailureReason.REJECTED
    assert time.monotonic() - started < 5  # not the 180 s ring limit
    assert not [e for e in events.items if isinstance(e, LegAnswered)]
    trunk.close()
