"""The TOML config file (`--config`, RINGDESK_CONFIG): flags > environment > file > defaults,
every Settings field settable by its own name, unknown keys and wrong types named with a line."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest

from ringdesk import config
from ringdesk.config import ConfigError, Settings

DEFAULTS = config.load(None, {})


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, network=True)
    return parser.parse_args(list(argv))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ringdesk.toml"
    path.write_text(text)
    return path


def test_file_sets_values_and_tables_prefix_their_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'data_dir = "/srv/ringdesk"\n[http]\nhost = "0.0.0.0"\nport = 8443\n'
        '[sip]\ntrusted = ["192.0.2.7", "192.0.2.8:5060"]\ngate = false\n',
    )
    settings = config.load(None, {"RINGDESK_CONFIG": str(path)})
    assert settings.data_dir == Path("/srv/ringdesk")
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 8443)
    assert settings.sip_trusted == ("192.0.2.7", "192.0.2.8:5060")
    assert settings.sip_gate is False
    assert settings.sip_port == DEFAULTS.sip_port  # not in the file: the default


def test_flags_beat_environment_beat_file_beat_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, "http_port = 9001\nsip_port = 5070\nmedia_timeout = 30.0\n")
    env = {"RINGDESK_SIP_PORT": "5080", "RINGDESK_HTTP_PORT": "9002"}
    # A flag equal to the default still wins over the file.
    settings = config.load(_args("--config", str(path), "--http-port", "8080"), env)
    assert settings.http_port == 8080  # flag over environment and file
    assert settings.sip_port == 5080  # environment over file
    assert settings.media_timeout == 30.0  # file over default
    assert settings.sip_rate_invite == DEFAULTS.sip_rate_invite  # default


def test_config_flag_wins_over_config_environment(tmp_path: Path) -> None:
    one = tmp_path / "one.toml"
    one.write_text("http_port = 9001\n")
    two = tmp_path / "two.toml"
    two.write_text("http_port = 9002\n")
    settings = config.load(_args("--config", str(two)), {"RINGDESK_CONFIG": str(one)})
    assert settings.http_port == 9002


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '# comment\nhttp_port = 9001\n[sip]\nhots = "0.0.0.0"\n')
    with pytest.raises(ConfigError) as caught:
        config.load(None, {"RINGDESK_CONFIG": str(path)})
    message = str(caught.value)
    assert str(path) in message
    assert "sip_hots (line 4): not a setting" in message


def test_wrong_type_is_named_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[http]\nport = "eighty"\n\nsip_gate = "maybe"\n')
    with pytest.raises(ConfigError) as caught:
        config.load(None, {"RINGDESK_CONFIG": str(path)})
    message = str(caught.value)
    assert "http_port (line 2): input should be a valid integer, got 'eighty'" in message
    # a key after a table header belongs to that table: [http] sip_gate is http_sip_gate
    assert "http_sip_gate (line 4): not a setting" in message


def test_value_out_of_range_is_refused_like_the_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, "http_port = 70000\n")
    with pytest.raises(SystemExit, match="between 0 and 65535"):
        config.load(None, {"RINGDESK_CONFIG": str(path)})


def test_invalid_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    path = _write(tmp_path, "http_port = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(None, {"RINGDESK_CONFIG": str(path)})
    with pytest.raises(ConfigError, match="cannot read the config file"):
        config.load(None, {"RINGDESK_CONFIG": str(tmp_path / "absent.toml")})


def _candidates(hint: Any, default: Any) -> list[Any]:
    """TOML values of a field's type that differ from its default, most plausible first."""
    if hint is bool:
        return [not default]
    if hint is int:
        return [7, (default or 0) + 1, 0]
    if hint is float:
        return [7.5, (default or 0) + 1.0, 0.0]
    if hint is Path:
        return ["/srv/ringdesk/somewhere"]
    words = ["always", "on", "off", "required", "192.0.2.10", "192.0.2.0/24", "10000-20000"]
    words += ["192.0.2.53:53", "sip.example.org", "postgresql+psycopg://u@db/ringdesk", "udp"]
    origin = typing.get_origin(hint)
    if origin is tuple:
        items = typing.get_args(hint)
        if len(items) == 2 and items[1] is Ellipsis:
            return [[w] for w in words]
        return words  # a fixed group: the environment's text ("10000-20000")
    args = typing.get_args(hint)
    if args:  # X | None
        return [c for a in args if a is not type(None) for c in _candidates(a, default)]
    return words


def _python(field: str, hint: Any, value: Any) -> Any:
    """What `field = value` in the file must load as: the Python value for plain types, and
    for a value in the environment's syntax what that environment variable loads as."""
    if isinstance(value, list | str) and hint is not Path and Path not in typing.get_args(hint):
        # checked and normalised like the environment's text (or the flag's) would be
        text = ",".join(value) if isinstance(value, list) else value
        by_env = getattr(config.load(None, {config.env_name(field): text}), field)
        if by_env != getattr(DEFAULTS, field):
            return by_env
        return getattr(config.load(argparse.Namespace(**{field: text}), {}), field)
    if isinstance(value, str) and (hint is Path or Path in typing.get_args(hint)):
        return Path(value)
    return value


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Settings)])
def test_every_settings_field_is_settable_in_the_file(tmp_path: Path, field: str) -> None:
    hint = typing.get_type_hints(Settings)[field]
    default = getattr(DEFAULTS, field)
    tried = []
    for value in _candidates(hint, default):
        path = _write(tmp_path, f"{field} = {_toml(value)}\n")
        try:
            settings = config.load(None, {"RINGDESK_CONFIG": str(path)})
        except SystemExit as exc:
            tried.append(f"{value!r}: {exc}")
            continue
        got = getattr(settings, field)
        if got != default:
            assert got == _python(field, hint, value), f"{field} = {value!r} loaded as {got!r}"
            return
        tried.append(f"{value!r}: loaded as the default")
    pytest.fail(f"no value of {field} in the file changed it: {tried}")
