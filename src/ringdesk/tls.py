"""TLS for the web server and the SIP switch: the certificate, its key and the server context.

An admin's certificate (`--tls-cert`/`--tls-key`) is used as given. Without one, a self-signed
certificate is made for the demo in `<data dir>/tls/` (EC P-256, one year, the names the
server answers to), kept across restarts while it still covers those names and has more than
30 days left, so its fingerprint stays the one the admin checked. The key file is 0600.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

GENERATED_DIR = "tls"
GENERATED_CERT = "selfsigned-cert.pem"
GENERATED_KEY = "selfsigned-key.pem"
VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)
# TLS 1.2 suites with forward secrecy and AEAD only (TLS 1.3's are always AEAD and not set here).
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class TlsError(Exception):
    """A certificate or key that cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class Certificate:
    cert: Path
    key: Path
    generated: bool  # our self-signed demo certificate, not the admin's
    fingerprint: str  # SHA-256 of the DER certificate, colon-separated hex

    def describe(self) -> str:
        kind = "self-signed (generated)" if self.generated else "configured"
        return f"{kind} certificate {self.cert}, SHA-256 fingerprint {self.fingerprint}"


def fingerprint(cert: x509.Certificate) -> str:
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _names(names: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    seen: set[str] = set()
    for raw in names:
        name = raw.strip().strip("[]")
        if not name or name in seen or name in ("0.0.0.0", "::"):
            continue  # a wildcard bind address names no host
        seen.add(name)
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name.lower()))
    return out


def _covers(cert: x509.Certificate, wanted: list[x509.GeneralName]) -> bool:
    try:
        have = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return False
    return all(name in have for name in wanted)


def generate(cert_path: Path, key_path: Path, names: Iterable[str]) -> x509.Certificate:
    """A self-signed EC P-256 certificate for `names` (host names and IP addresses), valid for
    a year; the key is written 0600 from the start (never readable by others, not even briefly)."""
    sans = _names(names)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    first = next((n.value for n in sans if isinstance(n, x509.DNSName)), "ringdesk")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, str(first)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ringdesk demo (self-signed)"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        # A CA for itself, so a browser or phone can be told to trust exactly this file.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp_key = key_path.with_suffix(".tmp")
    tmp_key.unlink(missing_ok=True)
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    os.chmod(tmp_key, 0o600)  # whatever the umask did
    tmp_cert = cert_path.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp_key, key_path)
    os.replace(tmp_cert, cert_path)
    return cert


def _read_cert(path: Path) -> x509.Certificate:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TlsError(f"cannot read the TLS certificate {path}: {exc.strerror}") from exc
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise TlsError(f"{path} is not a PEM certificate: {exc}") from exc


def certificate(
    data_dir: Path, cert: Path | None, key: Path | None, names: Iterable[str]
) -> Certificate:
    """The configured certificate, or the generated one (made or renewed when needed)."""
    if cert is not None or key is not None:
        if cert is None or key is None:
            raise TlsError("--tls-cert and --tls-key go together: give both or neither")
        loaded = _read_cert(cert)
        context(cert, key)  # fails now, with the reason, if the key does not match
        return Certificate(cert, key, False, fingerprint(loaded))
    folder = data_dir / GENERATED_DIR
    cert_path, key_path = folder / GENERATED_CERT, folder / GENERATED_KEY
    wanted = _names(names)
    current: x509.Certificate | None = None
    if cert_path.is_file() and key_path.is_file():
        try:
            current = _read_cert(cert_path)
        except TlsError as exc:
            log.warning("regenerating the self-signed certificate: %s", exc)
    now = datetime.datetime.now(datetime.UTC)
    if (
        current is None
        or current.not_valid_after_utc - now < RENEW_BEFORE
        or not _covers(current, wanted)
    ):
        current = generate(cert_path, key_path, names)
        log.info("generated a self-signed TLS certificate in %s", cert_path)
    return Certificate(cert_path, key_path, True, fingerprint(current))


def client_context(cafile: Path | None) -> ssl.SSLContext:
    """The context for TLS connections the switch opens to trunks: the system's CAs, plus the
    CAs in `cafile` (RINGDESK_TRUNK_CA_FILE) when given; the chain and the server's name are
    checked (check_hostname; the caller gives the trunk's host name), TLS 1.2 at least."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if cafile is not None:
        try:
            ctx.load_verify_locations(cafile=str(cafile))
        except FileNotFoundError as exc:
            raise TlsError(f"trunk CA file not found: {cafile}") from exc
        except (ssl.SSLError, OSError) as exc:
            raise TlsError(f"cannot use the trunk CA file {cafile}: {exc}") from exc
    return ctx


def context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side context: TLS 1.2 at least, forward-secret AEAD suites, no client cert."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    try:
        ctx.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise TlsError(f"TLS file not found: {exc.filename}") from exc
    except (ssl.SSLError, OSError) as exc:
        raise TlsError(f"cannot use the TLS certificate {cert} with the key {key}: {exc}") from exc
    return ctx
