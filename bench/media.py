"""Media benchmark: how many concurrent relayed G.711 calls the MediaServer holds in time.

This process runs the MediaServer (on uvloop when installed, as `ringdesk serve` does through
uvicorn). A second process, this script with --generate, plays both phones of every call from one
UDP socket: each leg sends a 20 ms packet on its own phase (legs spread evenly over the 20 ms, as
real calls are), with its ideal and actual send times in the payload. The kernel timestamps every
arrival (SO_TIMESTAMPNS), so a generator slow to read does not inflate the figures. Lateness is
arrival minus the *ideal* send time, so a generator that sends late counts against us too; lost
frames count as late.

Columns per N concurrent calls: frames relayed in the measured window, lost, % late by more than
10 ms, the same against the actual send time ("server-only"), the worst lateness, CPU of the
server and of the generator, the generator's worst send lag, server CPU per relayed frame. Last
lines: the highest N with under 0.1 % of frames late by more than 10 ms, and what one core could
relay at the measured CPU cost per frame.

Then the cost of monitoring (a supervisor listening, whispering or barging: media/mix.py): at
one N, the same calls plain and with M of them monitored, in the same run. The unmonitored
calls' relay must keep its figures; a monitored call's mixed frames cost server CPU of their
own, reported per mixed frame (the relay's share, from the plain step, taken off).

    python bench/media.py [--steps 50,100,...] [--seconds 4] [--no-uvloop]
                          [--mix-calls 300] [--monitored 0,10,50] [--mode barge]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

if TYPE_CHECKING:  # the generator process does not import ringdesk
    from ringdesk.media.endpoint import Endpoint

STEPS = (50, 100, 200, 300, 400, 500, 600, 700, 800, 1000)
PTIME = 0.020
LATE_NS = 10_000_000
TICK_NS = 1_000_000
WARMUP = 1.0
TARGET_PCT = 0.1
_RTP = struct.Struct("!BBHII")
_STAMP = struct.Struct("!Iqq")  # leg index, ideal send time (ns), actual send time (ns)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python 3.11 lacks the name


# --- the generator process ------------------------------------------------------------------


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for option, fallback in (
        (_SO_RCVBUFFORCE, socket.SO_RCVBUF),
        (_SO_SNDBUFFORCE, socket.SO_SNDBUF),
    ):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, 32 * 1024 * 1024)
        except OSError:  # not root: the ordinary option, capped by net.core.rmem_max
            sock.setsockopt(socket.SOL_SOCKET, fallback, 32 * 1024 * 1024)
    sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def generate() -> int:
    """Send every leg's packets on schedule, receive the relayed ones; print the tallies."""
    sock = _socket()
    print(sock.getsockname()[1], flush=True)
    config = json.loads(sys.stdin.readline())  # ports: the server endpoint each leg sends to
    result = play(
        sock,
        config["ports"],
        config["seconds"],
        tallied=config.get("tallied"),
        mixed_ports=set(config.get("mixed_ports", ())),
    )
    print(json.dumps(result), flush=True)
    return 0


Wrap = Callable[[bytes], bytes | None]  # protect or unprotect one packet; None: drop it


