"""ringdesk/tls.py (the certificate and the server context) and the TLS settings of config.py."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from ringdesk import config, tls

NAMES = ["ringdesk.local", "localhost", "127.0.0.1", "::1", "0.0.0.0", "127.0.0.1"]


def _sans(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in ext}


def test_the_self_signed_certificate_is_made_with_the_names_and_a_private_key(
    tmp_path: Path,
) -> None:
    made = tls.certificate(tmp_path, None, None, NAMES)
    assert made.generated
    assert made.cert == tmp_path / "tls" / "selfsigned-cert.pem"
    assert stat.S_IMODE(made.key.stat().st_mode) == 0o600
    # The wildcard bind address names no host; the duplicate is listed once.
    assert _sans(made.cert) == {"ringdesk.local", "localhost", "127.0.0.1", "::1"}
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=364) < lifetime < datetime.timedelta(days=366)
    assert len(made.fingerprint) == 95 and made.fingerprint == tls.fingerprint(cert)
    assert not list((tmp_path / "tls").glob("*.tmp"))


def test_the_certificate_is_kept_across_restarts_and_renewed_when_names_or_time_run_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tls.certificate(tmp_path, None, None, NAMES)
    again = tls.certificate(tmp_path, None, None, ["localhost", "127.0.0.1"])  # a subset
    assert again.fingerprint == first.fingerprint
    renamed = tls.certificate(tmp_path, None, None, [*NAMES, "pbx.example.org"])
    assert renamed.fingerprint != first.fingerprint
    assert "pbx.example.org" in _sans(renamed.cert)
    monkeypatch.setattr(tls, "RENEW_BEFORE", datetime.timedelta(days=400))  # "expires soon"
    renewed = tls.certificate(tmp_path, None, None, NAMES)
    assert renewed.fingerprint != renamed.fingerprint
    assert stat.S_IMODE(renewed.key.stat().st_mode) == 0o600


def test_an_unreadable_generated_certificate_is_made_again(tmp_path: Path) -> None:
    first = tls.certificate(tmp_path, None, None, NAMES)
    first.cert.write_text("not a certificate")
    assert tls.certificate(tmp_path, None, None, NAMES).fingerprint != first.fingerprint


def test_a_configured_certificate_is_used_as_given_and_checked_against_its_key(
    tmp_path: Path,
) -> None:
    own = tmp_path / "own"
    tls.generate(own / "cert.pem", own / "key.pem", ["pbx.example.org"])
    used = tls.certificate(tmp_path, own / "cert.pem", own / "key.pem", NAMES)
    assert not used.generated and used.cert == own / "cert.pem"
    assert not (tmp_path / "tls").exists()  # nothing generated beside it
    other = tmp_path / "other"
    tls.generate(other / "cert.pem", other / "key.pem", ["x.example.org"])
    with pytest.raises(tls.TlsError, match="cannot use the TLS certificate"):
        tls.certificate(tmp_path, own / "cert.pem", other / "key.pem", NAMES)
    with pytest.raises(tls.TlsError, match="go together"):
        tls.certificate(tmp_path, own / "cert.pem", None, NAMES)
    with pytest.raises(tls.TlsError, match="cannot read the TLS certificate"):
        tls.certificate(tmp_path, own / "missing.pem", own / "key.pem", NAMES)
    (own / "junk.pem").write_text("junk")
    with pytest.raises(tls.TlsError, match="not a PEM certificate"):
        tls.certificate(tmp_path, own / "junk.pem", own / "key.pem", NAMES)


async def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[str, str]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(10))
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server)
    port = listener.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client, server_hostname="127.0.0.1"
        )
        writer.write(b"ping")
        assert await reader.read(10) == b"ping"
        version, cipher = (
            writer.get_extra_info("ssl_object").version(),
            writer.get_extra_info("cipher")[0],
        )
        writer.close()
        return str(version), str(cipher)
    finally:
        listener.close()


async def test_the_server_context_speaks_tls_1_2_or_later_with_forward_secret_aead(
    tmp_path: Path,
) -> None:
    made = tls.certificate(tmp_path, None, None, NAMES)
    server = tls.context(made.cert, made.key)
    assert server.minimum_version is ssl.TLSVersion.TLSv1_2
    client = ssl.create_default_context(cafile=str(made.cert))  # checks the name too
    assert (await _handshake(server, client))[0] == "TLSv1.3"
    tls12 = ssl.create_default_context(cafile=str(made.cert))
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    version, cipher = await _handshake(server, tls12)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    weak = ssl.create_default_context(cafile=str(made.cert))
    weak.maximum_version = ssl.TLSVersion.TLSv1_2
    weak.set_ciphers("AES128-SHA:AES256-SHA")  # no forward secrecy, no AEAD
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await _handshake(server, weak)


# ---- settings ---------------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, network=True)
    return parser.parse_args(list(argv))


def test_tls_defaults_https_only_off_loopback_and_sip_tls_on_the_next_port() -> None:
    settings = config.load(None, {})
    assert settings.sip_tls_port == 5061
    assert settings.https == "auto" and not settings.serves_https  # 127.0.0.1
    assert settings.tls_cert is None and settings.tls_key is None
    public = config.load(None, {"RINGDESK_HTTP_HOST": "0.0.0.0"})
    assert public.serves_https
    assert config.load(None, {"RINGDESK_HTTP_HOST": "::1"}).serves_https is False
    assert config.load(None, {"RINGDESK_HTTP_HOST": "localhost"}).serves_https is False
    assert config.load(None, {"RINGDESK_HTTP_HOST": "pbx.example.org"}).serves_https
    assert config.load(None, {"RINGDESK_SIP_PORT": "5080"}).sip_tls_port == 5081
    assert config.load(None, {"RINGDESK_SIP_PORT": "0"}).sip_tls_port == 0  # any free port


def test_tls_settings_from_the_environment_and_flags() -> None:
    env = {
        "RINGDESK_TLS_CERT": "/etc/ringdesk/cert.pem",
        "RINGDESK_TLS_KEY": "/etc/ringdesk/key.pem",
        "RINGDESK_SIP_TLS_PORT": "5071",
        "RINGDESK_HTTPS": "on",
    }
    settings = config.load(None, env)
    assert settings.tls_cert == Path("/etc/ringdesk/cert.pem")
    assert settings.tls_key == Path("/etc/ringdesk/key.pem")
    assert settings.sip_tls_port == 5071 and settings.serves_https
    assert config.load(None, {"RINGDESK_SIP_TLS_PORT": "off"}).sip_tls_port is None
    assert config.load(None, {"RINGDESK_SIP_TLS_PORT": "0"}).sip_tls_port is None
    insecure = config.load(_parse("--insecure-http", "--http-host", "0.0.0.0"), {})
    assert insecure.https == "off" and not insecure.serves_https
    assert config.load(_parse("--https"), {}).serves_https  # on loopback too
    flags = config.load(_parse("--sip-tls-port", "6061", "--tls-cert", "c", "--tls-key", "k"), env)
    assert flags.sip_tls_port == 6061 and flags.tls_cert == Path("c")
    with pytest.raises(SystemExit):
        _parse("--https", "--insecure-http")
    with pytest.raises(SystemExit, match="RINGDESK_HTTPS"):
        config.load(None, {"RINGDESK_HTTPS": "maybe"})
    with pytest.raises(SystemExit, match="RINGDESK_SIP_TLS_PORT"):
        config.load(None, {"RINGDESK_SIP_TLS_PORT": "70000"})


def test_loopback_names() -> None:
    assert config.is_loopback("127.0.0.2") and config.is_loopback("[::1]")
    assert not config.is_loopback("10.0.0.1") and not config.is_loopback("::")
