"""Callers in an IVR menu pressing a key at once: the key-to-action latency (issue #12).

A `ringdesk serve` subprocess (SQLite in a temp dir) whose demo service's number leads to a menu
("1": the service's queue). N callers, all in this process on asyncio (one SIP and one RTP UDP
socket each, from the trusted carrier address), call the number; the menu answers each and
plays its short prompt. When all N have heard it to its end (the switch then sends them
nothing, so this process, one Python core, is idle and times arrivals exactly), every caller
presses 1 in the same burst as an RFC 4733 telephone-event (start packet, two updates, three
end packets). The action is the switch starting the queue music for that caller: a new talk
spurt, the first packet with the marker bit after the key. Latency = that packet's arrival minus
the key's first packet's send time, per caller; p50/p90/p99/max per N, and the server's CPU over
the step. The menu's timeout is long so no replay of the prompt can be taken for the action.

Before the burst one more caller presses 1 alone and is answered with the queue music, as in a
centre where someone always waits: the server has then read and encoded the music once, and the
burst measures the key's path, not that one-time load. `--cold` leaves it out (the first burst
after a start then also waits for the music to load).

    python bench/menu_keys.py [--steps 100,500,1000] [--cold]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import secrets
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from tests.support.server import RunningServer, start_server

from bench.sip_cps import BENCH_GATE_ENV, UAC_SOURCE, cpu_seconds
from ringdesk.sip.message import Response, parse_message

INBOUND = "5550100"
SERVICE_ID = 1
EVENT_PT = 101
KEY = 1  # RFC 4733 event code of the digit "1"
PROMPT_SECONDS = 3.0  # longer than the spoken prompt plus the calls' spread


class Caller(asyncio.DatagramProtocol):
    """One caller: SIP on one socket, RTP on another; remembers when the action came."""

    def __init__(self, index: int, switch: tuple[str, int]) -> None:
        self.index = index
        self.switch = switch
        self.call_id = f"menu-{index}-{secrets.token_hex(4)}"
        self.tag = secrets.token_hex(4)
        self.sip: asyncio.DatagramTransport | None = None
        self.rtp: RtpSide | None = None
        self.answered = asyncio.get_running_loop().create_future()
        self.to = ""
        self.sip_port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.sip = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            msg = parse_message(data)
        except Exception:
            return
        if isinstance(msg, Response):
            if msg.status == 200 and "INVITE" in (msg.headers.get("cseq") or ""):
                self.to = msg.headers.get("to") or ""
                self._send(self._request("ACK", cseq=1))
                if not self.answered.done():
                    self.answered.set_result(None)
            return
        # A request from the switch (BYE at the end): 200 it.
        head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
        keep = [
            h
            for h in head[1:]
            if h.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")
        ]
        self._send("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n")

    def _send(self, text: str) -> None:
        assert self.sip is not None
        self.sip.sendto(text.encode(), self.switch)

    def _request(self, method: str, *, cseq: int, body: str = "", extra: str = "") -> str:
        host, port = UAC_SOURCE, self.sip_port
        to = self.to or f"<sip:{INBOUND}@{self.switch[0]}>"
        return (
            f"{method} sip:{INBOUND}@{self.switch[0]}:{self.switch[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{secrets.token_hex(6)};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:5551{self.index:04d}@{host}>;tag={self.tag}\r\n"
            f"To: {to}\r\nCall-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:c@{host}:{port}>\r\n{extra}Content-Length: {len(body)}\r\n\r\n{body}"
        )

    def invite(self, rtp_port: int) -> None:
        body = (
            f"v=0\r\no=c 1 1 IN IP4 {UAC_SOURCE}\r\ns=-\r\nc=IN IP4 {UAC_SOURCE}\r\nt=0 0\r\n"
            f"m=audio {rtp_port} RTP/AVP 0 {EVENT_PT}\r\na=rtpmap:0 PCMU/8000\r\n"
            f"a=rtpmap:{EVENT_PT} telephone-event/8000\r\na=fmtp:{EVENT_PT} 0-15\r\n"
            "a=sendrecv\r\n"
        )
        self._send(
            self._request("INVITE", cseq=1, body=body, extra="Content-Type: application/sdp\r\n")
        )

    def bye(self) -> None:
        self._send(self._request("BYE", cseq=2))


class RtpSide(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.source: tuple[str, int] | None = None
        self.heard = asyncio.get_running_loop().create_future()
        self.key_sent = 0.0
        self.action_at = 0.0
        self.ssrc = random.getrandbits(32)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12:
            return
        if self.source is None:
            self.source = addr
            if not self.heard.done():
                self.heard.set_result(None)
        if self.key_sent and not self.action_at and data[1] & 0x80:
            self.action_at = time.perf_counter()

    def press(self) -> None:
        """The key's first event packet now (the one the switch reports the key at); the
        updates and the end packets follow from `finish`."""
        assert self.transport is not None and self.source is not None
        self.key_sent = time.perf_counter()
        self._event(0, marker=True, end=False, seq=1)

    def finish(self) -> None:
        for seq, (duration, end) in enumerate([(320, False), (480, False)] + [(640, True)] * 3, 2):
            self._event(duration, marker=False, end=end, seq=seq)

    def _event(self, duration: int, *, marker: bool, end: bool, seq: int) -> None:
        assert self.transport is not None and self.source is not None
        header = struct.pack(
            "!BBHII", 0x80, EVENT_PT | (0x80 if marker else 0), seq, 16000, self.ssrc
        )
        payload = struct.pack("!BBH", KEY, (0x80 if end else 0) | 10, duration)
        self.transport.sendto(header + payload, self.source)


def prepare(server: RunningServer, callers: int) -> None:
    server.trust_source(UAC_SOURCE)
    token = server.login("admin", "admin-demo")
    with server.client(token) as http:
        settings = http.get("/api/admin/cti/settings").json()
        settings.pop("id", None)
        settings.update(
            max_calls_per_source=callers + 100,
            max_calls_total=callers + 100,
            max_queued_per_service=callers + 100,
        )
        assert http.put("/api/admin/cti/settings", json=settings).status_code == 200
        menu = http.post(
            "/api/admin/menus",
            json={
                "name": "Bench",
                "prompt_text": "For support, press 1.",
                "timeout_seconds": 60,
                "max_tries": 3,
                "fallback": {"action": "queue", "target": SERVICE_ID},
                "choices": [{"digit": "1", "action": "queue", "target": SERVICE_ID}],
            },
        )
        assert menu.status_code == 201, menu.text
        changed = http.patch(
            f"/api/admin/services/{SERVICE_ID}", json={"menu_id": menu.json()["id"]}
        )
        assert changed.status_code == 200, changed.text


async def step(server: RunningServer, n: int, pid: int, *, cold: bool = False) -> str:
    loop = asyncio.get_running_loop()
    switch = (server.sip_host, server.sip_port)
    callers: list[Caller] = []
    for index in range(n + (0 if cold else 1)):
        caller = Caller(index, switch)
        await loop.create_datagram_endpoint(lambda c=caller: c, local_addr=(UAC_SOURCE, 0))
        assert caller.sip is not None
        caller.sip_port = caller.sip.get_extra_info("sockname")[1]
        _, rtp = await loop.create_datagram_endpoint(RtpSide, local_addr=(UAC_SOURCE, 0))
        caller.rtp = rtp
        callers.append(caller)
    started = time.monotonic()
    for batch in range(0, len(callers), 50):  # 50 calls every 50 ms: about 1,000 calls a second
        for caller in callers[batch : batch + 50]:
            assert caller.rtp is not None and caller.rtp.transport is not None
            caller.invite(caller.rtp.transport.get_extra_info("sockname")[1])
        await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(c.answered for c in callers)), 60)
    await asyncio.wait_for(asyncio.gather(*(c.rtp.heard for c in callers if c.rtp)), 60)
    setup = time.monotonic() - started
    # Every caller has heard the short prompt to its end: the switch sends them nothing now, so
    # this process (one core, Python) is idle when the keys go and times the answers exactly.
    await asyncio.sleep(PROMPT_SECONDS)
    everyone = callers
    if not cold:  # the warm-up caller: the queue music is playing to someone already
        callers, warm = callers[:n], callers[n]
        assert warm.rtp is not None
        warm.rtp.press()
        warm.rtp.finish()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not warm.rtp.action_at:
            await asyncio.sleep(0.01)
        assert warm.rtp.action_at, "the warm-up caller got no queue music"
        await asyncio.sleep(0.5)
    cpu_before = cpu_seconds([pid])
    wall_before = time.monotonic()
    for caller in callers:  # every caller presses 1, as one burst
        assert caller.rtp is not None
        caller.rtp.press()
    await asyncio.sleep(0.04)
    for caller in callers:
        assert caller.rtp is not None
        caller.rtp.finish()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(c.rtp and not c.rtp.action_at for c in callers):
        await asyncio.sleep(0.02)
    cpu = cpu_seconds([pid]) - cpu_before
    wall = time.monotonic() - wall_before
    latencies = sorted(
        (c.rtp.action_at - c.rtp.key_sent) * 1000 for c in callers if c.rtp and c.rtp.action_at
    )
    missing = n - len(latencies)
    for caller in everyone:
        caller.bye()
    await asyncio.sleep(1.0)
    for caller in everyone:
        if caller.sip is not None:
            caller.sip.close()
        if caller.rtp is not None and caller.rtp.transport is not None:
            caller.rtp.transport.close()
    if not latencies:
        return f"{n:>6} callers: no action seen within 10 s"

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    return (
        f"{n:>6} callers  answered+prompt {setup:5.1f} s  key->action ms p50 {pct(50):6.1f} "
        f"p90 {pct(90):6.1f} p99 {pct(99):6.1f} max {latencies[-1]:6.1f}  missing {missing}  "
        f"server CPU {cpu:.2f} s over {wall:.2f} s"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="100,500,1000")
    parser.add_argument("--cold", action="store_true", help="no warm-up caller before the burst")
    args = parser.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it too
    print(
        f"# machine: {os.uname().machine}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} before the run; python "
        f"{sys.version.split()[0]}; {'cold' if args.cold else 'warm'} queue music"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in steps:  # a fresh server per step: no caller of the last one is left
            server = start_server(Path(tmp) / f"ringdesk-{n}", env=BENCH_GATE_ENV)
            try:
                prepare(server, n)
                assert server.process is not None
                pid = server.process.pid
                print(asyncio.run(step(server, n, pid, cold=args.cold)), flush=True)
            finally:
                server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
