"""A recorded call's recording is kept with its ticket: listed on it, served as a 2-channel
WAV with the customer on one channel and the agent on the other (frame-checked), seekable by
range requests; the agent of the call and admins hear it, another agent of the service does
not."""

from __future__ import annotations

import io
import wave
from array import array

from tests.e2e.agents import AgentApi
from tests.e2e.conftest import AGENTS, Rig
from tests.support.rtp import match_audio, samples_to_frames


def test_a_recorded_calls_recording_is_on_its_ticket_for_its_agent_and_admins(rig: Rig) -> None:
    rig.admin().update_settings(record_calls=True)
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    customer, _rtp, call = rig.connect_inbound("alice")
    phone.wait_heard(4.0)  # they talk both ways for a few seconds, then the customer hangs up
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"

    ticket = alice.ticket(call["ticket_id"])
    (recording,) = [r for r in ticket["recordings"] if r["kind"] == "call"]
    assert recording["seconds"] >= 3.0, recording
    wav = alice.call("GET", recording["url"])
    assert isinstance(wav, bytes) and wav[:4] == b"RIFF"
    with wave.open(io.BytesIO(wav)) as reader:
        assert (reader.getnchannels(), reader.getframerate()) == (2, 8000)
        frames = reader.readframes(reader.getnframes())
    samples = array("h", frames)
    left, right = list(samples[0::2]), list(samples[1::2])
    heard = [match_audio(samples_to_frames(ch), rig.signal("customer")) for ch in (left, right)]
    said = [match_audio(samples_to_frames(ch), rig.signal("alice")) for ch in (left, right)]
    assert max(h.matched_loud for h in heard) >= 50, f"the customer is on one channel: {heard}"
    assert max(s.matched_loud for s in said) >= 50, f"the agent on the other: {said}"

    # A player seeks: a range request gets just those bytes.
    part = alice.request("GET", recording["url"], headers={"Range": "bytes=44-1043"})
    assert part.status_code == 206 and len(part.content) == 1000, part.status_code
    assert part.content == wav[44:1044]

    admin_view = rig.admin().ticket(call["ticket_id"])
    assert [r["kind"] for r in admin_view["recordings"]] == ["call"]
    bob = AgentApi(rig.server, "bob", AGENTS["bob"].password)  # of the service, not of the call
    try:
        assert [r for r in bob.ticket(call["ticket_id"])["recordings"] if r["kind"] == "call"] == []
        refused = bob.request("GET", recording["url"])
        assert refused.status_code == 403 and refused.json()["code"] == "recording_not_yours"
    finally:
        bob.close()
