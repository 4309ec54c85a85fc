"""DTLS-SRTP (RFC 5763, RFC 5764) for a WebRTC leg: our certificate, the fingerprint check and
one handshake over memory BIOs, whose keys go to libsrtp.

Python's ssl module has no DTLS, so the handshake is pyOpenSSL's (DTLS_METHOD, memory BIOs, so
the datagrams travel on the leg's own RTP socket, see media/webrtc.py). The certificate is
self-signed (ECDSA P-256, made with cryptography); what authenticates each side is not a CA but
the certificate's fingerprint, which the other side got in SDP over the (TLS) signalling: the
peer's certificate is checked against its a=fingerprint inside the handshake (a mismatch aborts
it with an alert, so no key is ever derived from an unauthenticated peer).

When the handshake is done, the SRTP master keys and salts are exported with the label
EXTRACTOR-dtls_srtp (RFC 5764 section 4.2): client key, server key, client salt, server salt.
Retransmission of lost handshake flights is OpenSSL's timer (DTLSv1_get_timeout /
DTLSv1_handle_timeout), which the owner of the session drives with its event loop.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

from ringdesk.media.api import SrtpKeys

log = logging.getLogger(__name__)

# DTLS-SRTP protection profile (RFC 5764 4.1.2, RFC 7714 14.2) -> (RFC 4568 suite name for
# media/srtp.py, master key bytes, master salt bytes). In our order of preference.
SRTP_PROFILES: dict[str, tuple[str, int, int]] = {
    "SRTP_AEAD_AES_128_GCM": ("AEAD_AES_128_GCM", 16, 12),
    "SRTP_AES128_CM_SHA1_80": ("AES_CM_128_HMAC_SHA1_80", 16, 14),
}
EXPORTER_LABEL = b"EXTRACTOR-dtls_srtp"
# Hash functions an a=fingerprint may name (RFC 8122 section 5) -> hashlib names.
FINGERPRINT_HASHES = {
    "sha-1": "sha1",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
}
MAX_DATAGRAM = 1500  # we read the memory BIO in pieces no larger than one UDP datagram


class DtlsError(Exception):
    """The handshake failed (a fingerprint mismatch, a protocol error, an alert)."""


def fingerprint(der: bytes, algorithm: str = "sha-256") -> str:
    """An a=fingerprint value for a DER certificate: upper-case hex pairs joined by colons."""
    digest = hashlib.new(FINGERPRINT_HASHES[algorithm.lower()], der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def fingerprint_matches(der: bytes, fingerprints: Sequence[tuple[str, str]]) -> bool:
    """Whether the certificate matches one of the SDP's fingerprints (algorithm, value) whose
    hash we know; hex is compared case-insensitively and in constant time."""
    for algorithm, value in fingerprints:
        if algorithm.lower() not in FINGERPRINT_HASHES:
            continue
        ours = fingerprint(der, algorithm)
        if hmac.compare_digest(ours.encode(), value.strip().upper().encode()):
            return True
    return False


@dataclass(frozen=True)
class Certificate:
    """Our DTLS identity: a self-signed ECDSA P-256 certificate (a random subject, valid from a
    day ago for 30 days; the media server makes a new one a day before that ends) and its
    SHA-256 fingerprint for our SDP."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    cert: x509.Certificate = field(repr=False)
    fingerprint: str

    @classmethod
    def generate(cls) -> Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, secrets.token_hex(8))])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert, fingerprint(cert.public_bytes(Encoding.DER)))

    def expiring(self, margin: datetime.timedelta = datetime.timedelta(days=1)) -> bool:
        """Less than `margin` of validity left: time for a new one (browsers may check)."""
        left = self.cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        return left < margin

    @property
    def algorithm(self) -> str:
        return "sha-256"


