"""RFC 4028 session timers on the loopback switch, with raw SIP from in-test peers: the 422 and
its retry, the refresher and Require in the 2xx, refreshes answered with the media untouched,
our own refreshes, and the BYE when a session is not refreshed in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ringdesk.core.telephony import (
    SESSION_TIMER_EXPIRED,
    Bridge,
    CallArrived,
    LegAnswered,
    LegFailed,
    LegHungUp,
    Originate,
    StartHoldMusic,
)
from ringdesk.sip.message import Request, Response, make_response
from ringdesk.switch import Switch
from ringdesk.switch.session_timer import parse_session_expires

from .harness import Events, FakeDirectory, FakeMedia, Peer, sdp

SHORT = 3.0  # seconds: a short interval the flag allows for tests (RFC 4028 asks 90 at least)


@dataclass
class Rig:
    switch: Switch
    media: FakeMedia
    directory: FakeDirectory
    events: Events

    @property
    def addr(self) -> tuple[str, int]:
        return ("127.0.0.1", self.switch.local_port)

    async def peer(self) -> Peer:
        return await Peer().open(self.addr)


async def _rig(tmp_path: Path, interval: float | None) -> Rig:
    media = FakeMedia()
    directory = FakeDirectory(tmp_path)
    events = Events()
    switch = Switch(
        "127.0.0.1",
        0,
        directory=directory,
        sink=events,
        data_dir=tmp_path,
        media=media,
        session_expires=interval,
    )
    await switch.start()
    return Rig(switch, media, directory, events)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """The default settings: 1800 s offered, Min-SE 90."""
    r = await _rig(tmp_path, 1800.0)
    try:
        yield r
    finally:
        await r.switch.stop()


@pytest.fixture
async def short(tmp_path: Path) -> AsyncIterator[Rig]:
    r = await _rig(tmp_path, SHORT)
    try:
        yield r
    finally:
        await r.switch.stop()


def _se(message: Request | Response) -> tuple[int, str | None]:
    value = message.headers.get("session-expires")
    assert value is not None, message.to_bytes().decode()
    parsed = parse_session_expires(value)
    return parsed.delta, parsed.refresher


async def answered_call(
    rig: Rig, caller: Peer, call_id: str, extra: str = ""
) -> tuple[CallArrived, Response]:
    """A caller's INVITE with `extra` headers, answered by the switch and ACKed."""
    ruri = f"sip:5550100@{rig.addr[0]}"
    caller.request("INVITE", ruri, call_id=call_id, body=sdp(30000), extra=extra)
    await caller.expect_response(100)
    arrived = await rig.events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))  # answers
    ok = await caller.expect_response(200)
    caller.request("ACK", ruri, call_id=call_id, to=ok.headers.get("to"))
    return arrived, ok


async def test_an_interval_below_our_minimum_is_refused_with_422_and_min_se(rig: Rig) -> None:
    caller = await rig.peer()
    extra = "Supported: timer\r\nSession-Expires: 30\r\n"
    caller.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id="st-422", extra=extra)
    refused = await caller.expect_response(422)
    assert refused.headers.get("min-se") == "90"
    assert refused.to_addr.tag  # a final response: tagged, and ACKed by the caller's stack
    assert not rig.switch.legs  # no call was started for it
    caller.close()


async def test_a_malformed_session_expires_is_a_400(rig: Rig) -> None:
    caller = await rig.peer()
    extra = "Session-Expires: soon;refresher=uac\r\n"
    caller.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id="st-400", extra=extra)
    await caller.expect_response(400)
    assert not rig.switch.legs
    caller.close()


