"""RTP header parse/build (RFC 3550 5.1), including CSRC, extension and padding."""

from __future__ import annotations

import pytest

from ringdesk.media.rtp import RtpError, RtpPacket, build_rtp, is_rtcp, parse_rtp, payload_bounds


def test_plain_packet_round_trips_byte_exact() -> None:
    raw = bytes.fromhex("80 00 1234 0000abcd deadbeef") + b"\xff" * 160
    packet = parse_rtp(raw)
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc) == (
        0,
        0x1234,
        0xABCD,
        0xDEADBEEF,
    )
    assert not packet.marker
    assert packet.payload == b"\xff" * 160
    assert build_rtp(packet) == raw


def test_marker_csrc_extension_and_padding_are_understood() -> None:
    packet = RtpPacket(
        payload_type=8,
        sequence=65535,
        timestamp=2**32 - 1,
        ssrc=7,
        payload=b"abc",
        marker=True,
        csrc=(1, 2),
        extension=(0xBEDE, b"\x10\x01\x00\x00"),
        padding=5,
    )
    raw = packet.build()
    assert raw[0] == 0x80 | 0x20 | 0x10 | 2
    assert raw[1] == 0x80 | 8
    assert len(raw) == 12 + 8 + 4 + 4 + 3 + 5
    assert parse_rtp(raw) == packet
    assert payload_bounds(raw) == (28, 31)


def test_telephone_event_payload_is_kept() -> None:
    event = bytes([5, 0x8A, 0x03, 0x20])  # digit 5, end bit, volume 10, duration 800
    packet = parse_rtp(RtpPacket(101, 1, 2, 3, event, marker=True).build())
    assert packet.payload_type == 101 and packet.payload == event


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x80\x00\x00",  # shorter than a header
        bytes.fromhex("40 00 0001 00000001 00000001"),  # version 1
        bytes.fromhex("82 00 0001 00000001 00000001") + b"\0\0\0\0",  # CSRC list cut short
        bytes.fromhex("90 00 0001 00000001 00000001 bede"),  # extension header cut short
        bytes.fromhex("90 00 0001 00000001 00000001 bede 0004 00000000"),  # extension data short
        bytes.fromhex("a0 00 0001 00000001 00000001 ff ff 09"),  # padding longer than the packet
        bytes.fromhex("a0 00 0001 00000001 00000001 ff ff 00"),  # padding count zero
    ],
)
def test_malformed_packets_raise_rtp_error(raw: bytes) -> None:
    with pytest.raises(RtpError):
        parse_rtp(raw)
    if len(raw) >= 12 and raw[0] >> 6 == 2:
        assert payload_bounds(raw) is None


def test_rtcp_is_recognised_and_not_parsed_as_rtp() -> None:
    sender_report = bytes.fromhex("80 c8 0006 00000001") + bytes(20)
    assert is_rtcp(sender_report)
    assert not is_rtcp(RtpPacket(0, 1, 2, 3).build())
    with pytest.raises(RtpError):
        parse_rtp(sender_report)


def test_build_rejects_out_of_range_fields() -> None:
    with pytest.raises(ValueError):
        build_rtp(RtpPacket(128, 0, 0, 0))
    with pytest.raises(ValueError):
        build_rtp(RtpPacket(0, 0, 0, 0, csrc=tuple(range(16))))
    with pytest.raises(ValueError):
        build_rtp(RtpPacket(0, 0, 0, 0, extension=(1, b"abc")))


def test_sequence_and_timestamp_wrap() -> None:
    packet = parse_rtp(RtpPacket(0, 65536 + 5, 2**32 + 9, 1).build())
    assert (packet.sequence, packet.timestamp) == (5, 9)
