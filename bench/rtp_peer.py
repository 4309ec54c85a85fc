"""Media relay against a real peer: the same G.711 calls through our MediaServer and rtpengine.

Both systems relay the same generated calls (bench/media.py's generator process: every leg of
every call plays from one UDP socket, 20 ms packets on their own phases, kernel timestamps on
arrival), in the same run, step by step: ours at N calls, then rtpengine at N, then the next N,
so drift on a shared machine hits both. Ours is media.run_step (the MediaServer in this process,
on uvloop). rtpengine is Debian's rtpengine-daemon in userspace only (--table=-1, no kernel
forwarding), in the foreground with its own config and ports in a temporary folder; each call is
set up through its ng control protocol (an `offer` and an `answer`, both SDP bodies pointing at
the generator's socket), and deleted after the step.

Per step: frames relayed, lost, % late by more than 10 ms against the ideal send time (lost
frames count as late) and against the actual one ("server-only"), worst lateness, the server's
CPU (ours: this process; rtpengine: its /proc/<pid>/stat, all threads) over the generator's
window, and server CPU per relayed frame. Then per system: the highest N with under 0.1 % of
frames late by more than 10 ms, CPU per relayed frame (the median of its clean steps), calls
one core relays at that cost, our ratio to rtpengine for both, and the two CPU costs step by
step.

    python bench/rtp_peer.py [--steps 100,300,500,700,900] [--seconds 4]
                             [--systems ringdesk,rtpengine] [--rtpengine-threads N]
                             [--pin CPU] [--realtime-generator] [--json FILE]

`--pin CPU` gives each server that CPU alone (ours: this process; rtpengine: all its threads)
and the generator the others: the highest clean N is then what one core relays, measured
rather than derived from the CPU per frame. `--realtime-generator` (root) runs the generator
alone under SCHED_RR: on a slow or noisy machine it otherwise stalls first, and its lateness
would be counted against whichever server was being measured.

The control protocol's bencode is written out here (some forty lines) rather than taken from a
library: the bench needs five message shapes, and a dependency for that is not worth its review.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Union

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench import media as media_bench

ROOT = Path(__file__).resolve().parent.parent

Bencoded = Union[int, bytes, str, list["Bencoded"], dict[str, "Bencoded"]]  # noqa: UP007
STEPS = (100, 300, 500, 700, 900)
SYSTEMS = ("ringdesk", "rtpengine")
# rtpengine's media ports: below our MediaServer's default range (20000-40000) and the
# kernel's ephemeral ports, and away from the Debian service's own config (30000-40000).
RTPENGINE_PORT_MIN = 10000
# Offer and answer flags: keep the plain RTP/AVP offer as it is (no ICE, no SDES added), and
# rewrite the o= and session c= lines to rtpengine's address as a real deployment would.
FLAGS: dict[str, Bencoded] = {"ICE": "remove", "replace": ["origin", "session-connection"]}
SDP = (
    "v=0\r\no=- {session} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
)
_M_AUDIO = re.compile(rb"^m=audio (\d+) ", re.MULTILINE)


# --- bencode and the ng control protocol -----------------------------------------------------


def bencode(value: Bencoded) -> bytes:
    """Integers, byte strings (str as UTF-8), lists, dictionaries (keys sorted)."""
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(item) for item in value) + b"e"
    if isinstance(value, dict):
        items = sorted((key.encode(), item) for key, item in value.items())
        return b"d" + b"".join(bencode(key) + bencode(item) for key, item in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> Bencoded:
    """The inverse of bencode: strings come back as bytes, dictionary keys as str."""
    value, end = _bdecode(data, 0)
    if end != len(data):
        raise ValueError(f"trailing bytes after bencoded value at {end}")
    return value


def _bdecode(data: bytes, at: int) -> tuple[Bencoded, int]:
    kind = data[at : at + 1]
    if kind == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1 : end]), end + 1
    if kind in (b"l", b"d"):
        at += 1
        items: list[Bencoded] = []
        while data[at : at + 1] != b"e":
            if at >= len(data):
                raise ValueError("unterminated bencoded list or dictionary")
            item, at = _bdecode(data, at)
            items.append(item)
        if kind == b"l":
            return items, at + 1
        if len(items) % 2:
            raise ValueError("bencoded dictionary with a key and no value")
        mapping: dict[str, Bencoded] = {}
        for key, item in zip(items[0::2], items[1::2], strict=True):
            if not isinstance(key, bytes):
                raise ValueError("bencoded dictionary key that is not a string")
            mapping[key.decode()] = item
        return mapping, at + 1
    colon = data.index(b":", at)
    length = int(data[at:colon])
    start = colon + 1
    if start + length > len(data):
        raise ValueError("bencoded string runs past the end")
    return data[start : start + length], start + length


class NgClient:
    """rtpengine's ng protocol over UDP: `<cookie> <bencoded dictionary>` both ways."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))

    def command(self, message: dict[str, Bencoded]) -> dict[str, Bencoded]:
        cookie = secrets.token_hex(6).encode()
        self.sock.send(cookie + b" " + bencode(message))
        while True:  # a late reply to an earlier, timed-out command has another cookie
            reply = self.sock.recv(65535)
            got, _, body = reply.partition(b" ")
            if got == cookie:
                break
        answer = bdecode(body)
        if not isinstance(answer, dict):
            raise RuntimeError(f"rtpengine replied {answer!r}")
        if answer.get("result") not in (b"ok", b"pong"):
            raise RuntimeError(f"rtpengine: {message.get('command')!r} failed: {answer!r}")
        return answer

    def close(self) -> None:
        self.sock.close()