async def test_a_malformed_refresh_is_a_400_and_the_call_goes_on(rig: Rig) -> None:
    caller = await rig.peer()
    arrived, ok = await answered_call(rig, caller, "st-bad-refresh", "Supported: timer\r\n")
    to = ok.headers.get("to")
    ruri = f"sip:ringdesk@{rig.addr[0]}"
    for cseq, extra in ((2, "Min-SE: lots\r\n"), (3, "Session-Expires: 1800;refresher=me\r\n")):
        caller.request("UPDATE", ruri, call_id="st-bad-refresh", cseq=cseq, to=to, extra=extra)
        await caller.expect_response(400)
    assert arrived.leg_id in rig.switch.legs
    caller.request(
        "UPDATE", ruri, call_id="st-bad-refresh", cseq=4, to=to, extra="Supported: timer\r\n"
    )
    assert _se(await caller.expect_response(200)) == (1800, "uac")
    caller.close()


async def test_the_2xx_names_the_refresher_and_requires_timer_when_supported(rig: Rig) -> None:
    caller = await rig.peer()
    # No refresher asked, support said: the caller refreshes, and a longer interval than ours
    # is brought down to ours.
    _, ok = await answered_call(
        rig, caller, "st-uac", "Supported: timer\r\nSession-Expires: 7200\r\nMin-SE: 120\r\n"
    )
    assert _se(ok) == (1800, "uac")
    assert "timer" in ok.headers.tokens("require")
    assert "timer" in ok.headers.tokens("supported")
    timer = next(iter(rig.switch.session_timers.timers.values()))
    assert timer.interval == 1800 and not timer.we_refresh
    caller.close()


async def test_the_callers_choice_of_refresher_is_kept(rig: Rig) -> None:
    caller = await rig.peer()
    _, ok = await answered_call(
        rig, caller, "st-uas", "Supported: timer\r\nSession-Expires: 600;refresher=uas\r\n"
    )
    assert _se(ok) == (600, "uas")
    timer = next(iter(rig.switch.session_timers.timers.values()))
    assert timer.we_refresh
    caller.close()


async def test_a_caller_without_timer_support_gets_us_as_refresher_and_no_require(
    rig: Rig,
) -> None:
    caller = await rig.peer()
    _, ok = await answered_call(rig, caller, "st-none")
    assert _se(ok) == (1800, "uas")
    assert "timer" not in ok.headers.tokens("require")
    caller.close()


async def test_timers_off_add_nothing(tmp_path: Path) -> None:
    rig = await _rig(tmp_path, None)
    caller = await rig.peer()
    try:
        _, ok = await answered_call(
            rig, caller, "st-off", "Supported: timer\r\nSession-Expires: 30\r\n"
        )  # 30 s would be a 422 with timers on
        assert ok.headers.get("session-expires") is None
        assert "timer" not in ok.headers.tokens("require")
    finally:
        caller.close()
        await rig.switch.stop()


async def test_a_session_nobody_refreshes_ends_with_bye_and_the_cause(short: Rig) -> None:
    caller = await short.peer()
    extra = f"Supported: timer\r\nSession-Expires: {SHORT:.0f};refresher=uac\r\n"
    arrived, ok = await answered_call(short, caller, "st-expire", extra)
    assert _se(ok) == (3, "uac")
    started = time.monotonic()
    bye = await caller.expect_request("BYE", timeout=10)
    waited = time.monotonic() - started
    # Expiry minus a third (RFC 4028 section 10), seen by a once-a-second sweep.
    assert SHORT * 2 / 3 - 0.5 <= waited <= SHORT + 1.5, waited
    assert bye.call_id == "st-expire" and bye.from_addr.tag == ok.to_addr.tag
    caller.send(make_response(bye, 200))
    hung = await short.events.wait_for(LegHungUp)
    assert hung == LegHungUp(arrived.leg_id, SESSION_TIMER_EXPIRED)
    caller.close()


