"""Concurrent browser calls: N calls each with one WebRTC (SRTP) leg bridged to a plain RTP leg,
next to N plain calls in the same run.

The measurement is bench/media.py's, imported, not copied: this process runs the MediaServer
(uvloop), a generator process plays both ends of every call from one UDP socket on the ideal
20 ms schedule, the kernel timestamps arrivals, lateness is arrival minus the ideal send time
(lost frames count as late), and the server's CPU is measured over the window. At every N the
plain case (bench/media.py's step: two plain legs per call) runs first, then the browser case.

A browser call here: the server side is what the switch opens for an agent in the browser, a
WebRtcEndpoint (media/webrtc.py, ICE-lite, DTLS-SRTP, rtcp-mux; our SDP offers a=setup:actpass
and the browser answers active, as with the switch's INVITE to the agent) bridged to a plain
Endpoint (the customer's trunk). The generator plays the browser for real, over UDP: a STUN
Binding request with USE-CANDIDATE and the endpoint's ICE credentials, a check of the response's
MESSAGE-INTEGRITY, then a DTLS client handshake (pyOpenSSL, its own certificate, the server's
checked against the fingerprint); its 20 ms packets are protected with the exported SRTP keys
(libsrtp), and what the server sends it is unprotected before its stamp is read. The other end
of each call is plain RTP, as in bench/media.py. All handshakes finish before the measured window;
their time per leg is reported.

Columns as bench/media.py's, per N and case; `setup/leg` is the wall time of all handshakes over
the number of legs (HANDSHAKES_IN_FLIGHT of them at once) / the server's CPU per leg for its
STUN check and handshake. A case stops after two failing steps in a row. Last lines: the highest
N under 0.1 % of frames late by more than 10 ms for each case, and each case's server CPU per
relayed frame at every N both ran.

    python bench/webrtc_calls.py [--steps 100,200,300,400] [--seconds 4]
        [--profile SRTP_AES128_CM_SHA1_80] [--no-uvloop] [--realtime]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import resource
import select
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from aioice import stun

from bench import media as media_bench
from ringdesk.media import dtls as dtls_module
from ringdesk.media.api import RemoteMedia, WebRtcRemote
from ringdesk.media.dtls import Certificate, DtlsError, DtlsSession
from ringdesk.media.ice_lite import DTLS, STUN, classify
from ringdesk.media.srtp import SrtpLeg

if TYPE_CHECKING:
    import socket

    from ringdesk.media.endpoint import Endpoint

STEPS = (100, 200, 300, 400)
HANDSHAKES_IN_FLIGHT = 32  # browsers the generator brings up at once
SETUP_TIMEOUT = 60.0  # seconds for all handshakes of a step
RETRY = 0.5  # seconds before a STUN check without an answer is sent again
BROWSER_PWD = "bench-browser-password-0123"  # the browsers' a=ice-pwd (the lite side never uses it)


# --- the generator process: the browsers and the phones -------------------------------------


class Browser:
    """One simulated browser leg: ICE check, DTLS client, then SRTP with the exported keys."""

    def __init__(
        self,
        sock: socket.socket,
        port: int,
        ufrag: str,
        pwd: str,
        own_ufrag: str,
        certificate: Certificate,
        fingerprint: str,
    ) -> None:
        self.sock = sock
        self.address = ("127.0.0.1", port)
        self.username = f"{ufrag}:{own_ufrag}"
        self.pwd = pwd.encode()
        self.transaction: bytes | None = None
        self.checked = False
        self.started = self.sent_check = 0.0
        self.srtp: SrtpLeg | None = None
        self.dtls = DtlsSession(
            certificate,
            client=True,
            fingerprints=[("sha-256", fingerprint)],
            send=self._send,
        )

    def _send(self, data: bytes) -> None:
        self.sock.sendto(data, self.address)

    def check(self) -> None:
        """A connectivity check as a controlling full agent sends it, nominating the pair."""
        request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
        request.attributes["USERNAME"] = self.username
        request.attributes["PRIORITY"] = 0x6E0001FF
        request.attributes["ICE-CONTROLLING"] = 0x0123456789ABCDEF
        request.attributes["USE-CANDIDATE"] = None
        request.add_message_integrity(self.pwd)
        self.transaction = request.transaction_id
        self.sent_check = time.monotonic()
        self.sock.sendto(bytes(request), self.address)

    def datagram(self, data: bytes) -> None:
        kind = classify(data)
        if kind == STUN and not self.checked:
            response = stun.parse_message(data)
            if (
                response.message_class == stun.Class.RESPONSE
                and response.transaction_id == self.transaction
                and response.check_message_integrity(self.pwd)
            ):
                self.checked = True
                self.dtls.start()  # our ClientHello
        elif kind == DTLS and self.checked:
            self.dtls.feed(data)
            if self.dtls.keys is not None and self.srtp is None:
                self.srtp = SrtpLeg(f"browser {self.address[1]}", self.dtls.keys)

    def tick(self, now: float) -> None:
        """Retransmissions: the check until answered, then the DTLS flight OpenSSL's timer says."""
        if not self.checked:
            if now - self.sent_check > RETRY:
                self.check()
            return
        due = self.dtls.timeout()
        if due is not None and due <= 0:
            self.dtls.handle_timeout()


