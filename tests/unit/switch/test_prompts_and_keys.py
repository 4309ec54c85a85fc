"""The switch's side of what the caller meets: a menu's prompt answers the call and plays, the
keys come back from the media and from SIP INFO while it listens (not once bridged), and a
voicemail is recorded, ended by #, and reported before the goodbye and the BYE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringdesk.core.prompts import Sound
from ringdesk.core.telephony import (
    AfterPrompt,
    Bridge,
    CallArrived,
    DigitPressed,
    LegHungUp,
    PlaybackFinished,
    PlayPrompt,
    RecordVoicemail,
    VoicemailRecorded,
)
from ringdesk.sip.message import make_response
from ringdesk.switch import Switch

from .harness import Events, FakeDirectory, FakeMedia, Peer, sdp


@pytest.fixture
async def switch(tmp_path: Path) -> AsyncIterator[tuple[Switch, FakeMedia, Events, Path]]:
    media = FakeMedia()
    events = Events()
    directory = FakeDirectory(tmp_path)
    for name in ("menu.1", "beep", "voicemail_saved"):  # uploads, so nothing is spoken here
        path = tmp_path / f"{name}.wav"
        path.write_bytes(b"RIFF")
        directory.media_settings.sounds[name] = path
    directory.media_settings = type(directory.media_settings)(
        sounds=directory.media_settings.sounds,
        uploads=frozenset(directory.media_settings.sounds),
    )
    sw = Switch("127.0.0.1", 0, directory=directory, sink=events, data_dir=tmp_path, media=media)
    await sw.start()
    try:
        yield sw, media, events, tmp_path
    finally:
        await sw.stop()


async def _call(sw: Switch, events: Events, call_id: str) -> tuple[Peer, CallArrived]:
    customer = await Peer().open(("127.0.0.1", sw.local_port))
    customer.request(
        "INVITE", f"sip:5550100@127.0.0.1:{sw.local_port}", call_id=call_id, body=sdp(30000)
    )
    await customer.expect_response(100)
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    return customer, arrived


async def test_a_menu_prompt_answers_plays_and_hears_keys_until_bridged(
    switch: tuple[Switch, FakeMedia, Events, Path],
) -> None:
    sw, media, events, _ = switch
    customer, arrived = await _call(sw, events, "menu-1")
    leg = arrived.leg_id
    sw.execute(PlayPrompt(arrived.call_id, leg, (Sound("menu.1"),), AfterPrompt.SILENCE, True))
    ok = await customer.expect_response(200)  # a menu answers: keys come on answered calls
    to = ok.headers.get("to")
    customer.request("ACK", f"sip:5550100@127.0.0.1:{sw.local_port}", call_id="menu-1", to=to)
    await media.wait_call(("play", leg, "menu.1.wav", "False"))
    assert ("listen", leg, "True") in media.calls
    media.on_done[leg]()
    assert await events.wait_for(PlaybackFinished) == PlaybackFinished(leg)
    listener = media.digit_listeners[leg]
    assert listener is not None
    listener("2")  # heard in its media (RFC 4733 or in-band)
    assert await events.wait_for(DigitPressed) == DigitPressed(leg, "2")
    customer.request(
        "INFO",
        f"sip:5550100@127.0.0.1:{sw.local_port}",
        call_id="menu-1",
        cseq=2,
        to=to,
        extra="Content-Type: application/dtmf-relay\r\n",
        body="Signal=7\r\nDuration=160\r\n",
    )
    await customer.expect_response(200)
    assert await events.wait_for(DigitPressed) == DigitPressed(leg, "7")
    # With an agent: no more listening; an INFO still gets its 200, and reaches no one.
    sw.execute(Bridge(arrived.call_id, leg, leg))
    assert ("listen", leg, "False") in media.calls
    customer.request(
        "INFO",
        f"sip:5550100@127.0.0.1:{sw.local_port}",
        call_id="menu-1",
        cseq=3,
        to=to,
        extra="Content-Type: application/dtmf\r\n",
        body="5",
    )
    await customer.expect_response(200)
    await customer.quiet(0.2)
    assert not [e for e in events.items if isinstance(e, DigitPressed)]
    customer.close()


async def test_a_voicemail_is_recorded_ended_by_hash_and_reported_before_the_bye(
    switch: tuple[Switch, FakeMedia, Events, Path],
) -> None:
    sw, media, events, data_dir = switch
    customer, arrived = await _call(sw, events, "vm-1")
    leg = arrived.leg_id
    sw.execute(RecordVoicemail(arrived.call_id, leg, (Sound("menu.1"),), 60.0))
    ok = await customer.expect_response(200)
    customer.request(
        "ACK", f"sip:5550100@127.0.0.1:{sw.local_port}", call_id="vm-1", to=ok.headers.get("to")
    )
    await media.wait_call(("play", leg, "menu.1.wav", "False"))
    media.on_done[leg]()  # the greeting, then the beep
    await media.wait_call(("play", leg, "beep.wav", "False"))
    assert ("record_leg", leg, f"{arrived.call_id}.wav") not in media.calls
    media.on_done[leg]()
    await media.wait_call(("record_leg", leg, f"{arrived.call_id}.wav"))
    assert (data_dir / "voicemail").is_dir()
    listener = media.digit_listeners[leg]
    assert listener is not None
    listener("#")
    recorded = await events.wait_for(VoicemailRecorded)
    assert recorded == VoicemailRecorded(leg, f"voicemail/{arrived.call_id}.wav", 3.0)
    await media.wait_call(("play", leg, "voicemail_saved.wav", "False"))
    media.on_done[leg]()
    bye = await customer.expect_request("BYE")
    customer.send(make_response(bye, 200))
    assert await events.wait_for(LegHungUp) == LegHungUp(leg, "voicemail")
    assert sum(1 for c in media.calls if c[0] == "stop_recording") == 1
    customer.close()


async def test_a_caller_who_hangs_up_while_speaking_leaves_the_message(
    switch: tuple[Switch, FakeMedia, Events, Path],
) -> None:
    sw, media, events, _ = switch
    customer, arrived = await _call(sw, events, "vm-2")
    leg = arrived.leg_id
    sw.execute(RecordVoicemail(arrived.call_id, leg, (), 60.0))
    ok = await customer.expect_response(200)
    to = ok.headers.get("to")
    customer.request("ACK", f"sip:5550100@127.0.0.1:{sw.local_port}", call_id="vm-2", to=to)
    await media.wait_call(("play", leg, "beep.wav", "False"))
    media.on_done[leg]()
    await media.wait_call(("record_leg", leg, f"{arrived.call_id}.wav"))
    customer.request("BYE", f"sip:5550100@127.0.0.1:{sw.local_port}", call_id="vm-2", cseq=2, to=to)
    await customer.expect_response(200)
    for _ in range(200):
        if any(isinstance(e, LegHungUp) for e in events.items):
            break
        await asyncio.sleep(0.01)
    # Reported in that order: the message, then the hang-up (the engine needs the message
    # first to tell a voicemail from an abandoned call).
    reports = [e for e in events.items if isinstance(e, VoicemailRecorded | LegHungUp)]
    assert reports == [
        VoicemailRecorded(leg, f"voicemail/{arrived.call_id}.wav", 3.0),
        LegHungUp(leg, "remote_bye"),
    ]
    customer.close()
