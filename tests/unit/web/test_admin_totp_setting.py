"""The --admin-totp flag and RINGDESK_ADMIN_TOTP: optional by default, required when asked."""

from __future__ import annotations

import argparse

import pytest

from ringdesk import config


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, network=True)
    return parser.parse_args(list(argv))


def test_optional_by_default_and_required_by_flag_or_environment() -> None:
    assert config.load(_args(), env={}).admin_totp_required is False
    assert config.load(_args("--admin-totp", "required"), env={}).admin_totp_required is True
    assert config.load(_args(), env={"RINGDESK_ADMIN_TOTP": "Required"}).admin_totp_required
    # The flag wins over the environment.
    flagged = config.load(
        _args("--admin-totp", "optional"), env={"RINGDESK_ADMIN_TOTP": "required"}
    )
    assert flagged.admin_totp_required is False


def test_a_wrong_value_stops_the_start() -> None:
    with pytest.raises(SystemExit, match="RINGDESK_ADMIN_TOTP must be optional or required"):
        config.load(_args(), env={"RINGDESK_ADMIN_TOTP": "always"})
    with pytest.raises(SystemExit):
        _args("--admin-totp", "always")
