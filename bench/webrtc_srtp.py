"""What a browser leg costs the relay per frame: SRTP keyed by a real DTLS handshake, vs plain RTP.

In process, like bench/srtp.py: a WebRtcEndpoint (media/webrtc.py) is brought up by the real
thing, a STUN check with its credentials and a DTLS-SRTP handshake against a second DTLS session
playing the browser (same pyOpenSSL code, in memory), then bridged to a plain Endpoint; prepared
20 ms G.711 packets go into one endpoint's datagram handler and leave through a transport whose
sendto does nothing, so the figure is our per-packet work (demultiplexing, the address check,
unprotect or protect, the relay's rewrite) without the kernel's UDP cost. Cases, in the same
run: plain -> plain, browser -> plain (unprotect), plain -> browser (protect), and for
comparison SDES -> plain (the same SRTP on a phone's endpoint, bench/srtp.py's case). The profile is
what the handshake agrees (AEAD_AES_128_GCM, ours first; --profile to force AES-CM).

    python bench/webrtc_srtp.py [--packets 5000] [--rounds 25] [--profile SRTP_AES128_CM_SHA1_80]
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import pylibsrtp
from aioice import stun

from ringdesk.media import dtls as dtls_module
from ringdesk.media.api import RemoteMedia, SrtpKeys, WebRtcRemote
from ringdesk.media.dtls import Certificate, DtlsSession
from ringdesk.media.endpoint import Endpoint
from ringdesk.media.ice_lite import DTLS, classify
from ringdesk.media.srtp import PROFILES
from ringdesk.media.webrtc import WebRtcEndpoint

BROWSER = ("127.0.0.1", 50000)
PHONE = ("127.0.0.1", 40000)


class NullTransport(asyncio.DatagramTransport):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.kept: list[bytes] = []
        self.keep = True

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.count += 1
        if self.keep:
            self.kept.append(bytes(data))


def browser_leg(ours: Certificate, theirs: Certificate) -> tuple[WebRtcEndpoint, SrtpKeys]:
    """A WebRTC endpoint through STUN and DTLS with an in-memory 'browser'; its keys."""
    endpoint = WebRtcEndpoint("browser", 30000, ours)
    wire = NullTransport()
    endpoint.connection_made(wire)
    local = endpoint.local_webrtc("actpass")
    peer = DtlsSession(
        theirs,
        client=False,
        fingerprints=[local.fingerprint],
        send=lambda data: endpoint.datagram_received(data, BROWSER),
    )
    endpoint.set_remote(
        RemoteMedia(
            "0.0.0.0",
            9,
            0,
            webrtc=WebRtcRemote(
                "bench", "bench-password-of-22+chars", (("sha-256", theirs.fingerprint),), "actpass"
            ),
        )
    )
    request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
    request.attributes["USERNAME"] = f"{endpoint.ice.ufrag}:bench"
    request.attributes["USE-CANDIDATE"] = None
    request.add_message_integrity(endpoint.ice.pwd.encode())
    endpoint.datagram_received(bytes(request), BROWSER)
    for _ in range(10):
        sent, wire.kept = wire.kept, []
        for data in sent:
            if classify(data) == DTLS:
                peer.feed(data)
    if endpoint.state != "connected" or peer.keys is None:
        raise SystemExit(f"DTLS-SRTP did not come up: {endpoint.state} {endpoint.failure}")
    wire.keep = False
    wire.count = 0
    return endpoint, peer.keys


def plain_leg(name: str) -> Endpoint:
    endpoint = Endpoint(name, 30002)
    endpoint.transport = NullTransport()
    endpoint.set_remote(RemoteMedia(*PHONE, 0))
    return endpoint


def packets(count: int, keys: SrtpKeys | None) -> list[bytes]:
    payload = bytes(range(160))
    plain = [
        struct.pack("!BBHII", 0x80, 0, i & 0xFFFF, 160 * i, 0x1234) + payload for i in range(count)
    ]
    if keys is None:
        return plain
    policy = pylibsrtp.Policy(
        key=keys.send_key,
        ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=PROFILES[keys.suite],
    )
    session = pylibsrtp.Session(policy)
    return [session.protect(p) for p in plain]


def run_once(count: int, case: str, certs: tuple[Certificate, Certificate]) -> tuple[float, str]:
    """Seconds per packet for one batch through a fresh pair; the SRTP suite used."""
    suite = "-"
    if case == "plain -> plain":
        a, b = plain_leg("a"), plain_leg("b")
        source, batch, addr = a, packets(count, None), PHONE
    elif case == "SDES -> plain":
        # bench/srtp.py's case in this run: the same SRTP, keyed by SDES on a phone's endpoint.
        _browser, keys = browser_leg(*certs)
        suite = keys.suite
        a = Endpoint("sdes", 30000)
        a.transport = NullTransport()
        a.set_remote(
            RemoteMedia(*BROWSER, 0, srtp=SrtpKeys(keys.suite, keys.receive_key, keys.send_key))
        )
        b = plain_leg("phone")
        source, batch, addr = a, packets(count, keys), BROWSER
    else:
        browser, keys = browser_leg(*certs)
        suite = keys.suite
        phone = plain_leg("phone")
        if case == "browser -> plain":
            a, b = browser, phone
            source, batch, addr = browser, packets(count, keys), BROWSER
        else:
            a, b = phone, browser
            source, batch, addr = phone, packets(count, None), PHONE
    a.partner, b.partner = b, a
    a.refresh_maps()
    target = b.transport
    assert isinstance(target, NullTransport)
    target.keep = False
    target.count = 0
    receive = source.datagram_received
    started = time.perf_counter()
    for data in batch:
        receive(data, addr)
    elapsed = time.perf_counter() - started
    if target.count != count:
        raise SystemExit(f"{case}: only {target.count} of {count} packets relayed")
    return elapsed / count, suite


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--profile", choices=sorted(dtls_module.SRTP_PROFILES))
    args = parser.parse_args(argv)
    if args.profile:  # offer only this protection profile in the handshake
        dtls_module.SRTP_PROFILES = {args.profile: dtls_module.SRTP_PROFILES[args.profile]}
    return asyncio.run(measure(args))


async def measure(args: argparse.Namespace) -> int:
    """On a running loop: the endpoint arms its ICE/DTLS timers there (cancelled once up)."""
    certs = (Certificate.generate(), Certificate.generate())
    cases = ["plain -> plain", "browser -> plain", "plain -> browser", "SDES -> plain"]
    print(f"relay hot path, {args.packets} packets x {args.rounds} rounds, best round")
    print(f"{'case':<18} {'suite (DTLS)':<24} {'packets/s':>11} {'us/packet':>10} {'vs plain':>9}")
    best = [float("inf")] * len(cases)
    suites = ["-"] * len(cases)
    for _ in range(args.rounds):
        for i, case in enumerate(cases):
            per_packet, suites[i] = run_once(args.packets, case, certs)
            best[i] = min(best[i], per_packet)
    base = best[0]
    for case, suite, per_packet in zip(cases, suites, best, strict=True):
        rate, micros, ratio = 1 / per_packet, per_packet * 1e6, per_packet / base
        print(f"{case:<18} {suite:<24} {rate:>11,.0f} {micros:>10.2f} {ratio:>8.1f}x")
    started = time.perf_counter()
    for _ in range(20):
        browser_leg(*certs)
    setup = (time.perf_counter() - started) / 20
    print(f"leg setup (STUN check + DTLS handshake, both sides in process): {setup * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
