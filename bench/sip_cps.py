"""Call setup rate of the whole switch, driven by SIPp, with Kamailio and sippy as references.

Ringdesk: a `ringdesk serve` subprocess (SQLite in a temp dir) with AGENTS (1,000) extra agents
written into its database before it starts (bench/agents.py), all registered (digest auth) to
one SIPp UAS that answers at once. Every bench agent has Auto Answer on, and the CTI setting
wrap_up_seconds is set to its minimum (1 s), so once the agents are logged in and Ready no API
request is made per call: the engine answers each offer in the step that makes it, and after
the call's wrap-up puts the agent back to Ready by itself. A SIPp UAC then calls the service's
inbound number at increasing rates; each step places RATE x SECONDS calls, each held HOLD_MS.

A call therefore costs the switch: INVITE, queue, offer and answer, the agent's INVITE
(auto-answer), the bridge, two BYEs, the database writes of the call and its ticket, and the
wrap-up timer. An agent is busy for about HOLD_MS + 1 s per call, so AGENTS bounds the rate at
roughly AGENTS / 1.6 s; beyond it calls queue (SIPp waits up to 15 s for the answer).

Kamailio: a transaction-stateful proxy (bench/kamailio.cfg, tm) relaying the same SIPp calls to
a SIPp UAS, measured on the same machine in the same run. Installed (Debian package) by
scripts/install-test-deps.sh with RINGDESK_BENCH=1. It listens on two sockets, each relaying to
its own SIPp UAS, so that `--kamailio-pairs 2` can drive it from two SIPp UAC processes at half
the rate each: where one pair stops and two go on, the generator was the limit, not Kamailio.
The same Kamailio (both sockets, CHILDREN workers on each) serves the 1-pair sweep.

sippy: the Python B2BUA of the `sippy` package (SIPPY_VERSION, its `b2bua` program: the full
B2BUA, with RADIUS authentication and accounting off and a static route to a SIPp UAS, no RTP
proxy), installed when missing into its own virtualenv (SIPPY_VENV), never the project's. Its
per-message log is off (SIPLOG_LVL=WARN), as Kamailio's is (debug=0).

Every system gets the same SIPp UAC calls (customer_scenario: bench_customer.xml, ACK and BYE
sent to the 200's Contact URI) and each step reports the system's own CPU time per call: the
server process for Ringdesk, Kamailio's processes, sippy's process (each with its children).

The figures per system: the highest rate whose step had zero failed calls and a p90 call setup
time (INVITE to 200) within `--p90-ms` (100 ms), and the highest with zero failed calls alone.
A sweep stops at its first step with a failed call; slow setups do not stop it.

The SIP gate (switch/gate.py) is on, as in production, with per-source rates raised for the
bench's own sources: its SIPp UAC places every call from one address and its 1,000 phones
register from one address too, far above what one real source may send. `--gate off` measures
the switch without it. `--flood N` sends N REGISTERs a second from another loopback address
(127.0.0.2) during the call steps: the gate cuts and bans that source, and the step shows what
the flood still costs the calls (CPU per call and setup time). `--server-cpu N` pins the server
to CPU N and this process, SIPp and the flood to the others, so that on a small machine the
generators do not compete with the server for its core.

    python bench/sip_cps.py [--systems ringdesk,kamailio,sippy] [--rates 50,100,...]
                            [--kamailio-rates ...] [--kamailio-pairs 1,2] [--sippy-rates ...]
                            [--seconds 10] [--agents 1000] [--p90-ms 100] [--json FILE]
                            [--gate on|off] [--flood 10000] [--server-cpu 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import math
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/sip_cps.py` from anywhere

from tests.support.rtp import free_udp_port  # noqa: E402
from tests.support.server import RunningServer  # noqa: E402
from tests.support.sipp import SCENARIOS, sipp_binary  # noqa: E402

from bench import agents as bench_agents  # noqa: E402

FLOOD_SOURCE = "127.0.0.2"
# The UAC plays the carrier: it calls from this address, listed as a trunk source (the demo
# takes calls from its trunk only), so the per-source call limit does not apply to it.
UAC_SOURCE = "127.0.0.3"
# The bench's own sources send far more than one phone or customer would; raised so the gate
# still runs its buckets for every packet but never cuts the bench's own traffic.
BENCH_GATE_ENV = {
    "RINGDESK_SIP_RATE_REGISTER": "2000",
    "RINGDESK_SIP_RATE_INVITE": "2000",
    "RINGDESK_SIP_RATE_OTHER": "5000",
}

INBOUND = "5550100"
SERVICE_ID = 1
HOLD_MS = 500
SYSTEMS = ("ringdesk", "kamailio", "sippy")

SIPPY_VERSION = "2.5.0"
SIPPY_VENV = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "ringdesk-bench"
    / "sippy-venv"
)
# sippy's SipLogger writes every message it receives to stderr at INFO; WARN keeps errors only.
SIPPY_ENV = {"SIPLOG_LVL": "WARN"}


@dataclass
class Step:
    rate: float
    calls: int
    successful: int
    failed: int
    setup_ms: list[float]  # INVITE -> 200, per call
    cpu_ms_per_call: float | None = None  # the measured system's CPU (user+system) per call
    unexpected: int = 0  # messages SIPp did not expect (logged, the call went on)

    @property
    def clean(self) -> bool:
        return self.failed == 0 and self.successful == self.calls

    def percentile(self, p: float) -> float:
        if not self.setup_ms:
            return float("nan")
        ordered = sorted(self.setup_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def line(self) -> str:
        return (
            f"  {self.rate:7.1f} cps  {self.successful:5d} ok {self.failed:4d} failed   setup "
            f"p50 {self.percentile(50):7.1f} ms  p90 {self.percentile(90):7.1f} ms  "
            f"p99 {self.percentile(99):7.1f} ms"
            + ("" if self.cpu_ms_per_call is None else f"  CPU {self.cpu_ms_per_call:.2f} ms/call")
            + (f"  ({self.unexpected} unexpected messages)" if self.unexpected else "")
        )


@dataclass
class Sweep:
    """One system's steps, driven by `pairs` SIPp UAC/UAS pairs."""

    system: str
    pairs: int
    steps: list[Step] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.system}, {self.pairs} pair" + ("s" if self.pairs > 1 else "")