class DtlsSession:
    """One DTLS handshake (client or server) on memory BIOs.

    `feed` takes a datagram from the peer, `send` (given) gets each datagram to send, `timeout`
    says when `handle_timeout` is due (a retransmission), `keys` is set once the handshake is
    done. A failure raises DtlsError from `start`, `feed` or `handle_timeout`.
    """

    def __init__(
        self,
        certificate: Certificate,
        *,
        client: bool,
        fingerprints: Sequence[tuple[str, str]],
        send: Callable[[bytes], None],
    ) -> None:
        self.client = client
        self._fingerprints = tuple(fingerprints)
        self._send = send
        self.peer_mismatch = False  # the peer's certificate did not match its a=fingerprint
        self.keys: SrtpKeys | None = None
        self.profile: str | None = None
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.use_certificate(certificate.cert)
        ctx.use_privatekey(certificate.key)
        ctx.set_cipher_list(b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384")
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, self._verify)
        ctx.set_tlsext_use_srtp(":".join(SRTP_PROFILES).encode())
        self._conn = SSL.Connection(ctx, None)
        if client:
            self._conn.set_connect_state()
        else:
            self._conn.set_accept_state()

    @property
    def done(self) -> bool:
        return self.keys is not None

    def _verify(self, conn: SSL.Connection, cert: object, errno: int, depth: int, ok: int) -> bool:
        # A self-signed certificate is expected (errno 18): the fingerprint is the trust anchor.
        if depth != 0:
            return True
        der = cert.to_cryptography().public_bytes(Encoding.DER)  # type: ignore[attr-defined]
        if fingerprint_matches(der, self._fingerprints):
            return True
        self.peer_mismatch = True
        return False

    def start(self) -> None:
        """Run the handshake as far as it goes without the peer (a client's ClientHello)."""
        self._step()

    def feed(self, datagram: bytes) -> None:
        self._conn.bio_write(datagram)
        if self.done:
            # After the handshake only alerts (close_notify) or a retransmitted final flight come
            # on this path; reading lets OpenSSL answer them.
            try:
                self._conn.recv(MAX_DATAGRAM)
            except SSL.WantReadError:
                pass
            except SSL.ZeroReturnError:
                pass
            except SSL.Error as exc:
                log.debug("DTLS after the handshake: %s", exc)
            self._flush()
            return
        self._step()

    def timeout(self) -> float | None:
        """Seconds until `handle_timeout` is due; None when no retransmission is pending."""
        if self.done:
            return None
        return self._conn.DTLSv1_get_timeout()

    def handle_timeout(self) -> None:
        """Retransmit the last flight if the peer has not answered it."""
        if self.done:
            return
        try:
            self._conn.DTLSv1_handle_timeout()
        except SSL.Error as exc:
            raise DtlsError(_describe(exc)) from None
        self._flush()

    def _step(self) -> None:
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            self._flush()
            return
        except SSL.Error as exc:
            self._flush()  # our alert to the peer
            if self.peer_mismatch:
                raise DtlsError("the peer's certificate does not match its a=fingerprint") from None
            raise DtlsError(_describe(exc)) from None
        self._flush()
        self._export()

    def _export(self) -> None:
        selected = self._conn.get_selected_srtp_profile()
        name = selected.decode() if selected else ""
        if name not in SRTP_PROFILES:
            raise DtlsError(f"no DTLS-SRTP protection profile agreed ({name or 'none'})")
        suite, key_size, salt_size = SRTP_PROFILES[name]
        material = self._conn.export_keying_material(EXPORTER_LABEL, 2 * (key_size + salt_size))
        client_key = material[:key_size]
        server_key = material[key_size : 2 * key_size]
        client_salt = material[2 * key_size : 2 * key_size + salt_size]
        server_salt = material[2 * key_size + salt_size :]
        client, server = client_key + client_salt, server_key + server_salt
        self.profile = name
        self.keys = (
            SrtpKeys(suite, send_key=client, receive_key=server)
            if self.client
            else SrtpKeys(suite, send_key=server, receive_key=client)
        )

    def _flush(self) -> None:
        while True:
            try:
                data = self._conn.bio_read(MAX_DATAGRAM)
            except SSL.WantReadError:
                return
            if not data:
                return
            self._send(data)


def _describe(exc: SSL.Error) -> str:
    parts = []
    for item in exc.args[0] if exc.args and isinstance(exc.args[0], list) else []:
        parts.append(item[-1] if isinstance(item, tuple) else str(item))
    return "DTLS handshake failed: " + (", ".join(parts) or str(exc) or type(exc).__name__)
