import pytest

from ringdesk.sip.sdp import (
    SdpError,
    answer_remote,
    build_sdp,
    negotiate,
    offer_payload_types,
    parse_sdp,
)

OFFER = (
    b"v=0\r\n"
    b"o=- 1 2 IN IP4 10.0.0.5\r\n"
    b"s=-\r\n"
    b"c=IN IP4 10.0.0.5\r\n"
    b"t=0 0\r\n"
    b"m=audio 40000 RTP/AVP 9 8 0 96\r\n"
    b"a=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:96 telephone-event/8000\r\n"
    b"a=fmtp:96 0-16\r\n"
    b"a=ptime:20\r\n"
)


def test_parse_offer() -> None:
    sdp = parse_sdp(OFFER)
    assert (sdp.origin_session, sdp.origin_version) == ("1", 2)
    audio = sdp.audio()
    assert audio is not None
    assert (audio.connection, audio.port, audio.formats) == (
        "10.0.0.5",
        40000,
        ["9", "8", "0", "96"],
    )
    assert audio.rtpmap[96] == ("telephone-event", 8000)
    assert audio.ptime == 20
    assert audio.direction == "sendrecv"


def test_negotiate_takes_offerers_first_allowed_codec_and_telephone_event() -> None:
    neg = negotiate(parse_sdp(OFFER), ["PCMU", "PCMA"])
    assert neg.payload_type == 8  # G722 is not ours; PCMA comes before PCMU in the offer
    assert neg.telephone_event_pt == 96
    assert (neg.host, neg.port) == ("10.0.0.5", 40000)
    assert negotiate(parse_sdp(OFFER), ["PCMU"]).payload_type == 0


@pytest.mark.parametrize(
    ("offered", "answer"),
    [
        ("sendrecv", "sendrecv"),
        ("sendonly", "recvonly"),
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
    ],
)
def test_direction_is_mirrored(offered: str, answer: str) -> None:
    neg = negotiate(parse_sdp(OFFER + f"a={offered}\r\n".encode()), ["PCMU"])
    assert (neg.remote_direction, neg.answer_direction) == (offered, answer)


def test_session_level_direction_applies_to_media() -> None:
    body = OFFER.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")
    assert negotiate(parse_sdp(body), ["PCMU"]).remote_direction == "sendonly"


def test_nothing_in_common_is_488() -> None:
    body = OFFER.replace(b"m=audio 40000 RTP/AVP 9 8 0 96", b"m=audio 40000 RTP/AVP 9 96")
    with pytest.raises(SdpError) as info:
        negotiate(parse_sdp(body), ["PCMU", "PCMA"])
    assert info.value.status == 488
    with pytest.raises(SdpError):
        negotiate(parse_sdp(OFFER), ["G729"])


def test_garbage_sdp_is_refused() -> None:
    for body in (b"", b"hello", b"v=0\r\nm=audio x RTP/AVP 0\r\n", b"\xff\xfe"):
        with pytest.raises(SdpError):
            negotiate(parse_sdp(body), ["PCMU"])


def test_build_and_read_back() -> None:
    body = build_sdp(
        address="127.0.0.1",
        port=30000,
        session_id="77",
        version=3,
        payload_types=offer_payload_types(["PCMU", "PCMA"]),
        telephone_event=101,
        direction="sendonly",
    )
    text = body.decode()
    assert "m=audio 30000 RTP/AVP 0 8 101\r\n" in text
    assert "a=rtpmap:101 telephone-event/8000\r\n" in text
    assert "a=ptime:20\r\n" in text
    assert "o=ringdesk 77 3 IN IP4 127.0.0.1" in text
    sdp = parse_sdp(body)
    audio = sdp.audio()
    assert audio is not None and audio.direction == "sendonly"
    neg = answer_remote(sdp, [0, 8])
    assert (neg.payload_type, neg.telephone_event_pt, neg.port) == (0, 101, 30000)


def test_answer_must_pick_an_offered_codec() -> None:
    with pytest.raises(SdpError):
        answer_remote(parse_sdp(OFFER), [18])


def test_no_g711_in_settings() -> None:
    with pytest.raises(SdpError):
        offer_payload_types(["G729"])
