"""The digit of a SIP INFO carrying DTMF (application/dtmf-relay and application/dtmf)."""

from __future__ import annotations

import pytest

from ringdesk.sip.info_digits import digit_from_info


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        (b"Signal=5\r\nDuration=160\r\n", "5"),
        (b"Signal=*\r\nDuration=100", "*"),
        (b"Signal=#\r\nDuration=100", "#"),
        (b"Signal=10\r\nDuration=100", "*"),
        (b"Signal=11\r\nDuration=100", "#"),
        (b"Signal=0\r\nDuration=100", "0"),
        (b"signal = a\nduration = 250\n", "A"),
        (b"Duration=160\r\nSignal= D \r\n", "D"),
        (b"SIGNAL=9", "9"),
    ],
)
def test_dtmf_relay(body: bytes, digit: str) -> None:
    assert digit_from_info("application/dtmf-relay", body) == digit


@pytest.mark.parametrize(
    ("body", "digit"),
    [(b"5", "5"), (b"#", "#"), (b"11", "#"), (b"10\r\n", "*"), (b"12", "A"), (b" b ", "B")],
)
def test_dtmf(body: bytes, digit: str) -> None:
    assert digit_from_info("application/dtmf", body) == digit


def test_content_type_parameters_and_case_are_ignored() -> None:
    assert digit_from_info("Application/DTMF-Relay; charset=utf-8", b"Signal=7") == "7"
    assert digit_from_info(" application/dtmf ;x=y", b"3") == "3"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/dtmf-relay", b"Duration=160"),
        ("application/dtmf-relay", b"Signal=16\r\nDuration=160"),
        ("application/dtmf-relay", b"Signal=55"),
        ("application/dtmf-relay", b"Signal=E"),
        ("application/dtmf-relay", b"Signal="),
        ("application/dtmf-relay", b"Signal=\xff"),
        ("application/dtmf-relay", b""),
        ("application/dtmf", b""),
        ("application/dtmf", b"16"),
        ("application/dtmf", b"-1"),
        ("application/dtmf", "\u0665".encode()),  # an Arabic-Indic five is not a key
        ("text/plain", b"5"),
        ("application/sdp", b"Signal=5"),
        ("", b"Signal=5"),
    ],
)
def test_anything_else_is_none(content_type: str, body: bytes) -> None:
    assert digit_from_info(content_type, body) is None
