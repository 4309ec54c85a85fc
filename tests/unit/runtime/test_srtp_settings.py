"""The SRTP offer policy: flags and environment, and which legs it makes us offer SRTP on."""

from __future__ import annotations

import argparse

import pytest

from ringdesk import config
from ringdesk.sip.message import Headers, Request
from ringdesk.switch.legs import IncomingLeg, LegState, OutgoingLeg
from ringdesk.switch.srtp import SrtpOffer


def test_defaults_flags_and_environment() -> None:
    settings = config.load(env={})
    assert (settings.srtp_phones, settings.srtp_trunk) == ("tls", "tls")
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, network=True)
    args = parser.parse_args(["--srtp-phones", "always"])
    env = {"RINGDESK_SRTP_PHONES": "off", "RINGDESK_SRTP_TRUNK": " Always "}
    settings = config.load(args, env)
    assert (settings.srtp_phones, settings.srtp_trunk) == ("always", "always")  # flag wins
    with pytest.raises(SystemExit, match="RINGDESK_SRTP_TRUNK must be off, tls or always"):
        config.load(env={"RINGDESK_SRTP_TRUNK": "yes"})
    with pytest.raises(SystemExit):
        parser.parse_args(["--srtp-phones", "sometimes"])
    with pytest.raises(ValueError, match="SRTP offer mode"):
        SrtpOffer(phones="sometimes")


INVITE = Request(headers=Headers(), body=b"", method="INVITE")


def _phone(tp: str) -> OutgoingLeg:
    return OutgoingLeg(
        leg_id="l",
        call_id="c",
        peer=("127.0.0.1", 5062),
        tp=tp,
        sip_call_id="x",
        local_tag="t",
        invite=INVITE,
        state=LegState.CALLING,
        cti_id="1001",
    )


def _trunk(tp: str) -> OutgoingLeg:
    leg = _phone(tp)
    leg.cti_id = None
    return leg


@pytest.mark.parametrize(
    ("policy", "udp_phone", "tls_phone", "udp_trunk", "tls_trunk"),
    [
        (SrtpOffer(), False, True, False, True),
        (SrtpOffer(phones="always", trunk="off"), True, True, False, False),
        (SrtpOffer(phones="off", trunk="always"), False, False, True, True),
    ],
)
def test_which_legs_get_an_srtp_offer(
    policy: SrtpOffer, udp_phone: bool, tls_phone: bool, udp_trunk: bool, tls_trunk: bool
) -> None:
    assert policy.wants(_phone("udp")) is udp_phone
    assert policy.wants(_phone("tcp")) is udp_phone
    assert policy.wants(_phone("tls")) is tls_phone
    assert policy.wants(_trunk("udp")) is udp_trunk
    assert policy.wants(_trunk("tls")) is tls_trunk


def test_a_customer_leg_follows_the_trunk_setting() -> None:
    customer = IncomingLeg(
        leg_id="l",
        call_id="c",
        peer=("127.0.0.1", 5080),
        tp="udp",
        sip_call_id="x",
        local_tag="t",
        invite=INVITE,
        state=LegState.INCOMING,
        server_txn=None,  # type: ignore[arg-type]
    )
    assert SrtpOffer(phones="always", trunk="off").wants(customer) is False
    assert SrtpOffer(phones="off", trunk="always").wants(customer) is True
