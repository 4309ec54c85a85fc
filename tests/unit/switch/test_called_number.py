"""The number a call is for. A provider we registered to sends its customers' calls to the
Contact we registered, with the number called in To (tests/e2e/test_provider_network.py does it
with a SIPp provider on its own network); everyone else names the number in the Request-URI."""

from __future__ import annotations

import pytest

from ringdesk.core.telephony import CallArrived
from ringdesk.sip.message import Request, Response, parse_message
from ringdesk.switch import Switch
from ringdesk.switch.inbound import called_number
from ringdesk.switch.lookup import TrunkSettings
from ringdesk.switch.trunk_identity import called_forms

from .harness import Events, FakeDirectory, Peer, sdp

Rig = tuple[Switch, FakeDirectory, Events]


def _invite(ruri: str, to: str) -> Request:
    text = (
        f"INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKx\r\n"
        f"From: <sip:+49301234567@provider.test>;tag=a\r\nTo: {to}\r\nCall-ID: c\r\n"
        "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    msg = parse_message(text.encode())
    assert isinstance(msg, Request)
    return msg


@pytest.mark.parametrize(
    ("ruri", "to", "from_trunk", "called"),
    [
        # To our registered Contact (user "ringdesk", or none): the number is in To.
        ("sip:ringdesk@203.0.113.5:5060", "<sip:5550100@provider.test>", True, "5550100"),
        ("sip:203.0.113.5:5060", "<sip:+49305550100@provider.test>", True, "+49305550100"),
        # The number in the Request-URI wins over whatever To says.
        ("sip:5550100@203.0.113.5", "<sip:ringdesk@203.0.113.5>", True, "5550100"),
        ("sip:5550100@203.0.113.5", "<sip:5559999@provider.test>", True, "5550100"),
        # Not from a trunk: only the Request-URI counts.
        ("sip:ringdesk@203.0.113.5:5060", "<sip:5550100@provider.test>", False, "ringdesk"),
    ],
)
def test_the_called_number(ruri: str, to: str, from_trunk: bool, called: str) -> None:
    assert called_number(_invite(ruri, to), from_trunk) == called


def test_a_provider_that_names_the_account_in_the_request_uri() -> None:
    trunk = TrunkSettings(host="203.0.113.9", username="acct-7")
    invite = _invite("sip:acct-7@203.0.113.5:5060", "<sip:+49305550100@provider.test>")
    assert called_number(invite, True, trunk) == "+49305550100"
    assert called_number(invite, True) == "acct-7"  # without that trunk: the user as sent
    assert called_number(invite, False, trunk) == "acct-7"  # never for a stranger


@pytest.mark.parametrize(
    ("called", "country", "forms"),
    [
        ("+49305550100", "49", ("+49305550100", "49305550100", "0305550100")),
        ("0305550100", "49", ("0305550100", "+49305550100", "49305550100")),
        ("0049305550100", "49", ("0049305550100", "+49305550100", "49305550100", "0305550100")),
        ("+14155550100", "49", ("+14155550100", "14155550100")),  # abroad: no national form
        ("+49305550100", None, ("+49305550100",)),  # no country on the trunk: as sent only
        ("ringdesk", "49", ("ringdesk",)),
    ],
)
def test_the_spellings_of_a_called_number(
    called: str, country: str | None, forms: tuple[str, ...]
) -> None:
    assert called_forms(called, country) == forms


async def test_a_call_to_the_e164_form_of_a_national_inbound_number(switch_rig: Rig) -> None:
    switch, directory, events = switch_rig
    provider = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(
        host="127.0.0.1", port=provider.port, country_code="49"
    )
    directory.routes["0305550100"] = directory.routes["5550100"]  # as the admin typed it
    contact = f"sip:ringdesk@127.0.0.1:{switch.local_port}"
    provider.request(
        "INVITE", contact, call_id="e164", to="<sip:+49305550100@provider.test>", body=sdp(30000)
    )
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived) and arrived.called == "0305550100"
    provider.close()


async def test_a_trunk_call_to_our_contact_is_routed_by_its_to(switch_rig: Rig) -> None:
    switch, directory, events = switch_rig
    provider = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(host="127.0.0.1", port=provider.port)
    contact = f"sip:ringdesk@127.0.0.1:{switch.local_port}"
    provider.request(
        "INVITE", contact, call_id="to-contact", to="<sip:5550100@provider.test>", body=sdp(30000)
    )
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived) and arrived.called == "5550100"
    # A stranger (any source allowed) addressing our Contact is not routed by To.
    stranger = await Peer().open(("127.0.0.1", switch.local_port))
    directory.trunk_settings = TrunkSettings(
        host="127.0.0.1", port=provider.port, allow_any_source=True
    )
    stranger.request(
        "INVITE", contact, call_id="stranger", to="<sip:5550100@provider.test>", body=sdp(30002)
    )
    answer = await stranger.expect_response(404)
    assert isinstance(answer, Response) and answer.reason == "No such number"
    provider.close()
    stranger.close()