def bring_up(browsers: list[Browser], sock: socket.socket) -> list[float]:
    """Every browser through ICE and DTLS, HANDSHAKES_IN_FLIGHT at a time; the seconds each
    took from its first check to its SRTP keys."""
    waiting = collections.deque(browsers)
    by_port: dict[int, Browser] = {}
    took: list[float] = []
    deadline = time.monotonic() + SETUP_TIMEOUT
    while waiting or by_port:
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(
                f"{len(by_port) + len(waiting)} browser legs not up after {SETUP_TIMEOUT:g} s"
            )
        while waiting and len(by_port) < HANDSHAKES_IN_FLIGHT:
            browser = waiting.popleft()
            browser.started = now
            browser.check()
            by_port[browser.address[1]] = browser
        select.select([sock], [], [], 0.01)
        while True:
            try:
                data, source = sock.recvfrom(2048)
            except BlockingIOError:
                break
            found = by_port.get(source[1])
            if found is None:
                continue
            try:
                found.datagram(data)
            except (DtlsError, ValueError) as exc:
                raise SystemExit(f"browser leg to port {source[1]}: {exc}") from None
            if found.srtp is not None:
                took.append(time.monotonic() - found.started)
                del by_port[source[1]]
        now = time.monotonic()
        for browser in by_port.values():
            browser.tick(now)
    return took


def generate(profile: str | None) -> int:
    """Bring up the browsers, then play every leg's packets on schedule (media.play)."""
    if profile:  # our browsers offer only this protection profile
        dtls_module.SRTP_PROFILES = {profile: dtls_module.SRTP_PROFILES[profile]}
    sock = media_bench._socket()
    certificate = Certificate.generate()
    own_ufrag = "br" + os.urandom(3).hex()
    hello = {
        "port": sock.getsockname()[1],
        "fingerprint": certificate.fingerprint,
        "ufrag": own_ufrag,
        "pwd": BROWSER_PWD,
    }
    print(json.dumps(hello), flush=True)
    config = json.loads(sys.stdin.readline())
    legs: list[dict[str, str | int]] = config["legs"]
    browsers: dict[int, Browser] = {}  # leg index -> its browser
    for index, leg in enumerate(legs):
        if "ufrag" in leg:
            browsers[index] = Browser(
                sock,
                int(leg["port"]),
                str(leg["ufrag"]),
                str(leg["pwd"]),
                own_ufrag,
                certificate,
                config["fingerprint"],
            )
    cpu = time.process_time()
    started = time.monotonic()
    took = bring_up(list(browsers.values()), sock)
    wall = time.monotonic() - started
    suites = {b.srtp.keys.suite for b in browsers.values() if b.srtp is not None}
    ready = {
        "setup_s": wall,
        "setup_cpu_s": time.process_time() - cpu,
        "slowest_s": max(took, default=0.0),
        "suite": ",".join(sorted(suites)),
    }
    print(json.dumps(ready), flush=True)
    protect: list[media_bench.Wrap | None] = [None] * len(legs)
    unprotect: dict[int, media_bench.Wrap] = {}
    for index, browser in browsers.items():
        assert browser.srtp is not None
        protect[index] = browser.srtp.protect
        unprotect[browser.address[1]] = browser.srtp.unprotect
    ports = [int(leg["port"]) for leg in legs]
    result = media_bench.play(sock, ports, config["seconds"], protect=protect, unprotect=unprotect)
    print(json.dumps(result), flush=True)
    return 0


# --- the server side ------------------------------------------------------------------------