def machine() -> str:
    model = "unknown model"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cpus, {model}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def section(title: str) -> None:
    print(f"## {title}")
    print(f"machine: {machine()}; load average before: {load_average()}", flush=True)


def show_command(who: str, args: list[str], env: dict[str, str] | None = None) -> None:
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    print(f"{who}: {prefix + ' ' if prefix else ''}{shlex.join(args)}", flush=True)


# ---- SIPp runs --------------------------------------------------------------------------------

# The 200's Contact URI, whatever stands around it: sippy answers with a display name.
_CONTACT_EREG = (
    '<recv response="200" rrs="true" rtd="1">\n'
    "    <action>\n"
    '      <ereg regexp="sip:[^>]*" search_in="hdr" header="Contact:" check_it="true"'
    ' assign_to="contact"/>\n'
    "    </action>\n"
    "  </recv>"
)


def customer_scenario(workdir: Path) -> Path:
    """bench_customer.xml with ACK and BYE sent to the URI inside the 200's Contact.

    SIPp's [next_url] is the Contact header's value as received, display name included: to
    sippy's `Contact: Anonymous <sip:...>` (valid SIP) it sends `ACK Anonymous <sip:...>`, which
    sippy cannot parse, and as SIPp takes any 200 (a retransmitted one of the INVITE) for the
    BYE's, such calls still count as successful. Used for every system alike."""
    text = (SCENARIOS / "bench_customer.xml").read_text()
    recv = '<recv response="200" rrs="true" rtd="1"/>'
    if text.count(recv) != 1 or text.count("[next_url]") != 2:
        raise SystemExit("bench_customer.xml changed: update customer_scenario()")
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "bench_customer_contact.xml"
    path.write_text(text.replace(recv, _CONTACT_EREG).replace("[next_url]", "[$contact]"))
    return path


