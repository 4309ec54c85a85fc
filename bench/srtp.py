"""What SRTP costs the relay per packet: one bridged pair of media endpoints, in process.

Feeds prepared 20 ms G.711 packets straight into one endpoint's datagram handler (the relay's
hot path: check, unprotect when the leg is SRTP, rewrite, protect when the partner is SRTP,
send) with a transport whose sendto does nothing, so the figure is our per-packet work without
the kernel's UDP cost (bench/media.py measures that whole path: about 11 us per frame). Cases:
plain to plain, SRTP to plain, plain to SRTP, SRTP to SRTP (AES_CM_128_HMAC_SHA1_80, and
AEAD_AES_128_GCM for the last); the SRTP packets are protected ahead of the timing by a
libsrtp session like the phone's. Prints packets/s and us per packet, each case's best round.

    python bench/srtp.py [--packets 5000] [--rounds 25]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import struct
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import pylibsrtp

from ringdesk.media.api import RemoteMedia, SrtpKeys
from ringdesk.media.endpoint import Endpoint
from ringdesk.media.srtp import PROFILES

SIZES = {"AES_CM_128_HMAC_SHA1_80": 30, "AEAD_AES_128_GCM": 28}
PHONE = ("127.0.0.1", 40000)


class NullTransport(asyncio.DatagramTransport):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.count += 1


def leg(name: str, suite: str | None) -> tuple[Endpoint, bytes | None]:
    """An endpoint with its transport; for SRTP, the key the phone sends with."""
    endpoint = Endpoint(name, 30000)
    endpoint.transport = NullTransport()
    phone_key = None
    keys = None
    if suite is not None:
        phone_key = secrets.token_bytes(SIZES[suite])
        keys = SrtpKeys(suite, secrets.token_bytes(SIZES[suite]), phone_key)
    endpoint.set_remote(RemoteMedia(*PHONE, 0, None, srtp=keys))
    return endpoint, phone_key


def packets(count: int, suite: str | None, key: bytes | None) -> list[bytes]:
    payload = bytes(range(160))
    plain = [
        struct.pack("!BBHII", 0x80, 0, i & 0xFFFF, 160 * i, 0x1234) + payload for i in range(count)
    ]
    if suite is None or key is None:
        return plain
    policy = pylibsrtp.Policy(
        key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=PROFILES[suite]
    )
    session = pylibsrtp.Session(policy)
    return [session.protect(p) for p in plain]


def run_once(count: int, source: str | None, target: str | None) -> float:
    """Seconds per packet for one batch through a fresh pair (fresh replay windows)."""
    a, phone_key = leg("a", source)
    b, _ = leg("b", target)
    a.partner, b.partner = b, a
    a.refresh_maps()
    batch = packets(count, source, phone_key)
    receive = a.datagram_received
    started = time.perf_counter()
    for data in batch:
        receive(data, PHONE)
    elapsed = time.perf_counter() - started
    transport = b.transport
    assert isinstance(transport, NullTransport)
    if transport.count != count:
        raise SystemExit(f"only {transport.count} of {count} packets relayed")
    return elapsed / count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args(argv)
    cases = [
        ("plain -> plain", None, None),
        ("SRTP -> plain", "AES_CM_128_HMAC_SHA1_80", None),
        ("plain -> SRTP", None, "AES_CM_128_HMAC_SHA1_80"),
        ("SRTP -> SRTP", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80"),
        ("SRTP -> SRTP (GCM)", "AEAD_AES_128_GCM", "AEAD_AES_128_GCM"),
    ]
    print(f"relay hot path, {args.packets} packets x {args.rounds} rounds, best round")
    print(f"{'case':<20} {'packets/s':>11} {'us/packet':>10} {'vs plain':>9}")
    # Rounds interleave the cases, and each case keeps its best round: on a shared machine a
    # neighbour's burst then spoils one round of one case, not a whole case.
    best = [float("inf")] * len(cases)
    for _ in range(args.rounds):
        for i, (_name, source, target) in enumerate(cases):
            best[i] = min(best[i], run_once(args.packets, source, target))
    base = best[0]
    for (name, _source, _target), per_packet in zip(cases, best, strict=True):
        rate, micros, ratio = 1 / per_packet, per_packet * 1e6, per_packet / base
        print(f"{name:<20} {rate:>11,.0f} {micros:>10.2f} {ratio:>8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