async def browser_step(
    calls: int, seconds: float, profile: str | None
) -> tuple[dict[str, float], str]:
    """N browser calls: handshakes first, then the measured window; the SRTP suite agreed."""
    from ringdesk.media.server import MediaServer

    media = MediaServer("127.0.0.1")
    process = await media_bench.spawn_generator(
        __file__, *(["--profile", profile] if profile else [])
    )
    assert process.stdin is not None and process.stdout is not None
    hello = json.loads(await process.stdout.readline())
    browser_sdp = WebRtcRemote(
        hello["ufrag"], hello["pwd"], (("sha-256", hello["fingerprint"]),), "active"
    )
    endpoints: list[Endpoint] = []
    browsers = []
    legs: list[dict[str, str | int]] = []
    fingerprint = ""
    for call in range(calls):
        browser = await media.open_webrtc_endpoint(f"{call}w")
        phone = await media.open_endpoint(f"{call}p")
        media.bridge(browser.leg_id, phone.leg_id)
        local = browser.local_webrtc()  # our offer to the browser: a=setup:actpass
        fingerprint = local.fingerprint[1]
        legs += [
            {"port": browser.port, "ufrag": local.ice_ufrag, "pwd": local.ice_pwd},
            {"port": phone.port},
        ]
        browsers.append(browser)
        endpoints += [browser, phone]
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    for browser in browsers:  # the browser's answer (a=setup:active)
        browser.set_remote(RemoteMedia("0.0.0.0", 9, 0, webrtc=browser_sdp))
    for phone in endpoints[1::2]:  # the trunk's SDP address
        phone.set_remote(RemoteMedia("127.0.0.1", hello["port"], 0))
    config = {"legs": legs, "fingerprint": fingerprint, "seconds": seconds}
    process.stdin.write(json.dumps(config).encode() + b"\n")
    await process.stdin.drain()
    line = await process.stdout.readline()
    if not line:
        raise SystemExit(f"the browser generator exited with {await process.wait()}")
    ready = json.loads(line)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    setup_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    down = [b for b in browsers if b.state != "connected"]
    if down:
        raise SystemExit(f"{len(down)} browser legs not connected: {down[0].failure}")
    result = await media_bench.measure(process, endpoints)
    await media.close()
    await asyncio.sleep(0.2)  # the loop closes the sockets: the next step may reuse ports
    result["setup_ms_per_leg"] = 1e3 * ready["setup_s"] / calls
    result["setup_server_cpu_ms"] = 1e3 * setup_cpu / calls
    result["setup_generator_cpu_ms"] = 1e3 * ready["setup_cpu_s"] / calls
    result["setup_slowest_ms"] = 1e3 * ready["slowest_s"]
    return result, str(ready["suite"])


class Case:
    """One case's progress over the steps: it stops after two failing steps in a row (not on
    one very late step as bench/media.py does: a neighbour's burst on the shared cores should
    not end one case while the other goes on)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.best = 0
        self.failed = 0
        self.stopped = False
        self.costs: dict[int, float] = {}

    def note(self, calls: int, r: dict[str, float]) -> None:
        self.costs[calls] = r["us_per_frame"]
        if r["late_pct"] < media_bench.TARGET_PCT:
            self.best = calls
            self.failed = 0
        else:
            self.failed += 1
            self.stopped = self.failed == 2


async def bench(steps: list[int], seconds: float, profile: str | None) -> None:
    plain, browser = Case("plain"), Case("browser")
    print(f"{'calls':>6} {'case':<8} {media_bench.HEADER} {'setup/leg':>14}", flush=True)
    suite = ""
    for calls in steps:
        if plain.stopped and browser.stopped:
            break
        if not plain.stopped:
            r = await media_bench.run_step(calls, seconds)
            print(f"{calls:>6} {'plain':<8} {media_bench.row(r)}", flush=True)
            plain.note(calls, r)
        if not browser.stopped:
            r, suite = await browser_step(calls, seconds, profile)
            setup = f"{r['setup_ms_per_leg']:.1f} / {r['setup_server_cpu_ms']:.1f} ms"
            print(f"{calls:>6} {'browser':<8} {media_bench.row(r)} {setup:>14}", flush=True)
            browser.note(calls, r)
    target = media_bench.TARGET_PCT
    for case in (plain, browser):
        print(f"highest N with < {target} % of frames late by > 10 ms, {case.name}: {case.best}")
    both = sorted(set(plain.costs) & set(browser.costs))
    if both:
        pairs = ", ".join(
            f"{n}: {plain.costs[n]:.1f} / {browser.costs[n]:.1f}"
            f" (+{100 * (browser.costs[n] / plain.costs[n] - 1):.0f} %)"
            for n in both
        )
        print(f"server CPU per relayed frame, plain / browser ({suite}), us: {pairs}")
        cost = min(browser.costs.values())  # the least disturbed step, as bench/media.py
        print(
            f"at {cost:.1f} us per relayed browser-call frame one core relays at most "
            f"~{1e6 / cost / 100:.0f} browser calls (100 frames/s each)"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", default=",".join(map(str, STEPS)))
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per step")
    parser.add_argument(
        "--profile",
        choices=sorted(dtls_module.SRTP_PROFILES),
        help="the browsers offer only this DTLS-SRTP profile (default: both, GCM chosen)",
    )
    parser.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop")
    parser.add_argument(
        "--realtime", action="store_true", help="server and generator under SCHED_RR (root)"
    )
    args = parser.parse_args(argv)
    if args.realtime:
        media_bench.realtime()
    if args.generate:
        return generate(args.profile)
    steps = [int(n) for n in args.steps.split(",")]
    factory = media_bench.loop_factory(args.no_uvloop)
    media_bench.raise_nofile(4 * max(steps) + 256)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"browser calls (WebRTC leg + plain leg) vs plain calls, "
        f"{'uvloop' if factory else 'asyncio'}, {os.cpu_count()} CPUs, {args.seconds:g} s per "
        f"step, load average before the run {load}{', SCHED_RR' if args.realtime else ''}"
    )
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(bench(steps, args.seconds, args.profile))
    print(f"load average after the run {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
