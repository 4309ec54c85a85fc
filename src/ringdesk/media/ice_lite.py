"""ICE-lite (RFC 8445 section 2.5) on a WebRTC leg's socket, and the first-byte demultiplexing
of that socket (RFC 7983).

A lite agent gathers only host candidates (our RTP address), sends no connectivity checks and
is always the controlled side: it answers the browser's STUN Binding requests (RFC 5389) that
carry our short-term credentials: USERNAME "<our ufrag>:<its ufrag>", MESSAGE-INTEGRITY keyed by
our a=ice-pwd, FINGERPRINT, with a success response carrying XOR-MAPPED-ADDRESS, integrity and
fingerprint. Each such check proves the source address is the browser (it knows our password
from the SDP): only such addresses may then carry DTLS and SRTP; the one a check nominated
(USE-CANDIDATE) is where our media goes.

The STUN codec is aioice's (aioice.stun); its ICE agent is not used, see docs/decisions.md.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from aioice import stun

STUN, DTLS, RTP, OTHER = "stun", "dtls", "rtp", "other"


def classify(datagram: bytes) -> str:
    """What a datagram on the shared port is, by its first byte (RFC 7983 section 7): 0-3
    STUN, 20-63 DTLS, 128-191 RTP or RTCP; anything else (TURN channels, ZRTP, junk) is OTHER."""
    if not datagram:
        return OTHER
    first = datagram[0]
    if first <= 3:
        return STUN
    if 20 <= first <= 63:
        return DTLS
    if 128 <= first <= 191:
        return RTP
    return OTHER


def is_rtcp(datagram: bytes) -> bool:
    """RTCP multiplexed with RTP (RFC 5761 section 4): its packet type byte is 192-223."""
    return len(datagram) >= 8 and 192 <= datagram[1] <= 223


def new_credentials() -> tuple[str, str]:
    """A fresh a=ice-ufrag (8 ice-chars, RFC 8839 needs at least 4) and a=ice-pwd (32, needs at
    least 22), random enough (64 and 160 bits) that no one guesses them."""
    return secrets.token_hex(4), secrets.token_urlsafe(24)[:32].replace("-", "+").replace("_", "/")


@dataclass(frozen=True, slots=True)
class Check:
    """What a datagram that was a STUN message meant: `response` to send back (None: drop), and
    whether it was a valid check (`valid`) that nominated its source (`nominated`). `problem`
    says why an invalid one was dropped."""

    response: bytes | None
    valid: bool = False
    nominated: bool = False
    problem: str | None = None


class IceLite:
    """The STUN side of one leg: our credentials and the peer's ufrag (once its SDP is known)."""

    def __init__(self, ufrag: str | None = None, pwd: str | None = None) -> None:
        fresh = new_credentials()
        self.ufrag = ufrag or fresh[0]
        self.pwd = pwd or fresh[1]
        self.remote_ufrag: str | None = None

    def handle(self, datagram: bytes, addr: tuple[str, int]) -> Check:
        try:
            message = stun.parse_message(datagram)
        except ValueError as exc:  # bad length, bad FINGERPRINT, unknown method
            return Check(None, problem=f"malformed STUN: {exc}")
        if message.message_method != stun.Method.BINDING:
            return Check(None, problem="not a Binding")
        if message.message_class != stun.Class.REQUEST:
            return Check(None)  # a response or indication (keepalive): nothing to answer
        username = message.attributes.get("USERNAME")
        if not isinstance(username, str) or ":" not in username:
            return Check(None, problem="Binding request without a USERNAME")
        ours, _, theirs = username.partition(":")
        if ours != self.ufrag or (self.remote_ufrag is not None and theirs != self.remote_ufrag):
            return Check(None, problem="Binding request for other credentials")
        if "FINGERPRINT" not in message.attributes:
            return Check(None, problem="Binding request without FINGERPRINT")
        if not message.check_message_integrity(self.pwd.encode()):
            return Check(None, problem="Binding request with a wrong MESSAGE-INTEGRITY")
        response = stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.RESPONSE,
            transaction_id=message.transaction_id,
        )
        response.attributes["XOR-MAPPED-ADDRESS"] = (_plain_host(addr[0]), addr[1])
        response.add_message_integrity(self.pwd.encode())  # adds FINGERPRINT after it
        return Check(bytes(response), valid=True, nominated="USE-CANDIDATE" in message.attributes)


def _plain_host(host: str) -> str:
    """An IPv4 source on a dual-stack socket is ::ffff:a.b.c.d; STUN reports the IPv4 one."""
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
