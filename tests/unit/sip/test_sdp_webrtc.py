"""WebRTC SDP (sip/sdp.py): a real chromium offer and answer (captured by
tests/e2e/test_webrtc_media.py, RINGDESK_CAPTURE_SDP=1) read, and our ICE-lite side written."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringdesk.sip import sdp

FIXTURES = Path(__file__).parent / "fixtures"
OFFER = (FIXTURES / "chromium_offer.sdp").read_bytes()
ANSWER = (FIXTURES / "chromium_answer.sdp").read_bytes()


def test_chromium_offer_parses() -> None:
    parsed = sdp.parse_sdp(OFFER)
    assert parsed.bundle == ["0"] and not parsed.ice_lite
    m = parsed.audio()
    assert m is not None and m.proto == "UDP/TLS/RTP/SAVPF"
    assert m.ice_ufrag and m.ice_pwd and len(m.ice_pwd) >= 22
    assert m.setup == "actpass" and m.rtcp_mux and m.mid == "0"
    ((algorithm, value),) = m.fingerprints
    assert algorithm == "sha-256" and len(value.split(":")) == 32


def test_chromium_offer_negotiates_g711_only_for_a_webrtc_leg() -> None:
    offer = sdp.parse_sdp(OFFER)
    negotiated = sdp.negotiate(offer, ["PCMA", "PCMU"], webrtc=True)
    # Opus (111) comes first in chromium's list; we take the first G.711 it offers.
    assert negotiated.payload_type == 0
    assert negotiated.telephone_event_pt == 126  # the 8000 Hz one, not 110 at 48000
    assert negotiated.crypto is None and negotiated.profile == "UDP/TLS/RTP/SAVPF"
    peer = negotiated.webrtc
    assert peer is not None and peer.setup == "actpass" and peer.mid == "0"
    m = offer.audio()
    assert m is not None and peer.ice_ufrag == m.ice_ufrag and peer.ice_pwd == m.ice_pwd
    with pytest.raises(sdp.SdpError, match="no usable audio stream"):
        sdp.negotiate(offer, ["PCMU"])  # not on a phone leg: no silent plain-RTP call


def test_plain_offer_refused_on_a_webrtc_leg() -> None:
    plain = sdp.build_sdp(
        address="192.0.2.1", port=4000, session_id="1", version=1, payload_types=[0]
    )
    with pytest.raises(sdp.SdpError, match="UDP/TLS/RTP/SAVPF"):
        sdp.negotiate(sdp.parse_sdp(plain), ["PCMU"], webrtc=True)


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("a=ice-pwd:", "ice-ufrag and a=ice-pwd"),
        ("a=fingerprint:", "without a=fingerprint"),
        ("a=rtcp-mux", "rtcp-mux"),
    ],
)
def test_missing_webrtc_attribute_is_488(drop: str, message: str) -> None:
    text = b"\r\n".join(line for line in OFFER.splitlines() if not line.startswith(drop.encode()))
    with pytest.raises(sdp.SdpError, match=message) as info:
        sdp.negotiate(sdp.parse_sdp(text), ["PCMU"], webrtc=True)
    assert info.value.status == 488


def test_session_level_fingerprint_and_setup_apply_to_the_stream() -> None:
    lines = OFFER.decode().splitlines()
    moved = [ln for ln in lines if ln.startswith(("a=fingerprint:", "a=setup:"))]
    rest = [ln for ln in lines if ln not in moved]
    at = rest.index(next(ln for ln in rest if ln.startswith("m=")))
    text = "\r\n".join(rest[:at] + moved + rest[at:]).encode()
    peer = sdp.negotiate(sdp.parse_sdp(text), ["PCMU"], webrtc=True).webrtc
    assert peer is not None and peer.setup == "actpass" and len(peer.fingerprints) == 1


def test_chromium_answer_to_our_offer() -> None:
    negotiated = sdp.answer_remote(sdp.parse_sdp(ANSWER), [0], webrtc=True)
    assert negotiated.payload_type == 0 and negotiated.webrtc is not None
    assert negotiated.webrtc.setup == "active"
    with pytest.raises(sdp.SdpError, match="WebRTC answer"):
        sdp.answer_remote(sdp.parse_sdp(ANSWER), [0])
    actpass = ANSWER.replace(b"a=setup:active", b"a=setup:actpass")
    with pytest.raises(sdp.SdpError, match="setup:actpass"):
        sdp.answer_remote(sdp.parse_sdp(actpass), [0], webrtc=True)


def test_our_webrtc_sdp() -> None:
    ours = sdp.WebRtcAttributes(
        "abcd1234",
        "p" * 32,
        ("sha-256", "AB:CD"),
        "actpass",
        candidates=(("192.0.2.1", 30000),),
        mid="0",
    )
    text = sdp.build_sdp(
        address="192.0.2.1",
        port=30000,
        session_id="7",
        version=1,
        payload_types=[0, 8],
        webrtc=ours,
    )
    lines = text.decode().split("\r\n")
    m_at = lines.index("m=audio 30000 UDP/TLS/RTP/SAVPF 0 8 101")
    assert lines.index("a=ice-lite") < m_at and lines.index("a=group:BUNDLE 0") < m_at
    for line in (
        "a=mid:0",
        "a=ice-ufrag:abcd1234",
        f"a=ice-pwd:{'p' * 32}",
        "a=fingerprint:sha-256 AB:CD",
        "a=setup:actpass",
        "a=rtcp-mux",
        "a=candidate:1 1 udp 2130706431 192.0.2.1 30000 typ host",
        "a=end-of-candidates",
    ):
        assert lines.index(line) > m_at, line
    # It reads back as a WebRTC offer (what a browser gets).
    back = sdp.parse_sdp(text)
    assert back.ice_lite and back.bundle == ["0"]
    peer = sdp.negotiate(back, ["PCMU"], webrtc=True).webrtc
    assert peer is not None and peer.fingerprints == (("sha-256", "AB:CD"),)
    assert peer.candidates == ("1 1 udp 2130706431 192.0.2.1 30000 typ host",)
