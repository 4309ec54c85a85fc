"""The SIP gate's settings: defaults, environment, flags, and what reaches the switch."""

from __future__ import annotations

import argparse

import pytest

from ringdesk import config
from ringdesk.runtime.runtime import gate_settings
from ringdesk.switch.gate import GateSettings


def test_defaults_are_the_gates() -> None:
    assert gate_settings(config.load(env={})) == GateSettings()


def test_environment_and_flags() -> None:
    env = {
        "RINGDESK_SIP_GATE": "off",
        "RINGDESK_SIP_RATE_REGISTER": "50",
        "RINGDESK_SIP_AUTH_FAILURES": "5",
        "RINGDESK_SIP_BAN_SECONDS": "3600",
        "RINGDESK_SIP_TRUSTED": "192.0.2.1, 192.0.2.2:5070",
    }
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, network=True)
    args = parser.parse_args(["--sip-rate-invite", "7", "--sip-gate", "on"])
    gate = gate_settings(config.load(args, env))
    assert gate.enabled is True  # the flag wins over the environment
    assert (gate.register_rate, gate.invite_rate) == (50.0, 7.0)
    assert (gate.auth_failures, gate.ban_seconds) == (5, 3600.0)
    assert gate.trusted == ("192.0.2.1", "192.0.2.2:5070")


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("RINGDESK_SIP_RATE_OPTIONS", "0"),
        ("RINGDESK_SIP_BAN_SECONDS", "x"),
        ("RINGDESK_SIP_GATE", "maybe"),
    ],
)
def test_bad_values_stop_the_start(var: str, value: str) -> None:
    with pytest.raises(SystemExit, match=var):
        config.load(env={var: value})
