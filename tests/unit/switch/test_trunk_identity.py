"""The caller ID a trunk's provider expects, and the number formats out and in."""

from __future__ import annotations

import pytest

from ringdesk.switch.lookup import TrunkSettings
from ringdesk.switch.trunk_identity import caller_id, format_out, normalise_in

DE = TrunkSettings(host="sip.provider.test", country_code="49")


@pytest.mark.parametrize(
    ("fmt", "number", "wire"),
    [
        ("e164", "+49301234567", "+49301234567"),
        ("e164_plain", "+49301234567", "49301234567"),
        ("national", "+49301234567", "0301234567"),
        ("national", "+33123456789", "0033123456789"),
        ("e164_plain", "5551234", "5551234"),  # not E.164: as dialled
    ],
)
def test_the_number_goes_in_the_trunks_format(fmt: str, number: str, wire: str) -> None:
    trunk = TrunkSettings(host="t", country_code="49", number_format=fmt)
    assert format_out(number, trunk) == wire


@pytest.mark.parametrize(
    ("sent", "e164"),
    [
        ("+49301234567", "+49301234567"),
        ("0049301234567", "+49301234567"),
        ("49301234567", "+49301234567"),
        ("030 1234567", "+49301234567"),
        ("anonymous", "anonymous"),
    ],
)
def test_the_callers_number_becomes_e164_with_the_trunks_country(sent: str, e164: str) -> None:
    assert normalise_in(sent, "49") == e164


def test_without_a_country_the_callers_number_is_kept() -> None:
    assert normalise_in("0301234567", None) == "0301234567"


def test_pai_form_with_from_domain_and_plain_e164() -> None:
    trunk = TrunkSettings(
        host="sip.provider.test", from_domain="cust.provider.test", number_format="e164_plain"
    )
    from_addr, extra = caller_id("+49301234567", trunk, "ringdesk.local")
    assert str(from_addr.uri) == "sip:49301234567@cust.provider.test"
    assert extra == [("P-Asserted-Identity", "<sip:49301234567@cust.provider.test>")]


def test_remote_party_id_form_and_none_form() -> None:
    rpid = TrunkSettings(host="sip.provider.test", identity_header="rpid")
    from_addr, extra = caller_id("+49301234567", rpid, "ringdesk.local")
    assert str(from_addr.uri) == "sip:+49301234567@sip.provider.test"
    assert extra == [
        (
            "Remote-Party-ID",
            "<sip:+49301234567@sip.provider.test>;party=calling;screen=yes;privacy=off",
        )
    ]
    _, none = caller_id("+49301234567", TrunkSettings(host="h", identity_header="none"), "d")
    assert none == []


def test_a_withheld_number_goes_anonymous_with_privacy_and_asserts_nothing() -> None:
    from_addr, extra = caller_id("", DE, "ringdesk.local")
    assert str(from_addr.uri) == "sip:anonymous@anonymous.invalid"
    assert extra == [("Privacy", "id")]
    plain, none = caller_id("anonymous", TrunkSettings(host="h", privacy_withheld=False), "d")
    assert str(plain.uri) == "sip:anonymous@h" and none == []
