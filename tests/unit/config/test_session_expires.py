"""The session timer and registration minimum settings: default, environment, flag, bad values."""

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


def test_the_registrars_minimum_is_a_whole_positive_number() -> None:
    assert _load([], {}).sip_min_expires == 60
    assert _load([], {"RINGDESK_SIP_MIN_EXPIRES": "30"}).sip_min_expires == 30
    assert _load(["--sip-min-expires", "10"], {}).sip_min_expires == 10
    for value in ("0", "1.5", "often"):
        with pytest.raises(SystemExit, match="RINGDESK_SIP_MIN_EXPIRES"):
            _load([], {"RINGDESK_SIP_MIN_EXPIRES": value})
