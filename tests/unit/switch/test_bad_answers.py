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


async def _answered_with(
    switch_rig: tuple[Switch, FakeDirectory, Events], early: str | None, final: str | None
) -> tuple[Peer, LegFailed]:
    """An outside call whose trunk answers with `early` SDP in a 183 and/or `final` in the 200."""
    sw, directory, events = switch_rig
    trunk = await Peer().open(("127.0.0.1", sw.local_port))
    directory.trunk_settings = type(directory.trunk_settings)(host="127.0.0.1", port=trunk.port)
    sw.execute(Originate("c10", "out-leg", "5551234", "5550199"))
    invite = await trunk.expect_request("INVITE")
    sdp_type = [("Content-Type", "application/sdp")]
    if early is not None:
        trunk.send(make_response(invite, 183, to_tag="t1", headers=sdp_type, body=early.encode()))
    contact = [("Contact", f"<sip:trunk@127.0.0.1:{trunk.port}>")]
    trunk.send(
        make_response(
            invite,
            200,
            to_tag="t1",
            headers=contact + (sdp_type if final is not None else []),
            body=(final or "").encode(),
        )
    )
    await trunk.expect_request("ACK")
    bye = await trunk.expect_request("BYE")
    assert bye.to_addr.tag == "t1"
    failed = await events.wait_for(LegFailed, timeout=5)
    assert isinstance(failed, LegFailed) and failed.reason is FailureReason.REJECTED
    assert not [e for e in events.items if isinstance(e, LegAnswered)]
    return trunk, failed


async def test_a_2xx_whose_sdp_is_in_a_family_we_do_not_serve_is_hung_up_not_left_silent(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    trunk, failed = await _answered_with(switch_rig, None, sdp(32000, host="::1"))
    assert "unusable SDP: IPv6 media (::1)" in failed.detail
    trunk.close()


async def test_an_unusable_early_answer_then_a_2xx_without_sdp_is_hung_up(
    switch_rig: tuple[Switch, FakeDirectory, Events],
) -> None:
    no_codec = sdp(32000).replace("RTP/AVP 0 101", "RTP/AVP 18").replace("a=rtpmap:0 PCMU", "a=x")
    trunk, failed = await _answered_with(switch_rig, no_codec, None)
    assert "unusable SDP" in failed.detail
    trunk.close()
