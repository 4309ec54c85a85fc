"""Mixing for a monitored call (media/mix.py): the sum table, and who hears whom over real UDP
loopback with three fake phones (customer, agent, supervisor) in each mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ringdesk.media import g711
from ringdesk.media.mix import mix2, sum_table
from ringdesk.media.server import MediaServer

from .rtp_peer import RtpPeer

CUSTOMER, AGENT, SUPERVISOR = 1000, 2000, 500  # each peer sends a constant of its own


def test_the_sum_table_adds_decoded_samples_and_clips() -> None:
    for pt, enc, dec in (
        (g711.PCMU, g711.ulaw_encode_sample, g711.ulaw_decode_sample),
        (g711.PCMA, g711.alaw_encode_sample, g711.alaw_decode_sample),
    ):
        table = sum_table(pt)
        a, b = enc(1000), enc(-300)
        assert abs(dec(table[a << 8 | b]) - 700) <= 40
        loud = enc(30000)
        assert dec(table[loud << 8 | loud]) >= 31000  # clipped at the top, never wrapped
        quiet = enc(-30000)
        assert dec(table[quiet << 8 | quiet]) <= -31000
    # A frame of one codec, the longer one's tail kept as it is.
    x = bytes([g711.ulaw_encode_sample(1000)]) * 160
    y = bytes([g711.ulaw_encode_sample(2000)]) * 100
    mixed = mix2(x, y, g711.PCMU)
    assert len(mixed) == 160 and mixed[100:] == x[100:]
    assert abs(g711.ulaw_decode_sample(mixed[0]) - 3000) <= 100


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    server = MediaServer("127.0.0.1")
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def phones() -> AsyncIterator[tuple[RtpPeer, RtpPeer, RtpPeer]]:
    peers = (await RtpPeer.open(), await RtpPeer.open(), await RtpPeer.open())
    for n, peer in enumerate(peers):
        peer.ssrc = 0x1000 + n
    yield peers
    for peer in peers:
        peer.close()


def _frame(value: int, pt: int = g711.PCMU) -> bytes:
    encode = g711.ulaw_encode_sample if pt == g711.PCMU else g711.alaw_encode_sample
    return bytes([encode(value)]) * 160


def _level(payload: bytes, pt: int = g711.PCMU) -> int:
    decode = g711.ulaw_decode_sample if pt == g711.PCMU else g711.alaw_decode_sample
    return decode(payload[0])


async def _talk(
    peers: tuple[RtpPeer, RtpPeer, RtpPeer], ports: tuple[int, int, int], frames: int = 25
) -> None:
    """Each phone sends its constant every 20 ms for `frames` frames."""
    for _ in range(frames):
        for peer, port, value in zip(peers, ports, (CUSTOMER, AGENT, SUPERVISOR), strict=True):
            peer.send(port, _frame(value))
        await asyncio.sleep(0.02)


def _heard(peer: RtpPeer, since: int) -> set[int]:
    """The levels the phone received after its first `since` packets (settled: the last 10)."""
    return {round(_level(p.payload), -2) for p in peer.packets[since:][-10:]}


async def test_listen_whisper_barge_each_hear_whom_they_should(
    media: MediaServer, phones: tuple[RtpPeer, RtpPeer, RtpPeer]
) -> None:
    customer, agent, supervisor = phones
    legs = [await media.open_endpoint(name) for name in ("c", "a", "s")]
    for leg, peer in zip(legs, phones, strict=True):
        leg.set_remote(peer.remote())
    ports = (legs[0].port, legs[1].port, legs[2].port)
    media.bridge("c", "a")

    assert media.monitor("c", "a", "s", "listen")
    marks = [len(p.packets) for p in phones]
    await _talk(phones, ports)
    assert _heard(supervisor, marks[2]) == {CUSTOMER + AGENT}  # both, summed
    assert _heard(agent, marks[1]) == {CUSTOMER}  # the plain relay: not the supervisor
    assert _heard(customer, marks[0]) == {AGENT}

    assert media.monitor("c", "a", "s", "whisper")
    marks = [len(p.packets) for p in phones]
    await _talk(phones, ports)
    assert _heard(supervisor, marks[2]) == {CUSTOMER + AGENT}
    assert _heard(agent, marks[1]) == {CUSTOMER + SUPERVISOR}  # the agent hears the coach
    assert _heard(customer, marks[0]) == {AGENT}  # the customer does not

    assert media.monitor("c", "a", "s", "barge")
    marks = [len(p.packets) for p in phones]
    await _talk(phones, ports)
    assert _heard(customer, marks[0]) == {AGENT + SUPERVISOR}
    assert _heard(agent, marks[1]) == {CUSTOMER + SUPERVISOR}

    media.unmonitor("s")
    marks = [len(p.packets) for p in phones]
    await _talk(phones, ports)
    assert _heard(customer, marks[0]) == {AGENT}
    assert _heard(agent, marks[1]) == {CUSTOMER}
    # the relay's packets pass unchanged again: byte for byte what the other phone sent
    assert agent.packets[-1].payload == _frame(CUSTOMER)
    assert all(leg.tap is None and leg.player is None for leg in legs)


async def test_the_supervisor_leaving_ends_the_mix_and_the_call_goes_on(
    media: MediaServer, phones: tuple[RtpPeer, RtpPeer, RtpPeer]
) -> None:
    customer, agent, _supervisor = phones
    legs = [await media.open_endpoint(name) for name in ("c", "a", "s")]
    for leg, peer in zip(legs, phones, strict=True):
        leg.set_remote(peer.remote())
    ports = (legs[0].port, legs[1].port, legs[2].port)
    media.bridge("c", "a")
    assert media.monitor("c", "a", "s", "barge")
    await _talk(phones, ports, frames=10)
    media.close_endpoint("s")  # the supervisor's phone hung up
    marks = [len(p.packets) for p in phones]
    await _talk(phones, ports, frames=15)
    assert _heard(customer, marks[0]) == {AGENT}
    assert _heard(agent, marks[1]) == {CUSTOMER}
    assert legs[0].tap is None and legs[1].tap is None
    assert not media.monitor("c", "a", "s", "listen")  # its leg is gone


async def test_mixed_output_is_in_the_listeners_codec(
    media: MediaServer, phones: tuple[RtpPeer, RtpPeer, RtpPeer]
) -> None:
    customer, agent, supervisor = phones
    legs = [await media.open_endpoint(name) for name in ("c", "a", "s")]
    legs[0].set_remote(customer.remote(g711.PCMU))
    legs[1].set_remote(agent.remote(g711.PCMU))
    legs[2].set_remote(supervisor.remote(g711.PCMA))  # the supervisor's phone speaks A-law
    media.bridge("c", "a")
    assert media.monitor("c", "a", "s", "listen")
    mark = len(supervisor.packets)
    for _ in range(20):
        customer.send(legs[0].port, _frame(CUSTOMER))
        agent.send(legs[1].port, _frame(AGENT))
        await asyncio.sleep(0.02)
    got = supervisor.packets[mark:][-10:]
    assert got and {p.payload_type for p in got} == {g711.PCMA}
    # both summed, within the two codecs' quantisation steps at this level
    assert all(abs(_level(p.payload, g711.PCMA) - (CUSTOMER + AGENT)) <= 130 for p in got)
