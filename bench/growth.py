"""How cost grows: the same work measured at growing sizes, each as a table, with a plot.

Four parts (`--parts`, all by default):

agents   A real `ringdesk serve` (SQLite) with N = 100, 1,000 and 10,000 agents, every one
         registered (digest auth) and logged in to CTI and Ready, with Auto Answer and the
         shortest wrap-up (1 s): the setup of bench/sip_cps.py, whose pieces it uses. The
         agents' rows (user, CTI assignment with a sealed phone password, service membership,
         a web session) are written straight into the database through the store's models
         before the server starts, with one argon2 hash shared by all: the admin API would
         hash a password and reload the whole configuration per agent. The phones register
         from one UDP socket with many REGISTERs in flight (each answers its own 401
         challenge); each agent then logs in to CTI and picks Ready through the API with its
         session's token (POST /api/cti/login, PUT /api/cti/status): the real path, without
         the web login's argon2 verification, which costs the same whatever N is.
         Per N: the server's RSS at start and once all are registered and Ready (memory per
         agent), its idle CPU, then K calls held up at once (SIPp -d) with the RSS peak of
         that step against the idle RSS just before (memory per call: signalling, the call's
         media endpoints and records; no RTP flows), then a fixed rate of calls each held
         500 ms (CPU per call of the server process, setup times).
frames   bench/media.py's relay step (its library function run_step, on uvloop) at 100, 300,
         500 and 700 concurrent relayed calls: server CPU per relayed frame, % late > 10 ms.
fanout   bench/ws_fanout.py's run at 100, 1,000 and 3,000 WebSocket clients: delivery p99.
routing  bench/route.py's engine figures at 1,000, 10,000 and 100,000 agents.

    python bench/growth.py [--parts agents,frames,fanout,routing] [--quick] [--json FILE]
                           [--plot PATH] [--agents 100,1000,10000] [--rate 50]

`--quick`: small sizes and short steps (a smoke run); its plot is written only with --plot.
A full run writes docs/benchmarks-growth.png unless --plot says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/growth.py` from anywhere

from tests.support.rtp import free_udp_port  # noqa: E402
from tests.support.sipp import SCENARIOS  # noqa: E402

from bench import agents as bench_agents  # noqa: E402
from bench import media, route, sip_cps, ws_fanout  # noqa: E402

FULL = {
    "agents": [100, 1_000, 10_000],
    "frames": [100, 300, 500, 700],
    "fanout": [100, 1_000, 3_000],
    "routing": [1_000, 10_000, 100_000],
}
QUICK = {
    "agents": [20, 100],
    "frames": [50, 100],
    "fanout": [50, 200],
    "routing": [1_000, 10_000],
}
PLOT = ROOT / "docs" / "benchmarks-growth.png"
# Every phone registers from the same address (one socket), and the bench's caller places
# every call from one address: far above what one real source sends. The gate still runs its
# buckets for every packet, with these rates it never cuts the bench's own traffic.


def machine() -> str:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs, {model}"


def load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def say(text: str = "") -> None:
    print(text, flush=True)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in header]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        say("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            say("  " + "  ".join("-" * w for w in widths))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# ---- agents: seeding, registering, Ready ---------------------------------------------------


def rss_kb(pid: int) -> int:
    """Resident memory of the process (Linux /proc, VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def steady_rss_kb(pid: int, seconds: float = 1.5) -> int:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(rss_kb(pid))
        time.sleep(0.25)
    return int(statistics.median(samples))


def uac_args(
    target: tuple[str, int], rate: float, calls: int, hold_ms: int, workdir: Path
) -> list[str]:
    """bench/sip_cps.py's SIPp caller with bench_customer.xml as it is (Ringdesk's 200 has a
    plain Contact), every call allowed up at once, each held `hold_ms`."""
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = SCENARIOS / "bench_customer.xml"
    return sip_cps.uac_args(
        scenario, target, rate, calls, calls / rate, workdir, hold_ms=hold_ms, limit=max(50, calls)
    )


def run_calls(
    args: list[str], workdir: Path, during: Callable[[], None] | None = None
) -> sip_cps.Step:
    """Run the caller to the end, calling `during` every 0.2 s meanwhile; SIPp's figures."""
    process = subprocess.Popen(
        args,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while process.poll() is None:
            if during is not None:
                during()
            time.sleep(0.2)
    finally:
        sip_cps.stop(process)
    rate, calls = float(args[args.index("-r") + 1]), int(args[args.index("-m") + 1])
    successful, failed = sip_cps._final_counts(workdir / "stat.csv")
    return sip_cps.Step(rate, calls, successful, failed, sip_cps._setup_times(workdir))


def most_calls_up(workdir: Path) -> int:
    """The highest CurrentCall SIPp logged (once a second) in the step's stat file."""
    best = 0
    with contextlib.suppress(OSError), (workdir / "stat.csv").open() as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            with contextlib.suppress(KeyError, ValueError, TypeError):
                best = max(best, int(row["CurrentCall"]))
    return best


@dataclass
class AgentsStep:
    agents: int
    seed_s: float = 0.0
    start_s: float = 0.0
    register_s: float = 0.0
    register_retransmits: int = 0
    register_cpu_us: float = 0.0  # server CPU per phone registered (two REGISTERs)
    ready_s: float = 0.0
    ready_agents: int = 0
    ready_cpu_us: float = 0.0  # server CPU per agent logged in and Ready (two requests)
    rss_start_mb: float = 0.0
    rss_ready_mb: float = 0.0
    kb_per_agent: float = 0.0
    idle_cpu_pct: float = 0.0
    held_calls: int = 0
    hold_ok: int = 0
    rss_idle_mb: float = 0.0
    rss_peak_mb: float = 0.0
    kb_per_call: float = 0.0
    rate: float = 0.0
    calls: int = 0
    ok: int = 0
    failed: int = 0
    cpu_ms_per_call: float = 0.0
    setup_p50_ms: float = 0.0
    setup_p99_ms: float = 0.0
    after: dict[str, int] = field(default_factory=dict)
    total_s: float = 0.0


async def agents_step(
    count: int, rate: float, seconds: float, hold_target: int, workdir: Path
) -> AgentsStep:
    began = time.monotonic()
    out = AgentsStep(count)
    server, agents, out.seed_s = bench_agents.start_seeded(
        workdir / "ringdesk", count, sip_cps.BENCH_GATE_ENV, sip_cps.SERVICE_ID
    )
    out.start_s = time.monotonic() - began - out.seed_s
    assert server.process is not None
    pid = server.process.pid
    uas: subprocess.Popen[bytes] | None = None
    try:
        say(f"  [{count}] server: {' '.join(map(str, server.process.args))}")  # type: ignore[arg-type]
        say(
            f"  [{count}] seeded {count} agents in {out.seed_s:.1f} s, "
            f"started in {out.start_s:.1f} s"
        )
        sip_cps.minimum_wrap_up(server)
        out.rss_start_mb = steady_rss_kb(pid) / 1024
        agent_port = free_udp_port()
        target = (server.sip_host, server.sip_port)
        cpu0, t0 = sip_cps.cpu_seconds([pid]), time.monotonic()
        out.register_retransmits = bench_agents.register_phones(
            target, agents, agent_port, bench_agents.REGISTER_WINDOW
        )
        out.register_s = time.monotonic() - t0
        out.register_cpu_us = (sip_cps.cpu_seconds([pid]) - cpu0) * 1e6 / count
        say(
            f"  [{count}] {count} phones registered in {out.register_s:.1f} s "
            f"({out.register_retransmits} retransmissions)"
        )
        uas = sip_cps.start_uas(agent_port, workdir / "agent_uas")
        cpu0, t0 = sip_cps.cpu_seconds([pid]), time.monotonic()
        out.ready_agents = await bench_agents.make_ready(server.base_url, agents, 16)
        out.ready_s = time.monotonic() - t0
        out.ready_cpu_us = (sip_cps.cpu_seconds([pid]) - cpu0) * 1e6 / count
        say(f"  [{count}] {out.ready_agents} agents Ready in {out.ready_s:.1f} s")
        await asyncio.sleep(2)
        out.rss_ready_mb = steady_rss_kb(pid) / 1024
        out.kb_per_agent = (out.rss_ready_mb - out.rss_start_mb) * 1024 / count
        cpu0 = sip_cps.cpu_seconds([pid])
        await asyncio.sleep(5)
        out.idle_cpu_pct = (sip_cps.cpu_seconds([pid]) - cpu0) * 100 / 5

        loop = asyncio.get_running_loop()
        # A few calls first: code paths and caches the first call warms are not per call.
        warm = uac_args(target, 10, 20, sip_cps.HOLD_MS, workdir / "warm")
        await loop.run_in_executor(None, run_calls, warm, workdir / "warm")
        await asyncio.sleep(3)

        # K calls up at once: placed at 100/s, each held until the last is up, plus 4 s.
        held = max(1, min(hold_target, int(out.ready_agents * 0.8)))
        hold_ms = int((held / 100 + 4) * 1000)
        args = uac_args(target, 100, held, hold_ms, workdir / "hold")
        say(f"  [{count}] held calls: {' '.join(args)}")
        idle = steady_rss_kb(pid)
        peak = idle

        def sample() -> None:
            nonlocal peak
            peak = max(peak, rss_kb(pid))

        hold = await loop.run_in_executor(None, run_calls, args, workdir / "hold", sample)
        out.held_calls = most_calls_up(workdir / "hold")
        out.hold_ok = hold.successful
        out.rss_idle_mb, out.rss_peak_mb = idle / 1024, peak / 1024
        out.kb_per_call = (peak - idle) / max(1, out.held_calls)
        await asyncio.sleep(3)  # their wrap-up

        calls = max(1, int(rate * seconds))
        args = uac_args(target, rate, calls, sip_cps.HOLD_MS, workdir / "rate")
        say(f"  [{count}] calls at a fixed rate: {' '.join(args)}")
        cpu0 = sip_cps.cpu_seconds([pid])
        step = await loop.run_in_executor(None, run_calls, args, workdir / "rate")
        out.rate, out.calls, out.ok, out.failed = rate, calls, step.successful, step.failed
        out.cpu_ms_per_call = (sip_cps.cpu_seconds([pid]) - cpu0) * 1000 / max(1, step.successful)
        out.setup_p50_ms, out.setup_p99_ms = step.percentile(50), step.percentile(99)
        await asyncio.sleep(3)
        out.after = sip_cps.board_statuses(server)
        say(f"  [{count}] bench agents by status after the run: {out.after}")
    finally:
        sip_cps.stop(uas)
        server.stop()
    out.total_s = time.monotonic() - began
    return out


def agents_part(
    sizes: list[int], rate: float, seconds: float, hold_target: int
) -> list[dict[str, Any]]:
    say(
        f"Per N: N agents seeded, registered, logged in and Ready (Auto Answer, 1 s wrap-up); "
        f"up to {hold_target} calls held at once (memory per call); {rate:g} calls/s for "
        f"{seconds:g} s, each held {sip_cps.HOLD_MS} ms (CPU per call)"
    )
    results: list[AgentsStep] = []
    with tempfile.TemporaryDirectory(prefix="growth-agents-") as tmp:
        for count in sizes:
            say(f"  load average before N={count}: {load()}")
            step = asyncio.run(
                agents_step(count, rate, seconds, hold_target, Path(tmp) / str(count))
            )
            results.append(step)
            say(f"  [{count}] took {step.total_s:.0f} s")
    say()
    table(
        ["agents", "register s", "reg CPU us", "ready s", "RSS start MB", "RSS ready MB",
         "KB/agent", "idle CPU %"],
        [
            [r.agents, r.register_s, r.register_cpu_us, r.ready_s, r.rss_start_mb,
             r.rss_ready_mb, r.kb_per_agent, r.idle_cpu_pct]
            for r in results
        ],
    )  # fmt: skip
    say()
    table(
        ["agents", "held up", "RSS idle MB", "RSS peak MB", "KB/call", "calls/s", "ok",
         "failed", "CPU ms/call", "setup p50 ms", "setup p99 ms"],
        [
            [r.agents, r.held_calls, r.rss_idle_mb, r.rss_peak_mb, r.kb_per_call, r.rate,
             r.ok, r.failed, r.cpu_ms_per_call, r.setup_p50_ms, r.setup_p99_ms]
            for r in results
        ],
    )  # fmt: skip
    return [asdict(r) for r in results]


# ---- frames, fan-out, routing -------------------------------------------------------------


def frames_part(sizes: list[int], seconds: float) -> list[dict[str, Any]]:
    factory = media.loop_factory(False)
    media.raise_nofile(6 * max(sizes) + 256)
    say(
        f"bench/media.py run_step(calls, {seconds:g}) on {'uvloop' if factory else 'asyncio'}; "
        f"generator: {sys.executable} {media.__file__} --generate"
    )
    rows = []
    with asyncio.Runner(loop_factory=factory) as runner:
        for calls in sizes:
            say(f"  load average before {calls} calls: {load()}")
            r = runner.run(media.run_step(calls, seconds))
            rows.append({"calls": calls, **r})
    table(
        ["calls", "frames", "lost", "late>10ms %", "server-only %", "server CPU %", "us/frame"],
        [
            [r["calls"], int(r["relayed_frames"]), int(r["lost"]), r["late_pct"],
             r["server_pct"], r["server_cpu_pct"], r["us_per_frame"]]
            for r in rows
        ],
    )  # fmt: skip
    return rows


def fanout_part(sizes: list[int], rounds: int, modes: list[str]) -> list[dict[str, Any]]:
    media.raise_nofile(2 * max(sizes) + 1024)
    say(
        f"bench/ws_fanout.py fanout(mode, clients, {rounds}): a real server, clients in 2 processes"
    )
    rows = []
    for mode in modes:
        for clients in sizes:
            say(f"  load average before {mode} x {clients}: {load()}")
            r = ws_fanout.fanout(mode, clients, rounds)
            r.pop("latencies")
            rows.append(r)
    table(
        ["audience", "clients", "deliveries", "missing", "p50 ms", "p99 ms", "max ms",
         "CPU us/delivery"],
        [
            [r["mode"], r["clients"], r["deliveries"], r["missing"], r["p50_ms"], r["p99_ms"],
             r["max_ms"], r["server_us_per_delivery"]]
            for r in rows
        ],
    )  # fmt: skip
    return rows


def routing_part(sizes: list[int], iterations: int) -> list[dict[str, Any]]:
    say(f"bench/route.py measure(agents, {iterations}): the pure engine, one core, this process")
    rows = []
    for agents in sizes:
        say(f"  load average before {agents} agents: {load()}")
        started = time.monotonic()
        figures = route.measure(agents, iterations)
        row: dict[str, Any] = {"agents": agents, "seconds": time.monotonic() - started}
        for key, figure in figures.items():
            row[f"{key}_median_us"] = figure.median_us
            row[f"{key}_p99_us"] = figure.p99_us
        rows.append(row)
    table(
        ["agents", "route med", "route p99", "status med", "status p99", "plain med",
         "plain p99", "arrival med", "arrival p99", "took s"],
        [
            [r["agents"], r["routing_median_us"], r["routing_p99_us"], r["status_median_us"],
             r["status_p99_us"], r["plain_median_us"], r["plain_p99_us"],
             r["arrival_median_us"], r["arrival_p99_us"], r["seconds"]]
            for r in rows
        ],
    )  # fmt: skip
    say("  (us; route: Ready -> offer with 1,000 waiting calls; arrival: with every agent Ready)")
    return rows


# ---- plot ---------------------------------------------------------------------------------


def plot(results: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5))
    (a, b), (c, d) = axes

    def empty(ax: Any, name: str) -> None:
        ax.set_title(name, fontsize=9)
        ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)

    rows = results.get("agents")
    if rows:
        x = [r["agents"] for r in rows]
        a.plot(x, [r["cpu_ms_per_call"] for r in rows], "o-", label="CPU ms per call")
        a.plot(x, [r["kb_per_call"] for r in rows], "s-", label="KB per call held")
        a.plot(x, [r["kb_per_agent"] for r in rows], "^-", label="KB per agent")
        a.set_xscale("log")
        a.set_ylim(bottom=0)
        a.set_xlabel("registered, Ready agents")
        a.set_title("Server: CPU and memory per call", fontsize=9)
        a.legend(fontsize=7)
    else:
        empty(a, "Server: CPU and memory per call")
    rows = results.get("frames")
    if rows:
        x = [r["calls"] for r in rows]
        b.plot(x, [r["us_per_frame"] for r in rows], "o-", label="us per frame")
        b.set_xlabel("concurrent relayed calls")
        b.set_ylabel("server CPU us per frame")
        b.set_ylim(bottom=0)
        twin = b.twinx()
        late = [r["late_pct"] for r in rows]
        twin.plot(x, late, "s--", color="tab:red", label="late %")
        twin.set_ylim(0, max(1.0, 1.2 * max(late)))
        twin.set_ylabel("% late > 10 ms", color="tab:red")
        b.set_title("Media relay (uvloop)", fontsize=9)
    else:
        empty(b, "Media relay (uvloop)")
    rows = results.get("fanout")
    if rows:
        for mode in sorted({r["mode"] for r in rows}):
            mine = [r for r in rows if r["mode"] == mode]
            c.plot([r["clients"] for r in mine], [r["p99_ms"] for r in mine], "o-", label=mode)
        c.set_xscale("log")
        c.set_xlabel("WebSocket clients")
        c.set_ylabel("delivery p99 ms")
        c.set_title("Status change fan-out", fontsize=9)
        c.legend(fontsize=7)
    else:
        empty(c, "Status change fan-out")
    rows = results.get("routing")
    if rows:
        x = [r["agents"] for r in rows]
        for key, label in (("routing", "Ready -> offer"), ("arrival", "call arrival")):
            d.plot(x, [r[f"{key}_median_us"] for r in rows], "o-", label=f"{label} median")
            d.plot(x, [r[f"{key}_p99_us"] for r in rows], "s--", label=f"{label} p99")
        d.set_xscale("log")
        d.set_yscale("log")
        d.set_xlabel("agents")
        d.set_ylabel("us")
        d.set_title("Routing decision (engine)", fontsize=9)
        d.legend(fontsize=7)
    else:
        empty(d, "Routing decision (engine)")
    for ax in (a, b, c, d):
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ---- main ---------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="agents,frames,fanout,routing")
    parser.add_argument("--quick", action="store_true", help="small sizes, short steps")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--plot", type=Path, help=f"the plot (default, full run: {PLOT})")
    parser.add_argument("--agents", type=_ints, help="agent counts (default 100,1000,10000)")
    parser.add_argument("--rate", type=float, help="calls/s of the CPU step (default 50)")
    parser.add_argument("--seconds", type=float, help="length of the call step (default 10)")
    parser.add_argument("--held", type=int, help="calls held at once at most (default 500)")
    parser.add_argument("--frames", type=_ints, help="concurrent calls (default 100,...,700)")
    parser.add_argument("--clients", type=_ints, help="WebSocket clients (default 100,...)")
    parser.add_argument("--routing", type=_ints, help="engine agents (default 1000,...)")
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(FULL)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    command = " ".join([Path(sys.executable).name, "bench/growth.py", *argv])
    results: dict[str, Any] = {"machine": machine(), "command": command, "loads": {}}
    say(f"# growth: {machine()}; python {sys.version.split()[0]}")
    say(f"# command: {command}")
    timings: dict[str, float] = {}
    for part in parts:
        say(f"\n## {part}  (load average before: {load()})")
        results["loads"][part] = load()
        started = time.monotonic()
        if part == "agents":
            results[part] = agents_part(
                args.agents or sizes["agents"],
                args.rate or (10 if args.quick else 50),
                args.seconds or (3 if args.quick else 10),
                args.held or (50 if args.quick else 500),
            )
        elif part == "frames":
            results[part] = frames_part(args.frames or sizes["frames"], 2 if args.quick else 4)
        elif part == "fanout":
            modes = ["agent"] if args.quick else ["agent", "admin"]
            results[part] = fanout_part(
                args.clients or sizes["fanout"], 3 if args.quick else 20, modes
            )
        else:
            results[part] = routing_part(
                args.routing or sizes["routing"], 2_000 if args.quick else route.ITERATIONS
            )
        timings[part] = time.monotonic() - started
        say(f"## {part} took {timings[part]:.0f} s")
    results["seconds"] = timings
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        say(f"figures written to {args.json}")
    path = args.plot or (None if args.quick else PLOT)
    if path is not None:
        plot(results, path, f"Ringdesk: how cost grows ({machine()})")
        say(f"plot written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
