"""MediaServer over real UDP loopback, with two fake RTP phones bridged through it."""

from __future__ import annotations

import asyncio
import itertools
import math
import socket
import struct
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringdesk.media import g711, sounds
from ringdesk.media.api import RemoteMedia
from ringdesk.media.endpoint import RELATCH_PACKETS
from ringdesk.media.rtp import RtpPacket
from ringdesk.media.server import MediaServer

from .rtp_peer import WAIT, RtpPeer


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    server = MediaServer("127.0.0.1")
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def peers() -> AsyncIterator[tuple[RtpPeer, RtpPeer]]:
    a, b = await RtpPeer.open(), await RtpPeer.open()
    yield a, b
    a.close()
    b.close()


async def bridged(
    media: MediaServer, a: RtpPeer, b: RtpPeer, *, pt_a: int = 0, pt_b: int = 0
) -> tuple[int, int]:
    leg_a = await media.open_endpoint("a")
    leg_b = await media.open_endpoint("b")
    leg_a.set_remote(a.remote(pt_a))
    leg_b.set_remote(b.remote(pt_b))
    media.bridge("a", "b")
    return leg_a.port, leg_b.port


def tone_wav(path: Path, frames: int) -> Path:
    """A WAV whose every 20 ms frame differs, so frames can be told apart."""
    samples = [
        round(8000 * math.sin(2 * math.pi * (200 + 40 * (n // 160)) * n / 8000))
        for n in range(160 * frames)
    ]
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


def payload(i: int) -> bytes:
    return bytes((i + k) % 256 for k in range(160))


def assert_continuous(packets: list[RtpPacket]) -> None:
    """One stream: one SSRC, sequence numbers one apart, timestamps moving forward."""
    assert len({p.ssrc for p in packets}) == 1
    for before, after in itertools.pairwise(packets):
        assert after.sequence == (before.sequence + 1) & 0xFFFF
        assert 160 <= (after.timestamp - before.timestamp) & 0xFFFFFFFF < 8000 * 60


async def test_relay_carries_payload_both_ways(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    a, b = peers
    port_a, port_b = await bridged(media, a, b)
    sent = [a.send(port_a, payload(i)) for i in range(5)]
    received = await b.wait_for(5)
    assert [p.payload for p in received] == [p.payload for p in sent]
    assert {source[1] for source in b.sources} == {port_b}  # leaves from the leg's own port
    assert_continuous(received)
    assert [p.timestamp - received[0].timestamp for p in received] == [0, 160, 320, 480, 640]
    assert received[0].marker and not any(p.marker for p in received[1:])
    b.send(port_b, b"\x01" * 160)
    back = await a.wait_for(1)
    assert back[0].payload == b"\x01" * 160 and a.sources[0][1] == port_a


async def test_ports_are_even_and_in_range() -> None:
    media = MediaServer("127.0.0.1", port_range=(31000, 31100))
    try:
        endpoints = [await media.open_endpoint(f"leg{i}") for i in range(10)]
        ports = [e.port for e in endpoints]
        assert all(p % 2 == 0 and 31000 <= p < 31100 for p in ports)
        assert len(set(ports)) == 10
        with pytest.raises(ValueError):
            await media.open_endpoint("leg0")
        media.close_endpoint("leg0")
        media.close_endpoint("leg0")  # twice is harmless
        assert len(media) == 9
        media.bridge("leg0", "leg1")  # a leg already gone: ignored, not raised into the switch
        assert media.endpoint("leg1").partner is None
        done = asyncio.Event()
        media.play("leg0", Path("any.wav"), on_done=done.set)
        await asyncio.wait_for(done.wait(), WAIT)  # "play, then hang up" still hangs up
        with pytest.raises(KeyError):
            media.endpoint("leg0")
    finally:
        await media.close()


async def test_a_long_run_of_ports_held_by_another_program_is_skipped() -> None:
    """Another server on the host holds 600 ports in a row where our cursor is: every pair is
    tried, so the call still gets one (the first tries of an allocation used to give up)."""
    media = MediaServer("127.0.0.1", port_range=(33000, 34000))
    held = []
    try:
        for port in range(33000, 33600):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()  # taken by someone else already: held all the same
                continue
            held.append(sock)
        media._cursor = 0  # where the run starts
        endpoint = await media.open_endpoint("leg")
        assert 33600 <= endpoint.port < 34000 and endpoint.port % 2 == 0
    finally:
        for sock in held:
            sock.close()
        await media.close()


async def test_switching_relay_play_relay_keeps_one_stream(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    sound = tone_wav(tmp_path / "hold.wav", 8)
    for i in range(3):
        a.send(port_a, payload(i))
    await b.wait_for(3)

    done = asyncio.Event()
    media.play("b", sound, on_done=done.set)
    await asyncio.wait_for(done.wait(), WAIT)
    played = (await b.wait_for(3 + 8))[3:]
    assert [p.payload for p in played] == list(
        sounds.to_frames(sounds.read_wav(sound.read_bytes()), 0)
    )
    assert [p.timestamp - played[0].timestamp for p in played] == [160 * i for i in range(8)]
    assert played[0].marker and not any(p.marker for p in played[1:])

    a.ts += 8000  # the phone's clock went on while it was not heard
    for i in range(3):
        a.send(port_a, payload(10 + i))
    everything = await b.wait_for(3 + 8 + 3)
    after = everything[11:]
    assert [p.payload for p in after] == [payload(10 + i) for i in range(3)]
    assert after[0].marker and not any(p.marker for p in after[1:])
    assert_continuous(everything)


async def test_playback_frames_match_the_encoded_wav_in_pcma(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, _ = peers
    leg = await media.open_endpoint("a")
    leg.set_remote(a.remote(payload_type=8))
    sound = tone_wav(tmp_path / "s.wav", 5)
    media.play("a", sound)
    packets = await a.wait_for(5)
    expected = sounds.to_frames(sounds.read_wav(sound.read_bytes()), g711.PCMA)
    assert [p.payload for p in packets] == list(expected)
    assert {p.payload_type for p in packets} == {8}


async def test_looping_playback_is_paced_by_timestamps_and_stops(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, _ = peers
    leg = await media.open_endpoint("a")
    leg.set_remote(a.remote())
    sound = tone_wav(tmp_path / "loop.wav", 3)
    frames = sounds.to_frames(sounds.read_wav(sound.read_bytes()), 0)
    done: list[bool] = []
    media.play("a", sound, loop=True, on_done=lambda: done.append(True))
    packets = await a.wait_for(10)
    assert [p.payload for p in packets[:9]] == list(frames) * 3
    assert_continuous(packets)
    assert {(q.timestamp - p.timestamp) for p, q in itertools.pairwise(packets)} == {160}
    media.stop_play("a")
    sent = leg.sent
    await a.wait_for(sent)
    await asyncio.sleep(0.2)  # three ticks of the pacer: none may send anything any more
    assert len(a.packets) == sent
    assert not done  # stopped, not finished


async def test_pacer_sends_in_real_time_not_in_a_burst(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, _ = peers
    leg = await media.open_endpoint("a")
    leg.set_remote(a.remote())
    media.play("a", tone_wav(tmp_path / "s.wav", 25))
    started = time.monotonic()
    await a.wait_for(25)
    # Frame n leaves at the earliest n * 20 ms after play(): a loaded machine can only be later.
    assert time.monotonic() - started >= 0.45


async def test_a_loaded_sounds_first_frame_leaves_at_play_not_at_the_next_tick(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    """What a caller who pressed a key hears first is sent when the switch says play: no wait
    for the pacer's next 20 ms tick (the rest keeps the shared clock)."""
    a, _ = peers
    leg = await media.open_endpoint("a")
    leg.set_remote(a.remote())
    sound = tone_wav(tmp_path / "ack.wav", 10)
    media.play("a", sound)
    await a.wait_for(10)  # loaded (and cached) by this first play
    sent = leg.sent
    media.play("a", sound)
    assert leg.sent == sent + 1  # within play() itself: no tick has run yet
    first = await a.wait_for(11)
    assert first[10].payload == sounds.to_frames(sounds.read_wav(sound.read_bytes()), 0)[0]


async def test_bridge_stops_playback_without_on_done(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, b = peers
    leg_a = await media.open_endpoint("a")
    leg_b = await media.open_endpoint("b")
    leg_a.set_remote(a.remote())
    leg_b.set_remote(b.remote())
    done: list[bool] = []
    media.play("a", tone_wav(tmp_path / "q.wav", 200), loop=True, on_done=lambda: done.append(True))
    await a.wait_for(2)
    media.bridge("a", "b")
    b.send(leg_b.port, payload(7))
    deadline = time.monotonic() + WAIT
    while not any(p.payload == payload(7) for p in a.packets):
        assert time.monotonic() < deadline, "relayed packet never arrived"
        await asyncio.sleep(0.005)
    relayed = next(p for p in a.packets if p.payload == payload(7))
    assert relayed.marker
    assert_continuous(a.packets[: a.packets.index(relayed) + 1])
    assert not done


async def test_telephone_events_are_passed_through_with_the_partner_payload_type(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    a, b = peers
    leg_a = await media.open_endpoint("a")
    leg_b = await media.open_endpoint("b")
    leg_a.set_remote(a.remote(te=101))
    leg_b.set_remote(b.remote(te=96))
    media.bridge("a", "b")
    event = bytes([1, 0x0A, 0x00, 0xA0])
    a.send(leg_a.port, event, pt=101, marker=True, step=0)
    (got,) = await b.wait_for(1)
    assert (got.payload_type, got.payload) == (96, event)
    # A partner without telephone-event does not get the events, only the audio.
    leg_b.set_remote(b.remote(te=None))
    a.send(leg_a.port, event, pt=101, step=0)
    a.send(leg_a.port, payload(1))
    packets = await b.wait_for(2)
    assert [p.payload_type for p in packets] == [96, 0]


async def test_codecs_are_transcoded_between_pcmu_and_pcma(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    a, b = peers
    port_a, port_b = await bridged(media, a, b, pt_a=0, pt_b=8)
    a.send(port_a, payload(3), pt=0)
    (got,) = await b.wait_for(1)
    assert got.payload_type == 8
    assert got.payload == payload(3).translate(g711.ULAW_TO_ALAW)
    b.send(port_b, b"\xd5" * 160, pt=8)
    (back,) = await a.wait_for(1)
    # A-law 0xD5 is +8, which is mu-law 0xFE.
    assert (back.payload_type, back.payload) == (0, b"\xfe" * 160)


async def test_remote_address_is_learnt_from_the_first_packet(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    a, b = peers
    leg_a = await media.open_endpoint("a")
    leg_b = await media.open_endpoint("b")
    leg_a.set_remote(RemoteMedia("0.0.0.0", 0, 0))  # behind NAT: the SDP says nothing useful
    leg_b.set_remote(b.remote())
    media.bridge("a", "b")
    b.send(leg_b.port, payload(1))  # nowhere to send yet: dropped
    intruder = await RtpPeer.open()
    intruder.send_raw(b"not rtp at all", leg_a.port)  # garbage must not steal the latch
    await asyncio.sleep(0.05)
    a.send(leg_a.port, payload(2))
    await b.wait_for(1)
    b.send(leg_b.port, payload(3))
    (got,) = await a.wait_for(1)
    assert got.payload == payload(3)
    assert intruder.packets == []
    intruder.close()


async def test_reordered_and_missing_packets_are_forwarded_as_they_come(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    base_seq, base_ts = a.seq, a.ts
    for offset in (0, 2, 1, 5):  # 3 and 4 are lost
        packet = RtpPacket(0, base_seq + offset, base_ts + 160 * offset, a.ssrc, payload(offset))
        a.send_raw(packet.build(), port_a)
    got = await b.wait_for(4)
    first = got[0]
    assert [(p.sequence - first.sequence) & 0xFFFF for p in got] == [0, 2, 1, 5]
    assert [(p.timestamp - first.timestamp) & 0xFFFFFFFF for p in got] == [0, 320, 160, 800]
    assert [p.payload for p in got] == [payload(i) for i in (0, 2, 1, 5)]


async def test_garbage_and_rtcp_are_dropped_without_disturbing_calls(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    for junk in (
        b"",
        b"\x00",
        b"INVITE sip:x SIP/2.0\r\n\r\n",
        bytes.fromhex("81c80006 00000001") + bytes(20),  # RTCP sender report
        bytes.fromhex("a0000001 00000001 00000001 ffff00"),  # bad padding
    ):
        a.send_raw(junk, port_a)
    a.send(port_a, payload(9))
    got = await b.wait_for(1)
    await asyncio.sleep(0.05)
    assert len(got) == 1 and got[0].payload == payload(9)


async def test_unbridge_stops_the_relay(media: MediaServer, peers: tuple[RtpPeer, RtpPeer]) -> None:
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    a.send(port_a, payload(1))
    await b.wait_for(1)
    media.unbridge("b")
    a.send(port_a, payload(2))
    await asyncio.sleep(0.1)
    assert len(b.packets) == 1
    media.unbridge("b")  # twice is harmless


async def test_recording_writes_both_directions_to_a_stereo_wav(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, b = peers
    port_a, port_b = await bridged(media, a, b, pt_a=0, pt_b=8)
    path = tmp_path / "calls" / "call-1.wav"
    media.start_recording("a", "b", path)
    customer = g711.encode(struct.pack("<160h", *([4000] * 160)), 0)
    agent = g711.encode(struct.pack("<160h", *([-2000] * 160)), 8)
    for _ in range(10):  # a burst: placement goes by RTP timestamp, not by arrival
        a.send(port_a, customer, pt=0)
        b.send(port_b, agent, pt=8)
    await b.wait_for(10)
    await a.wait_for(10)
    assert not path.exists()  # only a .part file while recording
    media.unbridge("a")
    with wave.open(str(path), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (2, 2, 8000)
        frames = reader.readframes(reader.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    left, right = samples[0::2], samples[1::2]
    customer_level = struct.unpack("<h", g711.decode(customer[:1], 0))[0]
    agent_level = struct.unpack("<h", g711.decode(agent[:1], 8))[0]
    assert left.count(customer_level) == 1600
    assert right.count(agent_level) == 1600
    assert set(left) <= {0, customer_level} and set(right) <= {0, agent_level}


async def test_a_missing_sound_ends_at_once_and_a_looping_one_stays_silent(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    done = asyncio.Event()
    media.play("b", tmp_path / "missing.wav", on_done=done.set)
    await asyncio.wait_for(done.wait(), WAIT)
    a.send(port_a, payload(1))  # the relay to b is back after the failed sound
    await b.wait_for(1)
    media.play("b", tmp_path / "missing.wav", loop=True)
    await asyncio.sleep(0.1)
    a.send(port_a, payload(2))  # on hold with a broken sound: silence, never the partner
    await asyncio.sleep(0.1)
    assert [p.payload for p in b.packets] == [payload(1)]


async def test_endpoint_with_a_host_name_in_sdp_latches_to_the_sender(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    a, b = peers
    leg_a = await media.open_endpoint("a")
    leg_b = await media.open_endpoint("b")
    leg_a.set_remote(RemoteMedia("phone.example.invalid", 4000, 0))
    leg_b.set_remote(b.remote())
    media.bridge("a", "b")
    a.send(leg_a.port, payload(1))
    await b.wait_for(1)
    b.send(leg_b.port, payload(2))
    assert [p.payload for p in await a.wait_for(1)] == [payload(2)]


async def test_recording_again_after_hold_continues_the_same_file(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    path = tmp_path / "call.wav"
    loud = g711.encode(struct.pack("<160h", *([3000] * 160)), 0)
    for part in range(2):  # talk, hold (unbridge), resume (bridge + record again), talk
        media.start_recording("a", "b", path)
        for _ in range(5):
            a.send(port_a, loud)
        await b.wait_for(5 * (part + 1))
        media.unbridge("a")
        media.bridge("a", "b")
    with wave.open(str(path), "rb") as reader:
        frames = reader.readframes(reader.getnframes())
    left = struct.unpack(f"<{len(frames) // 2}h", frames)[0::2]
    level = struct.unpack("<h", g711.decode(loud[:1], 0))[0]
    assert left.count(level) == 2 * 5 * 160


async def test_a_recording_that_cannot_be_written_leaves_the_call_alone(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer], tmp_path: Path
) -> None:
    a, b = peers
    port_a, _ = await bridged(media, a, b)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    media.start_recording("a", "b", blocker / "call.wav")
    a.send(port_a, payload(1))
    assert [p.payload for p in await b.wait_for(1)] == [payload(1)]


async def test_media_goes_where_the_phone_sends_from_and_follows_a_nat_rebinding(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    """Symmetric RTP: the SDP names one port, the phone's packets come from another (a NAT's
    public port): our audio goes to where they come from. When the NAT's mapping changes
    mid-call, the audio follows after RELATCH_PACKETS packets in a row from the new port, and
    a lone packet from elsewhere (a stray or injected one) does not move it."""
    a, b = peers
    leg_a = await media.open_endpoint("a")
    leg_b = await media.open_endpoint("b")
    listed = await RtpPeer.open()  # the address in the SDP, which the phone does not use
    leg_a.set_remote(listed.remote())
    leg_b.set_remote(b.remote())
    media.bridge("a", "b")
    a.send(leg_a.port, payload(1))  # from behind the NAT: another port than the SDP's
    await b.wait_for(1)
    b.send(leg_b.port, payload(2))
    assert [p.payload for p in await a.wait_for(1)] == [payload(2)]
    stray = await RtpPeer.open()
    stray.send(leg_a.port, payload(3))  # one packet from elsewhere: not followed
    await asyncio.sleep(0.05)
    b.send(leg_b.port, payload(4))
    assert [p.payload for p in await a.wait_for(2)] == [payload(2), payload(4)]
    moved = await RtpPeer.open()  # the NAT gave the phone a new public port
    for i in range(RELATCH_PACKETS):
        moved.send(leg_a.port, payload(10 + i))
    await b.wait_for(2 + RELATCH_PACKETS)
    b.send(leg_b.port, payload(5))
    assert [p.payload for p in await moved.wait_for(1)] == [payload(5)]
    assert listed.packets == [] and stray.packets == []
    assert len(a.packets) == 2
    for peer in (listed, stray, moved):
        peer.close()


async def test_packets_from_source_port_0_are_heard_but_never_latched(
    media: MediaServer, peers: tuple[RtpPeer, RtpPeer]
) -> None:
    """A raw-socket sender (SIPp playing a pcap) may show source port 0: its audio is relayed,
    but the leg keeps answering the address its SDP gave (port 0 cannot be sent to)."""
    a, b = peers
    leg_a = await media.open_endpoint("a")
    leg_b = await media.open_endpoint("b")
    leg_a.set_remote(a.remote())
    leg_b.set_remote(b.remote())
    media.bridge("a", "b")
    packet = RtpPacket(0, 1, 160, 1234, payload(1)).build()
    for _ in range(RELATCH_PACKETS + 1):
        leg_a.datagram_received(packet, ("127.0.0.1", 0))
    await b.wait_for(1)  # heard and relayed
    assert leg_a.address == (a.remote().host, a.remote().port)
    b.send(leg_b.port, payload(2))
    assert [p.payload for p in await a.wait_for(1)] == [payload(2)]  # still reaches the SDP's