def uac_args(
    scenario: Path,
    target: tuple[str, int],
    rate: float,
    calls: int,
    seconds: float,
    workdir: Path,
    *,
    hold_ms: int = HOLD_MS,
    limit: int | None = None,
) -> list[str]:
    """The SIPp caller of a step: `calls` at `rate` over `seconds`, each held `hold_ms`, at
    most `limit` at once (default 20 s worth of calls)."""
    return [
        sipp_binary(),
        "-sf",
        str(scenario),
        "-s",
        INBOUND,
        "-i",
        UAC_SOURCE,
        "-p",
        str(free_udp_port()),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_udp_port(even=True)),
        "-r",
        f"{rate:g}",
        "-m",
        str(calls),
        "-l",
        str(limit if limit is not None else max(50, int(rate * 20))),
        "-d",
        str(hold_ms),
        "-recv_timeout",
        "15000",
        # An unexpected message (a late 100 Trying after the 200, as sippy sends now and then)
        # is logged and counted (Step.unexpected), not taken for a failed call: a phone ignores
        # it. A call still fails when what it waits for does not come.
        "-default_behaviors",
        "all,-abortunexp",
        "-timeout",
        f"{seconds + hold_ms / 1000 + 60:.0f}",  # the step, the hold, the last setups (15 s)
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(workdir / "stat.csv"),
        "-fd",
        "1",
        "-trace_rtt",
        "-rtt_freq",
        "1",
        "-trace_err",
        "-error_file",
        str(workdir / "errors.log"),
        f"{target[0]}:{target[1]}",
    ]