async def test_refreshes_keep_the_call_and_its_media(short: Rig) -> None:
    caller = await short.peer()
    extra = f"Supported: timer\r\nSession-Expires: {SHORT:.0f};refresher=uac\r\n"
    arrived, ok = await answered_call(short, caller, "st-refresh", extra)
    to = ok.headers.get("to")
    ruri = f"sip:ringdesk@{short.addr[0]}"
    endpoint = short.media.endpoints[arrived.leg_id]
    remote_before = endpoint.remote
    # Refreshed every 1.2 s for 4.8 s (past the 2 s expiry), alternately by re-INVITE with the
    # same SDP and by UPDATE without a body.
    for n in range(4):
        await asyncio.sleep(1.2)
        cseq = 2 + n
        if n % 2 == 0:
            caller.request(
                "INVITE", ruri, call_id="st-refresh", cseq=cseq, to=to, extra=extra, body=sdp(30000)
            )
            reply = await caller.expect_response(200)
            caller.request("ACK", ruri, call_id="st-refresh", cseq=cseq, to=to)
            assert b"a=sendrecv" in reply.body  # our answer: the same media, not held
        else:
            caller.request("UPDATE", ruri, call_id="st-refresh", cseq=cseq, to=to, extra=extra)
            reply = await caller.expect_response(200)
            assert not reply.body
        assert _se(reply) == (3, "uac")
        assert "timer" in reply.headers.tokens("require")
    assert endpoint.remote == remote_before  # the media went on untouched
    assert arrived.leg_id in short.switch.legs
    assert not [e for e in short.events.items if isinstance(e, LegHungUp)]
    # Then the refreshes stop: the session ends.
    bye = await caller.expect_request("BYE", timeout=10)
    caller.send(make_response(bye, 200))
    assert await short.events.wait_for(LegHungUp) == LegHungUp(
        arrived.leg_id, SESSION_TIMER_EXPIRED
    )
    caller.close()


async def test_we_refresh_by_update_when_allowed_and_end_when_unanswered(short: Rig) -> None:
    caller = await short.peer()
    # The caller knows no timers but takes UPDATE: we refresh, at half the interval.
    arrived, ok = await answered_call(
        short, caller, "st-ours", "Allow: INVITE, ACK, BYE, CANCEL, UPDATE\r\n"
    )
    assert _se(ok) == (3, "uas")
    update = await caller.expect_request("UPDATE", timeout=5)
    assert _se(update) == (3, "uac") and not update.body
    assert update.cseq[1] == "UPDATE" and update.headers.get("contact")
    # It knows no timers: its 200 names none, and that does not turn ours off.
    caller.send(make_response(update, 200))
    # The next refresh goes unanswered: the session is over at its expiry.
    await caller.expect_request("UPDATE", timeout=5)
    bye = await caller.expect_request("BYE", timeout=5)
    caller.send(make_response(bye, 200))
    assert await short.events.wait_for(LegHungUp) == LegHungUp(
        arrived.leg_id, SESSION_TIMER_EXPIRED
    )
    caller.close()


async def test_we_refresh_by_reinvite_with_our_sdp_when_update_is_not_allowed(
    short: Rig,
) -> None:
    caller = await short.peer()
    arrived, ok = await answered_call(short, caller, "st-reinv")
    before = short.media.endpoints[arrived.leg_id].remote
    refresh = await caller.expect_request("INVITE", timeout=5)
    assert _se(refresh) == (3, "uac")
    assert b"m=audio" in refresh.body and b"a=sendrecv" in refresh.body
    assert refresh.call_id == "st-reinv" and refresh.from_addr.tag == ok.to_addr.tag
    caller.send(
        make_response(
            refresh,
            200,
            headers=[
                ("Contact", f"<sip:peer@127.0.0.1:{caller.port}>"),
                ("Session-Expires", f"{SHORT:.0f};refresher=uac"),
                ("Content-Type", "application/sdp"),
            ],
            body=sdp(30000).encode(),
        )
    )
    ack = await caller.expect_request("ACK")
    assert ack.cseq[0] == refresh.cseq[0]
    assert short.media.endpoints[arrived.leg_id].remote == before
    # Refreshed: still up past the first expiry (2 s after the answer).
    await asyncio.sleep(1.0)
    assert arrived.leg_id in short.switch.legs
    caller.close()