def sdp_port(answer: dict[str, Bencoded]) -> int:
    """The audio port rtpengine put in a rewritten SDP body."""
    body = answer.get("sdp")
    match = _M_AUDIO.search(body) if isinstance(body, bytes) else None
    if match is None:
        raise RuntimeError(f"no m=audio line in rtpengine's SDP: {body!r}")
    return int(match.group(1))


# --- rtpengine, the peer ---------------------------------------------------------------------


def ensure_rtpengine() -> str:
    """rtpengine's path, installing Debian's package first when missing (and keeping its
    system service, if the package started one, from running next to ours)."""
    installed = False
    if shutil.which("rtpengine") is None:
        env = dict(os.environ, RINGDESK_BENCH="1")
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "install-test-deps.sh")], env=env, check=True
        )
        installed = True
    path = shutil.which("rtpengine")
    if path is None:
        raise SystemExit("rtpengine is not installed and could not be installed")
    service = "rtpengine-daemon"
    if shutil.which("systemctl") and Path("/run/systemd/system").is_dir():
        active = subprocess.run(["systemctl", "is-active", "--quiet", service]).returncode == 0
        if active and installed:
            print(f"stopping and disabling the {service} service the package started")
            subprocess.run(["systemctl", "disable", "--now", service], check=False)
        elif active:
            print(f"note: the {service} service is running (its own ports; ours are apart)")
    return path