def run_uacs(
    scenario: Path,
    targets: list[tuple[str, int]],
    rate: float,
    seconds: float,
    workdir: Path,
    *,
    show: bool = False,
) -> Step:
    """Place rate x seconds calls at `rate` per second, shared by one SIPp UAC per target (each
    at rate / len(targets), from its own port); their counts summed, their setup times merged."""
    each = rate / len(targets)
    calls = max(1, int(each * seconds))
    processes = []
    for n, target in enumerate(targets):
        uac_dir = workdir / f"uac{n + 1}" if len(targets) > 1 else workdir
        uac_dir.mkdir(parents=True, exist_ok=True)
        args = uac_args(scenario, target, each, calls, seconds, uac_dir)
        if show:
            show_command(f"sipp UAC {n + 1} (first step; later -r/-m/-l and ports change)", args)
        processes.append(
            (
                uac_dir,
                subprocess.Popen(
                    args,
                    cwd=uac_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
            )
        )
    step = Step(rate, 0, 0, 0, [])
    deadline = time.monotonic() + seconds + 120
    for uac_dir, process in processes:
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        successful, failed = _final_counts(uac_dir / "stat.csv")
        step.calls += calls
        step.successful += successful
        step.failed += failed
        step.setup_ms += _setup_times(uac_dir)
        step.unexpected += _unexpected(uac_dir / "errors.log")
    return step


def _unexpected(error_file: Path) -> int:
    try:
        text = error_file.read_text(errors="replace")
    except OSError:
        return 0
    return text.count("Continuing call on unexpected message")


def _final_counts(stat_file: Path) -> tuple[int, int]:
    if not stat_file.exists():
        return 0, 0
    with stat_file.open() as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    if len(rows) < 2:
        return 0, 0
    header, last = rows[0], rows[-1]
    value = dict(zip(header, last, strict=False))
    return int(value.get("SuccessfulCall(C)", 0)), int(value.get("FailedCall(C)", 0))


def _setup_times(workdir: Path) -> list[float]:
    """Response time 1 (INVITE -> 200) of every call, from SIPp's -trace_rtt file."""
    out: list[float] = []
    for path in workdir.glob("*_rtt.csv"):
        with path.open() as handle:
            for row in csv.reader(handle, delimiter=";"):
                if len(row) >= 3 and row[2].strip() == "1":
                    try:
                        out.append(float(row[1]))
                    except ValueError:
                        continue
    return out


def start_uas(port: int, workdir: Path, who: str = "sipp UAS") -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        sipp_binary(),
        "-sf",
        str(SCENARIOS / "agent_uas.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_udp_port(even=True)),
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(workdir / "uas_errors.log"),
    ]
    show_command(who, args)
    return subprocess.Popen(
        args,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _stat(pid: int) -> list[str]:
    # Fields after the command name: state is [0], ppid [1], utime [11], stime [12].
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of these processes and their children (Linux /proc)."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = _stat(int(entry.name))
            except OSError:
                continue  # exited meanwhile
    family, grown = set(pids), True
    while grown:  # Kamailio's worker processes are children of the main one
        more = {pid for pid, f in stats.items() if int(f[1]) in family} - family
        family |= more
        grown = bool(more)
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(stats[p][11]) + int(stats[p][12]) for p in family if p in stats) / ticks


def sweep(
    scenario: Path,
    targets: list[tuple[str, int]],
    rates: list[float],
    seconds: float,
    workdir: Path,
    pids: list[int] | None = None,
) -> list[Step]:
    """Rates in increasing order until the first step with a failed call (a slow step goes on).

    With `pids`, each step also reports those processes' CPU time per successful call."""
    steps = []
    for n, rate in enumerate(rates):
        before = cpu_seconds(pids) if pids else 0.0
        step = run_uacs(scenario, targets, rate, seconds, workdir / f"rate-{rate:g}", show=n == 0)
        if pids and step.successful:
            step.cpu_ms_per_call = (cpu_seconds(pids) - before) * 1000 / step.successful
        print(step.line(), flush=True)
        steps.append(step)
        if not step.clean:
            break
    return steps


def best(steps: list[Step], *, p90_ms: float | None = None) -> Step | None:
    """The highest clean rate; with `p90_ms`, also with 90 % of setups faster than that."""
    clean = [s for s in steps if s.clean and (p90_ms is None or s.percentile(90) <= p90_ms)]
    return max(clean, key=lambda s: s.rate) if clean else None


# ---- Ringdesk: agents, registration, the answering driver ------------------------------------


def minimum_wrap_up(server: RunningServer) -> None:
    """Wrap-up ends by itself after the shortest time allowed: agents need no Ready click. The
    UAC's address is the trunk's, and the call limits are raised far above the bench's calls in
    flight (hundreds at once; the defaults suit a contact center, not a load test)."""
    token = server.login("admin", "admin-demo")
    with server.client(token) as http:
        body = {k: v for k, v in http.get("/api/admin/cti/settings").json().items() if k != "id"}
        body["wrap_up_seconds"] = 1
        body["max_calls_total"] = 100_000
        body["max_queued_per_service"] = 100_000
        http.put("/api/admin/cti/settings", json=body).raise_for_status()
    server.trust_source(UAC_SOURCE)


def board_statuses(server: RunningServer) -> dict[str, int]:
    """How many bench agents are in each status (after a run: who is not back to Ready)."""
    token = server.login("admin", "admin-demo")
    with server.client(token) as http:
        counts: dict[str, int] = {}
        for agent in http.get("/api/board").json()["agents"]:
            if agent["name"].startswith("Bench Agent"):
                counts[agent["status"]] = counts.get(agent["status"], 0) + 1
        return counts


def flood(host: str, port: int, rate: float, seconds: float) -> None:
    """REGISTERs from FLOOD_SOURCE at `rate` a second for `seconds` (a separate process), then
    print how many were sent and answered."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((FLOOD_SOURCE, 0))
    sock.setblocking(False)
    local = sock.getsockname()[1]
    messages = [
        (
            f"REGISTER sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {FLOOD_SOURCE}:{local};branch=z9hG4bKflood{n};rport\r\n"
            f"From: <sip:{n}@{host}>;tag=f{n}\r\nTo: <sip:{n}@{host}>\r\n"
            f"Call-ID: flood-{n}\r\nCSeq: 1 REGISTER\r\n"
            f"Contact: <sip:{n}@{FLOOD_SOURCE}:{local}>\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        for n in range(1000, 2000)
    ]
    sent = answered = 0
    start = time.monotonic()
    tick = 0.01
    stopped = False

    def stop_now(*_: object) -> None:
        nonlocal stopped
        stopped = True

    signal.signal(signal.SIGTERM, stop_now)  # the bench stops us: still say what we sent
    while not stopped and (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(max(0, due)):
            with contextlib.suppress(BlockingIOError):  # a full buffer: that one is lost
                sock.sendto(messages[sent % len(messages)], (host, port))
            sent += 1
        while True:
            try:
                sock.recv(65535)
                answered += 1
            except BlockingIOError:
                break
        time.sleep(tick)
    took = time.monotonic() - start
    print(
        f"flood: {sent} REGISTERs from {FLOOD_SOURCE} in {took:.0f} s, {answered} answered",
        flush=True,
    )


def start_flood(target: tuple[str, int], rate: float, seconds: float) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, "--flood-worker", target[0], str(target[1])]
    return subprocess.Popen([*args, f"{rate:g}", f"{seconds:g}"])


def pin_server(pid: int, cpu: int) -> None:
    """The server's threads on `cpu` alone, this process and what it starts later (SIPp, the
    flood) on the others: on a 2-core machine the load generators then do not take the
    server's core, and its figures are its own."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), {cpu})
    print(f"ringdesk: server pinned to CPU {cpu}, the load generators to the others")


