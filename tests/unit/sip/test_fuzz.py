"""The parser meets garbage: only SipParseError may come out, never another exception.

`_parse` is fuzzed directly (below parse_message's last-resort guard) so a real parser bug shows
up as a failure here instead of being hidden as a 400. Inputs that ever crashed are kept in
REGRESSIONS.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import _parse, parse_message
from ringdesk.sip.sdp import SdpError, negotiate, parse_sdp

from .samples import INVITE, REGISTER, RESPONSE

SAMPLES = [INVITE, REGISTER, RESPONSE]

REGRESSIONS: list[bytes] = [
    b"INVITE sip:a@[::1 SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n",
    b"INVITE sip:a@b:99999 SIP/2.0\r\n\r\n",
    b"SIP/2.0 abc OK\r\n\r\n",
    b"\r\n\r\n\r\n",
    b" INVITE sip:a@b SIP/2.0\r\n",
    b"INVITE sip:a@b SIP/2.0\r\n Via: folded-first\r\n\r\n",
    b'INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch="\r\n\r\n',
    b"INVITE sip:@b SIP/2.0\r\nVia: SIP / 2.0 / UDP\r\n\r\n",
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <>\r\nTo: x\r\n"
    b"Call-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
]


def check(data: bytes, stream: bool = False) -> None:
    try:
        _parse(data, stream)
    except SipParseError as exc:
        assert 400 <= exc.status < 600


@pytest.mark.parametrize("data", REGRESSIONS)
def test_regressions(data: bytes) -> None:
    check(data)
    check(data, stream=True)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(alphabet=st.sampled_from(list(':;,<>@"= /\r\n\tsipSIP20.zZ9a-')), max_size=300))
def test_sip_alphabet_soup(text: str) -> None:
    check(("INVITE sip:a@b SIP/2.0\r\n" + text).encode())


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "dup"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "delete" and data:
            end = pos + draw(st.integers(1, 20))
            del data[pos:end]
        elif kind == "insert":
            data[pos:pos] = draw(
                st.sampled_from([b":", b";", b"<", b">", b"\r\n", b" ", b'"', b","])
            )
        elif kind == "dup":
            end = pos + draw(st.integers(1, 40))
            data[pos:pos] = data[pos:end]
    return bytes(data)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated())
def test_mutated_valid_messages(data: bytes) -> None:
    check(data)
    check(data, stream=True)


def test_parse_message_guard_turns_anything_into_400() -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(b"\xff" * 10)
    assert info.value.status == 400


SDP_SAMPLE = INVITE.split(b"\r\n\r\n", 1)[1]


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.builds(
            lambda cut, junk: SDP_SAMPLE[:cut] + junk + SDP_SAMPLE[cut:],
            st.integers(0, len(SDP_SAMPLE)),
            st.binary(max_size=12),
        ),
    )
)
def test_sdp_parser_raises_only_sdp_error(data: bytes) -> None:
    try:
        neg = negotiate(parse_sdp(data), ["PCMU", "PCMA"])
    except SdpError as exc:
        assert exc.status == 488
    else:
        assert neg.payload_type in (0, 8) and 0 <= neg.port <= 65535