async def test_a_hold_reinvite_keeps_the_timer_as_negotiated(rig: Rig) -> None:
    caller = await rig.peer()
    arrived, _ = await answered_call(
        rig, caller, "st-hold", "Supported: timer\r\nSession-Expires: 1800;refresher=uac\r\n"
    )
    leg = rig.switch.legs[arrived.leg_id]
    timer = rig.switch.session_timers.timers[leg]
    before = timer.refreshed_at
    rig.switch.execute(StartHoldMusic(arrived.call_id, arrived.leg_id))
    hold = await caller.expect_request("INVITE")
    # We are this re-INVITE's UAC: the caller stays the refresher, which is "uas" here.
    assert _se(hold) == (1800, "uas") and "timer" in hold.headers.tokens("supported")
    caller.send(
        make_response(
            hold,
            200,
            headers=[
                ("Contact", f"<sip:peer@127.0.0.1:{caller.port}>"),
                ("Require", "timer"),
                ("Session-Expires", "1800;refresher=uas"),
                ("Content-Type", "application/sdp"),
            ],
            body=sdp(30000, "recvonly").encode(),
        )
    )
    await caller.expect_request("ACK")
    assert rig.switch.session_timers.timers[leg] is timer
    assert timer.refreshed_at > before and not timer.we_refresh
    caller.close()


async def test_outbound_invite_offers_a_timer_and_retries_after_422(rig: Rig) -> None:
    trunk = await rig.peer()
    rig.directory.trunk_settings = type(rig.directory.trunk_settings)(
        host="127.0.0.1", port=trunk.port
    )
    rig.switch.execute(Originate("c9", "out-leg", "5551234", "5550199"))
    invite = await trunk.expect_request("INVITE")
    assert "timer" in invite.headers.tokens("supported")
    assert _se(invite) == (1800, None) and invite.headers.get("min-se") == "90"
    trunk.send(make_response(invite, 422, to_tag="t1", headers=[("Min-SE", "3600")]))
    await trunk.expect_request("ACK")
    retry = await trunk.expect_request("INVITE")
    assert _se(retry) == (3600, None) and retry.headers.get("min-se") == "3600"
    assert retry.cseq[0] == invite.cseq[0] + 1 and retry.call_id == invite.call_id
    trunk.send(
        make_response(
            retry,
            200,
            to_tag="t2",
            headers=[
                ("Contact", f"<sip:trunk@127.0.0.1:{trunk.port}>"),
                ("Require", "timer"),
                ("Session-Expires", "3600;refresher=uas"),
                ("Content-Type", "application/sdp"),
            ],
            body=sdp(32000).encode(),
        )
    )
    assert await rig.events.wait_for(LegAnswered) == LegAnswered("out-leg")
    await trunk.expect_request("ACK")
    timer = rig.switch.session_timers.timers[rig.switch.legs["out-leg"]]
    assert timer.interval == 3600 and not timer.we_refresh  # the trunk refreshes
    trunk.close()


async def test_a_second_422_asking_no_more_fails_the_leg(rig: Rig) -> None:
    trunk = await rig.peer()
    rig.directory.trunk_settings = type(rig.directory.trunk_settings)(
        host="127.0.0.1", port=trunk.port
    )
    rig.switch.execute(Originate("c9", "out-leg", "5551234", "5550199"))
    invite = await trunk.expect_request("INVITE")
    trunk.send(make_response(invite, 422, to_tag="t1", headers=[("Min-SE", "1800")]))
    await trunk.expect_request("ACK")
    assert await trunk.quiet(0.5) == []  # 1800 is what it offered already: no loop
    failed = await rig.events.wait_for(LegFailed)
    assert isinstance(failed, LegFailed) and failed.leg_id == "out-leg"
    assert "422" in failed.detail
    trunk.close()