def sip_bans(server: RunningServer) -> list[dict[str, object]]:
    token = server.login("admin", "admin-demo")
    with server.client(token) as http:
        bans: list[dict[str, object]] = http.get("/api/admin/sip/bans").json()
        return bans


async def _ringdesk(args: argparse.Namespace, workdir: Path, scenario: Path) -> Sweep:
    env = dict(BENCH_GATE_ENV, RINGDESK_SIP_GATE=args.gate)
    server, agents, seeded = bench_agents.start_seeded(
        workdir / "ringdesk", args.agents, env, SERVICE_ID
    )
    assert server.process is not None and isinstance(server.process.args, list)  # started
    shown = dict(env, **bench_agents.REGISTER_RATE_ENV)
    show_command("ringdesk server", [str(a) for a in server.process.args], shown)
    print(f"ringdesk: {len(agents)} bench agents written to its database in {seeded:.1f} s")
    if args.server_cpu is not None:
        pin_server(server.process.pid, args.server_cpu)
    uas: subprocess.Popen[bytes] | None = None
    flooder: subprocess.Popen[bytes] | None = None
    try:
        agent_port = free_udp_port()
        minimum_wrap_up(server)
        target = (server.sip_host, server.sip_port)
        bench_agents.register_phones(target, agents, agent_port, bench_agents.REGISTER_WINDOW)
        uas = start_uas(agent_port, workdir / "agent_uas", "sipp UAS (every agent's phone)")
        ready = await bench_agents.make_ready(server.base_url, agents, 16)
        if ready != len(agents):
            raise SystemExit(f"only {ready} of {len(agents)} bench agents are Ready")
        print(
            f"ringdesk: {len(agents)} agents Ready with Auto Answer and 1 s wrap-up, "
            "phones registered to one SIPp UAS; no API request per call"
        )
        print(
            f"ringdesk: SIP gate {args.gate}" + (f", flood {args.flood:g}/s" if args.flood else "")
        )
        if args.flood:
            flooder = start_flood(target, args.flood, len(args.rates) * (args.seconds + 20))
            await asyncio.sleep(1)  # the flood is on (and cut) before the first call
        loop = asyncio.get_running_loop()
        steps = await loop.run_in_executor(
            None,
            sweep,
            scenario,
            [target],
            args.rates,
            args.seconds,
            workdir / "ringdesk_uac",
            [server.process.pid],
        )
        await asyncio.sleep(3)  # the last calls' wrap-up
        print(f"ringdesk: bench agents by status after the run: {board_statuses(server)}")
        if args.flood:
            print(f"ringdesk: SIP bans after the run: {sip_bans(server)}")
        return Sweep("ringdesk", 1, steps)
    finally:
        if flooder is not None:
            flooder.terminate()
            flooder.wait(timeout=10)
        stop(uas)
        server.stop()


