"""An agent with two registered contacts (a desk phone and a softphone under one CTI ID): the
agent leg rings both at once; the first 2xx wins and the other is cancelled (or BYEd if it
answered too); the leg fails only when every contact refused, with the most telling reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import HangUp, LegAnswered, LegFailed, LegHungUp, LegRinging, RingAgent
from ringdesk.sip.message import Request, make_response

from .harness import Peer, sdp
from .test_switch import Rig, register, rig

__all__ = ["rig"]  # the fixture, shared with test_switch


@pytest.fixture
async def phones(rig: Rig) -> AsyncIterator[tuple[Peer, Peer]]:
    desk, soft = await rig.peer(), await rig.peer()
    await register(rig, desk)
    await register(rig, soft)
    yield desk, soft
    desk.close()
    soft.close()


def answer(invite: Request, tag: str, port: int) -> bytes:
    return make_response(
        invite,
        200,
        to_tag=tag,
        headers=[
            ("Contact", f"<sip:phone@127.0.0.1:{invite.uri.port}>"),
            ("Content-Type", "application/sdp"),
        ],
        body=sdp(port).encode(),
    ).to_bytes()


async def ring_both(rig: Rig, phones: tuple[Peer, Peer]) -> tuple[Request, Request]:
    rig.switch.execute(RingAgent("c1", "agent-leg", 2, "1001"))
    desk, soft = phones
    first, second = await desk.expect_request("INVITE"), await soft.expect_request("INVITE")
    assert first.call_id != second.call_id  # two dialogs, one per contact
    assert first.uri.port == desk.port and second.uri.port == soft.port
    return first, second


async def test_the_first_answer_wins_and_the_ringing_phone_gets_cancel(
    rig: Rig, phones: tuple[Peer, Peer]
) -> None:
    desk, soft = phones
    to_desk, to_soft = await ring_both(rig, phones)
    soft.send(make_response(to_soft, 180, to_tag="soft"))
    desk.send(make_response(to_desk, 180, to_tag="desk"))
    assert await rig.events.wait_for(LegRinging) == LegRinging("agent-leg")
    desk.send_raw(answer(to_desk, "desk", 31000))
    assert await rig.events.wait_for(LegAnswered) == LegAnswered("agent-leg")
    await desk.expect_request("ACK")
    cancel = await soft.expect_request("CANCEL")
    assert cancel.top_via.branch == to_soft.top_via.branch and cancel.call_id == to_soft.call_id
    soft.send(make_response(cancel, 200))
    soft.send(make_response(to_soft, 487, to_tag="soft"))
    await soft.expect_request("ACK")
    # The media follows the phone that answered; one LegRinging, no failure reported.
    remote = rig.media.endpoints["agent-leg"].remote
    assert remote is not None and remote.port == 31000
    assert not [e for e in rig.events.items if isinstance(e, LegFailed | LegRinging)]
    assert len(rig.media.endpoints) == 1

    rig.switch.execute(HangUp("c1", "agent-leg"))
    bye = await desk.expect_request("BYE")
    desk.send(make_response(bye, 200))
    assert await rig.events.wait_for(LegHungUp) == LegHungUp("agent-leg", "normal")
    assert await soft.quiet(0.3) == []


async def test_a_phone_that_answers_second_gets_ack_and_bye(
    rig: Rig, phones: tuple[Peer, Peer]
) -> None:
    desk, soft = phones
    to_desk, to_soft = await ring_both(rig, phones)
    soft.send_raw(answer(to_soft, "soft", 32000))
    assert await rig.events.wait_for(LegAnswered) == LegAnswered("agent-leg")
    await soft.expect_request("ACK")
    desk.send_raw(answer(to_desk, "desk", 31000))  # crossed: answered too
    ack = await desk.expect_request("ACK")
    assert ack.to_addr.tag == "desk"
    bye = await desk.expect_request("BYE")
    assert bye.call_id == to_desk.call_id
    desk.send(make_response(bye, 200))
    remote = rig.media.endpoints["agent-leg"].remote
    assert remote is not None and remote.port == 32000  # the winner's media, not the loser's
    assert not [e for e in rig.events.items if isinstance(e, LegAnswered)]  # only one


async def test_the_leg_fails_only_when_every_phone_refused(
    rig: Rig, phones: tuple[Peer, Peer]
) -> None:
    desk, soft = phones
    to_desk, to_soft = await ring_both(rig, phones)
    desk.send(make_response(to_desk, 480, to_tag="desk"))
    await desk.expect_request("ACK")
    await soft.quiet(0.3)
    assert not [e for e in rig.events.items if isinstance(e, LegFailed)]
    soft.send(make_response(to_soft, 486, to_tag="soft"))
    failed = await rig.events.wait_for(LegFailed)
    assert isinstance(failed, LegFailed) and failed.leg_id == "agent-leg"
    assert failed.reason is FailureReason.BUSY  # busy says more than no answer
    assert ("close", "agent-leg") in rig.media.calls


async def test_hanging_up_a_ringing_leg_cancels_every_phone(
    rig: Rig, phones: tuple[Peer, Peer]
) -> None:
    desk, soft = phones
    to_desk, to_soft = await ring_both(rig, phones)
    desk.send(make_response(to_desk, 180, to_tag="desk"))
    soft.send(make_response(to_soft, 180, to_tag="soft"))
    await rig.events.wait_for(LegRinging)
    rig.switch.execute(HangUp("c1", "agent-leg"))
    for phone, invite in ((desk, to_desk), (soft, to_soft)):
        cancel = await phone.expect_request("CANCEL")
        assert cancel.top_via.branch == invite.top_via.branch
        phone.send(make_response(cancel, 200))
        phone.send(make_response(invite, 487, to_tag="t"))
        await phone.expect_request("ACK")
    assert await rig.events.wait_for(LegHungUp) == LegHungUp("agent-leg", "normal")
    assert not [e for e in rig.events.items if isinstance(e, LegFailed | LegHungUp)]


async def test_early_media_of_a_losing_phone_is_not_used(
    rig: Rig, phones: tuple[Peer, Peer]
) -> None:
    desk, soft = phones
    to_desk, to_soft = await ring_both(rig, phones)
    early = make_response(
        to_soft,
        183,
        to_tag="soft",
        headers=[("Content-Type", "application/sdp")],
        body=sdp(33000).encode(),
    )
    soft.send(early)
    await rig.events.wait_for(LegRinging)
    assert rig.media.endpoints["agent-leg"].remote is None  # not until it wins
    desk.send_raw(answer(to_desk, "desk", 31000))
    await rig.events.wait_for(LegAnswered)
    remote = rig.media.endpoints["agent-leg"].remote
    assert remote is not None and remote.port == 31000
    cancel = await soft.expect_request("CANCEL")
    soft.send(make_response(cancel, 200))