def play(
    sock: socket.socket,
    ports: Sequence[int],
    seconds: float,
    *,
    protect: Sequence[Wrap | None] | None = None,
    unprotect: Mapping[int, Wrap] | None = None,
    tallied: Sequence[bool] | None = None,
    mixed_ports: set[int] | None = None,
) -> dict[str, float]:
    """The measured window: leg i sends to ports[i] on its phase, and what comes back is
    tallied against the ideal send times. `protect[i]` (when given) turns leg i's plain RTP
    into what it sends (SRTP); `unprotect[port]` turns what arrives from that server port back
    into plain RTP (None: not ours, ignored). `tallied[i]` False: leg i's frames come back
    mixed, not relayed (a monitored call), so they are not counted as sent; what arrives from
    `mixed_ports` is only counted (`mixed_received`). Returns the generator's tallies."""
    legs = len(ports)
    cpu_start = time.process_time()
    interval_ns = int(PTIME * 1e9) // legs  # legs are spread evenly over the 20 ms
    payload_pad = bytes(160 - _STAMP.size)
    start_ns = time.time_ns() + 200_000_000
    measure_from = start_ns + int(WARMUP * 1e9)
    end_ns = measure_from + int(seconds * 1e9)
    seqs = [0] * legs
    sent_measured = 0
    received = late = late_server = 0
    worst = 0
    send_lag = 0
    mixed_received = 0
    j = 0  # the j-th packet of the whole schedule: leg j % legs, frame j // legs
    ancillary = socket.CMSG_SPACE(16)
    counted = list(tallied) if tallied is not None else [True] * legs
    mixed = mixed_ports or set()

    def drain() -> None:
        nonlocal received, late, late_server, worst, mixed_received
        while True:
            try:
                data, ancdata, _, source = sock.recvmsg(512, ancillary)
            except BlockingIOError:
                return
            if source[1] in mixed:
                mixed_received += 1
                continue
            arrival = time.time_ns()
            for level, kind, value in ancdata:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    arrival = sec * 1_000_000_000 + nsec
            if unprotect is not None and source[1] in unprotect:
                plain = unprotect[source[1]](data)
                if plain is None:
                    continue
                data = plain
            if len(data) < 12 + _STAMP.size:
                continue
            _, ideal, actual = _STAMP.unpack_from(data, 12)
            if ideal < measure_from or ideal >= end_ns:
                continue
            received += 1
            lateness = arrival - ideal
            worst = max(worst, lateness)
            if lateness > LATE_NS:
                late += 1
            if arrival - actual > LATE_NS:
                late_server += 1

    while True:
        now = time.time_ns()
        if now >= end_ns + 300_000_000:
            break
        while True:
            ideal = start_ns + j * interval_ns
            if ideal > now or ideal >= end_ns:
                break
            leg = j % legs
            seq = seqs[leg]
            seqs[leg] = (seq + 1) & 0xFFFF
            header = _RTP.pack(0x80, 0, seq, (j // legs * 160) & 0xFFFFFFFF, leg)
            actual = time.time_ns()
            send_lag = max(send_lag, actual - ideal)
            packet = header + _STAMP.pack(leg, ideal, actual) + payload_pad
            wrap = protect[leg] if protect is not None else None
            wire = packet if wrap is None else wrap(packet)
            if wire is not None:
                with contextlib.suppress(BlockingIOError):  # a full send buffer: counts as lost
                    sock.sendto(wire, ("127.0.0.1", ports[leg]))
            if ideal >= measure_from and counted[leg]:
                sent_measured += 1
            j += 1
        drain()
        # Work in 1 ms batches, sleeping rather than waiting on the socket: waking for every
        # packet (one each 20 us at 500 calls) would cost both processes more than the relay
        # itself. Arrival times come from the kernel, so reading late does not skew them.
        wait_ns = max(start_ns + j * interval_ns - time.time_ns(), TICK_NS)
        time.sleep(min(wait_ns, 5_000_000) / 1e9)
    drain()
    # Frames of the window a stalled generator never sent before the deadline: lost, not absent.
    while start_ns + j * interval_ns < end_ns:
        if start_ns + j * interval_ns >= measure_from and counted[j % legs]:
            sent_measured += 1
        j += 1
    return {
        "sent": sent_measured,
        "received": received,
        "late": late,
        "late_server": late_server,
        "worst_ms": worst / 1e6,
        "send_lag_ms": send_lag / 1e6,
        "cpu_s": time.process_time() - cpu_start,
        "mixed_received": mixed_received,
    }


# --- the server side ------------------------------------------------------------------------


# The CPUs a generator runs on (bench/rtp_peer.py --pin: the server has a core of its own);
# None: wherever the scheduler puts it, beside the server.
GENERATOR_CPUS: set[int] | None = None
# The generator alone under SCHED_RR (bench/rtp_peer.py --realtime-generator, root): on a slow
# or noisy machine its stalls, not the servers, would decide the lateness figures.
GENERATOR_REALTIME = False


async def spawn_generator(script: str, *args: str) -> asyncio.subprocess.Process:
    """A generator process (`script --generate ...`) talking JSON lines on stdin/stdout."""
    cpus, rt = GENERATOR_CPUS, GENERATOR_REALTIME

    def placed() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
        if rt:
            realtime()

    return await asyncio.create_subprocess_exec(
        sys.executable,
        script,
        "--generate",
        *args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        preexec_fn=None if cpus is None and not rt else placed,
    )


async def measure(
    process: asyncio.subprocess.Process, endpoints: Sequence[Endpoint]
) -> dict[str, float]:
    """From now until the generator's tallies arrive: the server's CPU, the frames its
    `endpoints` relayed (their `sent`), and both joined into one step's result."""
    assert process.stdout is not None
    relayed_before = sum(e.sent for e in endpoints)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    line = await process.stdout.readline()
    wall = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    await process.wait()
    if not line:
        raise SystemExit(f"the generator exited with {process.returncode} and no figures")
    relayed = sum(e.sent for e in endpoints) - relayed_before
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return joined(json.loads(line), cpu, wall, relayed)


def joined(result: dict[str, float], cpu: float, wall: float, relayed: int) -> dict[str, float]:
    """The generator's tallies (`result`) and a server's CPU seconds over `wall` seconds in
    which it relayed `relayed` frames, joined into one step's figures (bench/rtp_peer.py joins
    rtpengine's the same way)."""
    result["server_cpu_s"] = cpu
    result["relayed_frames"] = relayed
    result["server_cpu_pct"] = 100 * cpu / wall
    result["us_per_frame"] = 1e6 * cpu / max(1, relayed)
    result["generator_cpu_pct"] = 100 * result["cpu_s"] / wall
    lost = max(0, int(result["sent"] - result["received"]))
    result["lost"] = lost
    result["late_pct"] = 100 * (result["late"] + lost) / max(1, result["sent"])
    result["server_pct"] = 100 * (result["late_server"] + lost) / max(1, result["sent"])
    return result


async def run_step(
    calls: int, seconds: float, *, monitored: int = 0, mode: str = "barge"
) -> dict[str, float]:
    """N bridged calls; the first `monitored` of them with a supervisor's third leg in `mode`
    (media/mix.py). The relay figures are of the frames relayed; mixed frames are counted."""
    from ringdesk.media.api import RemoteMedia
    from ringdesk.media.server import MediaServer

    media = MediaServer("127.0.0.1")
    endpoints = []  # every leg the generator plays
    relayed = []  # the legs whose received frames are relayed ones (their `sent` is the relay)
    tallied: list[bool] = []
    triples = []
    for call in range(calls):
        a = await media.open_endpoint(f"{call}a")
        b = await media.open_endpoint(f"{call}b")
        media.bridge(a.leg_id, b.leg_id)
        endpoints += [a, b]
        if call < monitored:
            s = await media.open_endpoint(f"{call}s")
            endpoints.append(s)
            triples.append((a, b, s))
            # Listening keeps the relay both ways; whisper mixes what the agent (b) hears,
            # barge what both hear. The supervisor always hears a mix.
            tallied += [mode != "barge", mode == "listen", False]
            if mode == "listen":
                relayed += [a, b]
            elif mode == "whisper":
                relayed.append(a)
        else:
            tallied += [True, True]
            relayed += [a, b]
    process = await spawn_generator(__file__)
    assert process.stdin is not None and process.stdout is not None
    port = int(await process.stdout.readline())
    for endpoint in endpoints:
        endpoint.set_remote(RemoteMedia("127.0.0.1", port, 0))
    for a, b, s in triples:
        media.monitor(a.leg_id, b.leg_id, s.leg_id, mode)
    mixed_out = [
        output for *_, s in triples for output in (s.tap.outputs.values() if s.tap else ())
    ]
    mixed_ports = [o.endpoint.port for o in mixed_out]
    # A leg's frames come back from its partner's port: tallied only when the partner relays.
    config = {
        "ports": [e.port for e in endpoints],
        "seconds": seconds,
        "tallied": tallied,
        "mixed_ports": mixed_ports,
    }
    process.stdin.write(json.dumps(config).encode() + b"\n")
    await process.stdin.drain()
    mixed_before = sum(o.mixed for o in mixed_out)
    result = await measure(process, relayed)
    result["mixed_frames"] = sum(o.mixed for o in mixed_out) - mixed_before
    await media.close()
    await asyncio.sleep(0.2)  # the loop closes the sockets: the next step may reuse ports
    return result


HEADER = (
    f"{'frames':>8} {'lost':>6} {'late>10ms':>10} {'server-only':>11} {'worst ms':>9} "
    f"{'server CPU':>10} {'gen CPU':>9} {'gen lag':>8} {'us/frame':>9}"
)


async def mixing(calls: int, monitored: Sequence[int], mode: str, seconds: float) -> None:
    """The cost of monitoring at `calls` concurrent calls: plain first, then with each count
    of monitored calls, in the same run."""
    from ringdesk.media.mix import mix2

    frame_a, frame_b = os.urandom(160), os.urandom(160)
    started = time.perf_counter()
    for _ in range(20_000):
        mix2(frame_a, frame_b, 0)
    sum_us = (time.perf_counter() - started) / 20_000 * 1e6
    print(f"\nmonitoring ({mode}) at {calls} calls; summing two 160-byte frames: {sum_us:.1f} us")
    print(f"{'monitored':>9} {HEADER} {'mixed':>7} {'us/mixed':>9}", flush=True)
    plain_cost = None
    for m in monitored:
        r = await run_step(calls, seconds, monitored=min(m, calls), mode=mode)
        extra = ""
        if m == 0:
            plain_cost = r["us_per_frame"]
        elif plain_cost is not None and r["mixed_frames"]:
            cpu_us = r["server_cpu_s"] * 1e6
            relay_us = plain_cost * r["relayed_frames"]
            extra = f"{(cpu_us - relay_us) / r['mixed_frames']:>9.1f}"
        print(f"{m:>9} {row(r)} {int(r['mixed_frames']):>7} {extra:>9}", flush=True)


def row(r: dict[str, float]) -> str:
    """One step's figures under HEADER."""
    return (
        f"{int(r['received']):>8} {int(r['lost']):>6} {r['late_pct']:>9.3f}% "
        f"{r['server_pct']:>10.3f}% {r['worst_ms']:>9.1f} {r['server_cpu_pct']:>9.0f}% "
        f"{r['generator_cpu_pct']:>8.0f}% {r['send_lag_ms']:>8.1f} {r['us_per_frame']:>9.1f}"
    )


async def bench(steps: Sequence[int], seconds: float) -> None:
    best = failed = 0
    costs: list[float] = []
    print(f"{'calls':>6} {HEADER}", flush=True)
    for calls in steps:
        r = await run_step(calls, seconds)
        print(f"{calls:>6} {row(r)}", flush=True)
        costs.append(r["us_per_frame"])
        if r["late_pct"] < TARGET_PCT:
            best = calls
            failed = 0
        else:
            failed += 1
            if failed == 2 or r["late_pct"] > 20:
                break  # past the limit: the larger steps would only take time
    print(f"highest N with < {TARGET_PCT} % of frames late by > 10 ms: {best} concurrent calls")
    if costs:
        cost = min(costs)  # the least disturbed step: CPU per frame is what the relay needs
        print(
            f"server CPU per relayed frame: {cost:.1f} us, so one core relays at most "
            f"~{1e6 / cost / 100:.0f} calls (100 frames/s each)"
        )


def loop_factory(no_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop (as `ringdesk serve` runs on) unless told not to or not installed."""
    if not no_uvloop:
        try:
            import uvloop

            return uvloop.new_event_loop
        except ImportError:
            pass
    return None


def raise_nofile(wanted: int) -> None:
    """Enough file descriptors for every endpoint's sockets."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    if limit[0] < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, limit[1]), limit[1]))


def realtime() -> None:
    """SCHED_RR (root), inherited by the generator process; the kernel still leaves 5 % to
    other tasks."""
    os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(10))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", default=",".join(map(str, STEPS)))
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per step")
    parser.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop")
    parser.add_argument("--mix-calls", type=int, default=300, help="calls in the mixing steps")
    parser.add_argument(
        "--monitored", default="0,10,50", help="monitored calls per mixing step (0 first)"
    )
    parser.add_argument("--mode", default="barge", choices=("listen", "whisper", "barge"))
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run server and generator under SCHED_RR (root): measures the relay, not the "
        "neighbours on a shared machine",
    )
    args = parser.parse_args(argv)
    if args.realtime:
        realtime()
    if args.generate:
        return generate()
    steps = [int(n) for n in args.steps.split(",") if n]
    factory = loop_factory(args.no_uvloop)
    raise_nofile(6 * max([*steps, args.mix_calls]) + 256)
    loop_name = "uvloop" if factory else "asyncio"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"media relay, {loop_name}, {os.cpu_count()} CPUs, {args.seconds:g} s per step, "
        f"load average before the run {load}{', SCHED_RR' if args.realtime else ''}"
    )
    monitored = [int(n) for n in args.monitored.split(",") if n]
    with asyncio.Runner(loop_factory=factory) as runner:
        if steps:
            runner.run(bench(steps, args.seconds))
        if monitored:
            runner.run(mixing(args.mix_calls, monitored, args.mode, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