# ---- Kamailio ----------------------------------------------------------------------------------


def ensure_kamailio() -> str:
    if shutil.which("kamailio") is None:
        env = dict(os.environ, RINGDESK_BENCH="1")
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "install-test-deps.sh")], env=env, check=True
        )
    path = shutil.which("kamailio")
    if path is None:
        raise SystemExit("kamailio is not installed and could not be installed")
    return path


def _kamailio(args: argparse.Namespace, workdir: Path, scenario: Path, pairs: int) -> Sweep:
    """Kamailio on two sockets, each relaying to its own SIPp UAS; `pairs` UACs (1 or 2) call
    the first socket or one each."""
    binary = ensure_kamailio()
    workdir.mkdir(parents=True, exist_ok=True)
    listen = [free_udp_port(), free_udp_port()]
    uas_ports = [free_udp_port(), free_udp_port()]
    config = (ROOT / "bench" / "kamailio.cfg").read_text()
    for n in (1, 2):
        config = config.replace(f"@LISTEN_PORT_{n}@", str(listen[n - 1]))
        config = config.replace(f"@UAS_PORT_{n}@", str(uas_ports[n - 1]))
    config = config.replace("@CHILDREN@", str(args.kamailio_children))
    cfg = workdir / "kamailio.cfg"
    cfg.write_text(config)
    command = [binary, "-f", str(cfg), "-DD", "-E", "-m", "256", "-M", "16", "-Y", str(workdir)]
    show_command("kamailio", command)
    print(
        f"kamailio: sockets 127.0.0.1:{listen[0]} -> UAS :{uas_ports[0]}, "
        f"127.0.0.1:{listen[1]} -> UAS :{uas_ports[1]}; {args.kamailio_children} children each"
    )
    log = (workdir / "kamailio.log").open("wb")
    kamailio = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    uases = [start_uas(port, workdir / f"uas{n + 1}") for n, port in enumerate(uas_ports)]
    try:
        time.sleep(2)
        if kamailio.poll() is not None:
            raise SystemExit(f"kamailio exited: {(workdir / 'kamailio.log').read_text()[-2000:]}")
        targets = [("127.0.0.1", port) for port in listen[:pairs]]
        steps = sweep(
            scenario, targets, args.kamailio_rates, args.seconds, workdir / "uac", [kamailio.pid]
        )
        return Sweep("kamailio", pairs, steps)
    finally:
        for uas in uases:
            stop(uas)
        stop(kamailio)
        log.close()


# ---- sippy -------------------------------------------------------------------------------------


def ensure_sippy() -> Path:
    """sippy's `b2bua` program, SIPPY_VERSION, in its own virtualenv (made when missing)."""
    python, program = SIPPY_VENV / "bin" / "python", SIPPY_VENV / "bin" / "b2bua"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('sippy'))"]
    if program.exists():
        found = subprocess.run(probe, capture_output=True, text=True, check=False).stdout.strip()
        if found == SIPPY_VERSION:
            return program
    print(f"sippy: installing sippy=={SIPPY_VERSION} into {SIPPY_VENV}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(SIPPY_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"sippy=={SIPPY_VERSION}"], check=True
    )
    if not program.exists():
        raise SystemExit(f"sippy=={SIPPY_VERSION} installed no b2bua program in {SIPPY_VENV}")
    return program