def rtpengine_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    text = (done.stdout + done.stderr).strip()
    return text.removeprefix("Version:").strip() or "unknown"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Rtpengine:
    """One rtpengine in the foreground, userspace forwarding only, on 127.0.0.1."""

    def __init__(self, binary: str, workdir: Path, threads: int | None, max_calls: int) -> None:
        self.ng_port = free_udp_port()
        # Two legs a call, an RTP and an RTCP port each; twice that for slack.
        port_max = RTPENGINE_PORT_MIN + max(9999, 8 * max_calls)
        self.command = [
            binary,
            "--config-file=none",  # not /etc/rtpengine/rtpengine.conf: ours is all here
            "--foreground",
            "--log-stderr",
            "--log-level=4",  # warnings and worse
            "--table=-1",  # no kernel forwarding: the userspace relay is what we compare
            "--interface=127.0.0.1",
            f"--listen-ng=127.0.0.1:{self.ng_port}",
            f"--port-min={RTPENGINE_PORT_MIN}",
            f"--port-max={port_max}",
            "--delete-delay=0",  # a deleted call's ports free at once for the next step
            f"--pidfile={workdir / 'rtpengine.pid'}",
        ]
        if threads is not None:
            self.command.append(f"--num-threads={threads}")
        self.log_path = workdir / "rtpengine.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir
        )
        self.ng = NgClient(self.ng_port, timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"rtpengine exited: {self.log_path.read_text()[-2000:]}")
            try:
                self.ng.command({"command": "ping"})
                break
            except (TimeoutError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise SystemExit("rtpengine did not answer ping within 10 s") from None
                time.sleep(0.1)
        self.ng.sock.settimeout(5.0)

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/task"))

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process (the kernel sums its threads into it)."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is field 3 (state): utime is field 14, stime field 15.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.ng.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


async def run_step_rtpengine(
    rtpengine: Rtpengine, calls: int, seconds: float, step: int
) -> dict[str, float]:
    """N calls through rtpengine, played by the same generator as ours."""
    process = await media_bench.spawn_generator(media_bench.__file__)
    assert process.stdin is not None and process.stdout is not None
    port = int(await process.stdout.readline())
    ng = rtpengine.ng
    ports: list[int] = []
    call_ids: list[str] = []
    try:
        for call in range(calls):
            call_id = f"rtp-peer-{step}-{call}"
            common: dict[str, Bencoded] = {"call-id": call_id, "from-tag": "a", **FLAGS}
            # Both phones are the generator's one socket.
            offer = ng.command(
                {**common, "command": "offer", "sdp": SDP.format(session=2 * call, port=port)}
            )
            call_ids.append(call_id)
            answer = ng.command(
                {
                    **common,
                    "command": "answer",
                    "to-tag": "b",
                    "sdp": SDP.format(session=2 * call + 1, port=port),
                }
            )
            # The offer's rewritten SDP goes to the callee: leg b sends to its port; the
            # answer's goes back to the caller: leg a sends to that one.
            ports += [sdp_port(answer), sdp_port(offer)]
        config = {"ports": ports, "seconds": seconds}
        process.stdin.write(json.dumps(config).encode() + b"\n")
        await process.stdin.drain()
        cpu_before = rtpengine.cpu_seconds()
        started = time.monotonic()
        line = await process.stdout.readline()
        wall = time.monotonic() - started
        cpu = rtpengine.cpu_seconds() - cpu_before
        await process.wait()
        if not line:
            raise SystemExit(f"the generator exited with {process.returncode} and no figures")
    finally:
        relayed = 0
        for call_id in call_ids:  # the delete's reply carries the call's packet counts
            deleted = ng.command({"command": "delete", "call-id": call_id, "from-tag": "a"})
            totals = deleted.get("totals")
            rtp = totals.get("RTP") if isinstance(totals, dict) else None
            packets = rtp.get("packets") if isinstance(rtp, dict) else None
            relayed += packets if isinstance(packets, int) else 0
        if process.returncode is None:
            process.kill()
            await process.wait()
    await asyncio.sleep(0.2)
    return media_bench.joined(json.loads(line), cpu, wall, relayed)


# --- the run ---------------------------------------------------------------------------------


HEADER = (
    f"{'system':<9} {'calls':>5} {'frames':>8} {'lost':>6} {'late>10ms':>10} "
    f"{'server-only':>11} {'worst ms':>9} {'server CPU':>10} {'gen CPU':>8} {'gen lag':>8} "
    f"{'us/frame':>9}"
)


def row(system: str, calls: int, r: dict[str, float]) -> str:
    return (
        f"{system:<9} {calls:>5} {int(r['received']):>8} {int(r['lost']):>6} "
        f"{r['late_pct']:>9.3f}% {r['server_pct']:>10.3f}% {r['worst_ms']:>9.1f} "
        f"{r['server_cpu_pct']:>9.0f}% {r['generator_cpu_pct']:>7.0f}% "
        f"{r['send_lag_ms']:>8.1f} {r['us_per_frame']:>9.2f}"
    )


def summary(results: Sequence[dict[str, float]]) -> dict[str, float]:
    """Highest clean N (under the target, and no unclean step below it), the median CPU per
    frame over the clean steps, and the calls one core relays at that cost."""
    best = _highest(results, "late_pct")
    clean = [r["us_per_frame"] for r in results if r["relayed_frames"] and r["calls"] <= best]
    cost = statistics.median(clean) if clean else 0.0
    per_core = 1e6 / cost / 100 if cost else 0.0
    return {
        "highest_clean_n": best,
        # the lateness the server adds (against the actual send time): a generator that
        # falls behind does not count against the server
        "highest_server_clean_n": _highest(results, "server_pct"),
        "us_per_frame": cost,
        "calls_per_core": per_core,
    }


def _highest(results: Sequence[dict[str, float]], key: str) -> int:
    best = 0
    for r in results:
        if r[key] >= media_bench.TARGET_PCT:
            break
        best = int(r["calls"])
    return best


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` on `cpus`."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), cpus)


async def bench(
    steps: Sequence[int],
    seconds: float,
    systems: Sequence[str],
    rtpengine: Rtpengine | None,
    server_cpu: int | None = None,
) -> dict[str, list[dict[str, float]]]:
    """`server_cpu`: the server (this process for ours, rtpengine's threads) on that CPU
    alone, the generator (and this process while rtpengine is measured) on the others."""
    results: dict[str, list[dict[str, float]]] = {s: [] for s in systems}
    failed = dict.fromkeys(systems, 0)
    everyone = set(range(os.cpu_count() or 1))
    print(HEADER, flush=True)
    for index, calls in enumerate(steps):
        for system in systems:
            if failed[system] >= 2:
                continue  # past its limit: the larger steps would only take time
            if system == "ringdesk":
                if server_cpu is not None:
                    pin(os.getpid(), {server_cpu})
                r = await media_bench.run_step(calls, seconds)
            else:
                assert rtpengine is not None
                if server_cpu is not None:
                    pin(os.getpid(), everyone - {server_cpu})
                r = await run_step_rtpengine(rtpengine, calls, seconds, index)
            r["calls"] = calls
            results[system].append(r)
            print(row(system, calls, r), flush=True)
            if r["late_pct"] < media_bench.TARGET_PCT:
                failed[system] = 0
            else:
                failed[system] = 2 if r["late_pct"] > 20 else failed[system] + 1
    return results


def report(results: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    sums = {system: summary(rs) for system, rs in results.items()}
    print()
    for system, s in sums.items():
        print(
            f"{system}: highest N with < {media_bench.TARGET_PCT} % of frames late by > 10 ms: "
            f"{int(s['highest_clean_n'])} calls ({int(s['highest_server_clean_n'])} counting "
            f"only the lateness the server adds); CPU per relayed frame {s['us_per_frame']:.2f} "
            f"us, so one core relays ~{s['calls_per_core']:.0f} calls"
        )
    ours, theirs = sums.get("ringdesk"), sums.get("rtpengine")
    if ours and theirs:

        def ratio(key: str) -> str:
            return f"{ours[key] / theirs[key]:.2f}" if theirs[key] else "n/a"

        print(
            f"ringdesk / rtpengine: highest clean N {ratio('highest_clean_n')} (server's own "
            f"lateness {ratio('highest_server_clean_n')}), calls per core "
            f"{ratio('calls_per_core')}"
        )
        theirs_by_n = {int(r["calls"]): r for r in results.get("rtpengine", [])}
        pairs = [
            (int(r["calls"]), theirs_by_n[int(r["calls"])]["us_per_frame"] / r["us_per_frame"])
            for r in results.get("ringdesk", [])
            if int(r["calls"]) in theirs_by_n and r["us_per_frame"]
        ]
        if pairs:
            shown = ", ".join(f"{n}: {q:.2f}" for n, q in pairs)
            print(
                f"rtpengine's CPU per frame / ours, step by step (above 1: we cost less): {shown}"
            )
            ours["step_ratios"] = {str(n): q for n, q in pairs}  # type: ignore[assignment]
    return sums


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default=",".join(map(str, STEPS)))
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per step")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--rtpengine-threads",
        type=int,
        default=1,
        help="rtpengine's --num-threads (0: its own default, at least 4)",
    )
    parser.add_argument(
        "--pin",
        type=int,
        metavar="CPU",
        help="each server on this CPU alone, the generator on the others: calls per core",
    )
    parser.add_argument(
        "--realtime-generator",
        action="store_true",
        help="the generator alone under SCHED_RR (root), the servers as they are: on a noisy "
        "machine the generator's stalls would otherwise decide the lateness",
    )
    parser.add_argument("--json", type=Path, help="write the per-step results here")
    args = parser.parse_args(argv)
    media_bench.GENERATOR_REALTIME = args.realtime_generator
    if args.pin is not None:
        if not 0 <= args.pin < (os.cpu_count() or 1) or (os.cpu_count() or 1) < 2:
            parser.error("--pin needs a CPU number on a machine with at least two")
        media_bench.GENERATOR_CPUS = set(range(os.cpu_count() or 1)) - {args.pin}
    steps = [int(n) for n in args.steps.split(",") if n]
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown or not steps:
        parser.error(f"unknown systems {sorted(unknown)}" if unknown else "no steps")
    media_bench.raise_nofile(6 * max(steps) + 256)
    factory = media_bench.loop_factory(False)
    load_before = os.getloadavg()
    load = ", ".join(f"{v:.2f}" for v in load_before)
    print(f"media relay against rtpengine: {machine()}")
    print(f"load average before the run {load}; {args.seconds:g} s measured per step")
    generator = [sys.executable, media_bench.__file__, "--generate"]
    print(f"generator: {shlex.join(generator)} (one process per step)")
    if "ringdesk" in systems:
        loop = "uvloop" if factory else "asyncio"
        print(f"ringdesk: MediaServer('127.0.0.1') in this process on {loop} (media.run_step)")
    with tempfile.TemporaryDirectory(prefix="rtp-peer-") as tmp:
        rtpengine = None
        if "rtpengine" in systems:
            binary = ensure_rtpengine()
            threads = args.rtpengine_threads or None
            rtpengine = Rtpengine(binary, Path(tmp), threads, max(steps))
        try:
            if rtpengine is not None:
                print(f"rtpengine {rtpengine_version(rtpengine.command[0])}: ", end="")
                print(shlex.join(rtpengine.command))
                print(f"rtpengine threads: {rtpengine.threads()} (pid {rtpengine.process.pid})")
                if args.pin is not None:
                    pin(rtpengine.process.pid, {args.pin})
            if args.pin is not None:
                others = sorted(media_bench.GENERATOR_CPUS or ())
                print(f"pinned: each server on CPU {args.pin}, the generator on CPUs {others}")
            if args.realtime_generator:
                print("the generator under SCHED_RR, the servers SCHED_OTHER")
            print(flush=True)
            with asyncio.Runner(loop_factory=factory) as runner:
                results = runner.run(bench(steps, args.seconds, systems, rtpengine, args.pin))
        finally:
            if rtpengine is not None:
                rtpengine.stop()
                warnings = rtpengine.log_path.read_text(errors="replace").strip()
                if warnings:
                    print(f"rtpengine's log:\n{warnings[-2000:]}")
    sums = report(results)
    if args.json is not None:
        out = {"steps": results, "summary": sums, "load_before": load_before}
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
