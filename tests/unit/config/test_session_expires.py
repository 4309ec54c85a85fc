"""The session timer setting: default, environment, flag (0 turns it off), bad values."""

from __future__ import annotations

import argparse

import pytest

from ringdesk import config


def _load(flags: list[str], env: dict[str, str]) -> config.Settings:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, network=True)
    return config.load(parser.parse_args(flags), env)


def test_default_environment_and_flag() -> None:
    assert _load([], {}).sip_session_expires == 1800.0
    assert _load([], {"RINGDESK_SIP_SESSION_EXPIRES": "600"}).sip_session_expires == 600.0
    both = _load(["--sip-session-expires", "0"], {"RINGDESK_SIP_SESSION_EXPIRES": "600"})
    assert both.sip_session_expires == 0  # the flag wins: off


@pytest.mark.parametrize("value", ["-5", "soon"])
def test_a_bad_value_stops_the_start_with_its_name(value: str) -> None:
    with pytest.raises(SystemExit, match="RINGDESK_SIP_SESSION_EXPIRES"):
        _load([], {"RINGDESK_SIP_SESSION_EXPIRES": value})