def wait_sip(address: tuple[str, int], process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the peer answers an OPTIONS (with anything: sippy says 501), for up to 20 s."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    local = sock.getsockname()[1]
    host, port = address
    options = (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKbenchprobe{local}\r\n"
        f"From: <sip:probe@127.0.0.1>;tag=probe\r\nTo: <sip:{host}:{port}>\r\n"
        f"Call-ID: probe-{local}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    deadline = time.monotonic() + 20
    with sock:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"the peer exited: {log.read_text()[-2000:]}")
            sock.sendto(options, address)
            with contextlib.suppress(TimeoutError):
                sock.recv(65535)
                return
    raise SystemExit(f"the peer did not answer on {host}:{port}: {log.read_text()[-2000:]}")


def _sippy(args: argparse.Namespace, workdir: Path, scenario: Path) -> Sweep:
    program = ensure_sippy()
    workdir.mkdir(parents=True, exist_ok=True)
    listen, uas_port = free_udp_port(), free_udp_port()
    command = [
        str(program),
        "-f",  # foreground
        "-u",  # no RADIUS authentication
        "-A",
        "0",  # no RADIUS accounting
        "-s",
        f"127.0.0.1:{uas_port}",  # every call to the SIPp UAS
        "-l",
        "127.0.0.1",
        "-p",
        str(listen),
        "-c",
        str(workdir / "b2bua.sock"),  # its control socket, else /var/run/b2bua.sock
    ]
    show_command("sippy", command, SIPPY_ENV)
    log_path = workdir / "sippy.log"
    log = log_path.open("wb")
    sippy = subprocess.Popen(
        command,
        cwd=workdir,
        env=dict(os.environ, **SIPPY_ENV),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    uas = start_uas(uas_port, workdir / "uas")
    try:
        wait_sip(("127.0.0.1", listen), sippy, log_path)
        steps = sweep(
            scenario,
            [("127.0.0.1", listen)],
            args.sippy_rates,
            args.seconds,
            workdir / "uac",
            [sippy.pid],
        )
        errors = log_path.read_text(errors="replace").count("Traceback")
        print(f"sippy: {errors} tracebacks in its log ({log_path})")
        return Sweep("sippy", 1, steps)
    finally:
        stop(uas)
        stop(sippy)
        log.close()


# ---- results -----------------------------------------------------------------------------------


def _figures(step: Step | None) -> str:
    if step is None:
        return f"{'none':>8} {'':>8} {'':>9}"
    cpu = "" if step.cpu_ms_per_call is None else f"{step.cpu_ms_per_call:.2f}"
    return f"{step.rate:8g} {step.percentile(90):8.1f} {cpu:>9}"


def report(sweeps: list[Sweep], p90_ms: float) -> None:
    print("## result")
    print(
        f"{'':20} | {f'zero failed, p90 <= {p90_ms:g} ms':^27} | {'zero failed':^27}\n"
        f"{'system':20} | {'cps':>8} {'p90 ms':>8} {'CPU ms/c':>9} "
        f"| {'cps':>8} {'p90 ms':>8} {'CPU ms/c':>9}"
    )
    for run in sweeps:
        quick, clean = best(run.steps, p90_ms=p90_ms), best(run.steps)
        print(f"{run.label:20} | {_figures(quick)} | {_figures(clean)}")
    ours = next((run for run in sweeps if run.system == "ringdesk"), None)
    if ours is None:
        return
    for peer in sweeps:
        if peer is ours:
            continue
        ratios = []
        for limit, what in ((p90_ms, f"p90 <= {p90_ms:g} ms"), (None, "zero failed only")):
            a, b = best(ours.steps, p90_ms=limit), best(peer.steps, p90_ms=limit)
            ratios.append(f"{a.rate / b.rate:.3f} ({what})" if a and b else f"- ({what})")
        print(f"ratio ringdesk / {peer.label}: {', '.join(ratios)}")


def write_json(path: Path, sweeps: list[Sweep], args: argparse.Namespace) -> None:
    def number(x: float | None) -> float | None:
        return None if x is None or math.isnan(x) else round(x, 3)

    rows = [
        {
            "system": run.system,
            "pairs": run.pairs,
            "rate": step.rate,
            "calls": step.calls,
            "ok": step.successful,
            "failed": step.failed,
            "p50_ms": number(step.percentile(50)),
            "p90_ms": number(step.percentile(90)),
            "p99_ms": number(step.percentile(99)),
            "cpu_ms_per_call": number(step.cpu_ms_per_call),
        }
        for run in sweeps
        for step in run.steps
    ]
    meta = {"machine": machine(), "seconds": args.seconds, "hold_ms": HOLD_MS}
    path.write_text(json.dumps({**meta, "p90_limit_ms": args.p90_ms, "steps": rows}, indent=1))
    print(f"steps written to {path}")


# ---- main --------------------------------------------------------------------------------------


def _rates(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _pairs(text: str) -> list[int]:
    pairs = [int(x) for x in text.split(",") if x.strip()]
    if not pairs or any(p not in (1, 2) for p in pairs):
        raise argparse.ArgumentTypeError("pairs are 1 and/or 2")
    return pairs


def _systems(text: str) -> list[str]:
    systems = [x.strip() for x in text.split(",") if x.strip()]
    unknown = set(systems) - set(SYSTEMS)
    if unknown or not systems:
        raise argparse.ArgumentTypeError(f"systems are among {','.join(SYSTEMS)}")
    return systems


def main() -> int:
    if sys.argv[1:2] == ["--flood-worker"]:
        host, port, rate, seconds = sys.argv[2:6]
        flood(host, int(port), float(rate), float(seconds))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates", type=_rates, default=_rates("50,100,200,300,350,400,450,500,550,600")
    )
    parser.add_argument(
        "--kamailio-rates",
        type=_rates,
        default=_rates("50,100,200,300,500,750,1000,1500,2000,3000"),
    )
    parser.add_argument(
        "--sippy-rates", type=_rates, default=_rates("50,100,150,200,300,400,500,750,1000")
    )
    parser.add_argument(
        "--kamailio-pairs",
        type=_pairs,
        default=_pairs("1,2"),
        help="SIPp UAC/UAS pairs driving Kamailio, one sweep each (1,2)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each step")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--kamailio-children", type=int, default=2)
    parser.add_argument(
        "--p90-ms", type=float, default=100.0, help="the headline's p90 setup limit"
    )
    parser.add_argument("--workdir", help="keep SIPp traces here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write every step to this file")
    parser.add_argument(
        "--systems",
        type=_systems,
        default=list(SYSTEMS),
        help="which to measure: ringdesk,kamailio,sippy",
    )
    parser.add_argument("--gate", choices=("on", "off"), default="on", help="the SIP gate")
    parser.add_argument("--flood", type=float, default=0.0, help="REGISTERs/s from 127.0.0.2")
    parser.add_argument(
        "--server-cpu",
        type=int,
        default=None,
        help="pin the Ringdesk server to this CPU and the load generators to the others",
    )
    args = parser.parse_args()
    if args.server_cpu is not None:
        others = set(range(os.cpu_count() or 1)) - {args.server_cpu}
        if not others:
            parser.error("--server-cpu needs a machine with another CPU for the generators")
        os.sched_setaffinity(0, others)  # inherited by SIPp and the flood worker
    print(f"# sip_cps: steps of {args.seconds:g} s, calls held {HOLD_MS} ms; {machine()}")
    sweeps: list[Sweep] = []
    with tempfile.TemporaryDirectory(prefix="sip_cps-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        scenario = customer_scenario(workdir)
        print(f"sipp UAC scenario: {scenario} (bench_customer.xml, ACK/BYE to the Contact URI)")
        if "ringdesk" in args.systems:
            section("ringdesk (B2BUA + engine with Auto Answer agents + database)")
            sweeps.append(asyncio.run(_ringdesk(args, workdir, scenario)))
        if "kamailio" in args.systems:
            for pairs in args.kamailio_pairs:
                section(f"kamailio (stateful proxy, tm) to SIPp UASes, {pairs} SIPp pair(s)")
                sweeps.append(_kamailio(args, workdir / f"kamailio-{pairs}", scenario, pairs))
        if "sippy" in args.systems:
            section(f"sippy {SIPPY_VERSION} (Python B2BUA, static route) to a SIPp UAS")
            sweeps.append(_sippy(args, workdir / "sippy", scenario))
    report(sweeps, args.p90_ms)
    if args.json:
        write_json(args.json, sweeps, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
