"""Call setup rate of the whole switch, driven by SIPp, with Kamailio as the reference.

Ringdesk: a `ringdesk serve` subprocess (SQLite in a temp dir) with AGENTS extra agents, all
registered (digest auth) to one SIPp UAS that answers at once. Every bench agent has Auto Answer
on, and the CTI setting wrap_up_seconds is set to its minimum (1 s), so once the agents are
logged in and Ready no API request is made per call: the engine answers each offer in the step
that makes it, and after the call's wrap-up puts the agent back to Ready by itself. A SIPp UAC
then calls the service's inbound number at increasing rates; each step places RATE x SECONDS
calls, each held HOLD_MS.

A call therefore costs the switch: INVITE, queue, offer and answer, the agent's INVITE
(auto-answer), the bridge, two BYEs, the database writes of the call and its ticket, and the
wrap-up timer. An agent is busy for about HOLD_MS + 1 s per call, so AGENTS bounds the rate at
roughly AGENTS / 1.6 s; beyond it calls queue (SIPp waits up to 15 s for the answer).

Kamailio: a transaction-stateful proxy (bench/kamailio.cfg, tm) relaying the same SIPp calls to
a SIPp UAS, measured on the same machine in the same run. Installed (Debian package) by
scripts/install-test-deps.sh with RINGDESK_BENCH=1.

The figure per system: the highest rate whose step ended with zero failed calls, and SIPp's
call setup time (INVITE to 200) percentiles at that rate.

The SIP gate (switch/gate.py) is on, as in production, with per-source rates raised for the
bench's own sources: its SIPp UAC places every call from one address and its 600 phones
register from one address too, far above what one real source may send. `--gate off` measures
the switch without it. `--flood N` sends N REGISTERs a second from another loopback address
(127.0.0.2) during the call steps: the gate cuts and bans that source, and the step shows what
the flood still costs the calls (CPU per call and setup time). `--server-cpu N` pins the server
to CPU N and this process, SIPp and the flood to the others, so that on a small machine the
generators do not compete with the server for its core.

    python bench/sip_cps.py [--rates 50,100,...] [--seconds 10] [--agents 600]
                            [--gate on|off] [--flood 10000] [--server-cpu 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/sip_cps.py` from anywhere

from tests.support.rtp import free_udp_port  # noqa: E402
from tests.support.server import RunningServer, start_server  # noqa: E402
from tests.support.sipp import SCENARIOS, digest_register, sipp_binary  # noqa: E402

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


@dataclass
class Step:
    rate: float
    calls: int
    successful: int
    failed: int
    setup_ms: list[float]  # INVITE -> 200, per call
    cpu_ms_per_call: float | None = None  # the measured system's CPU (user+system) per call

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
        )


# ---- SIPp runs --------------------------------------------------------------------------------


def run_uac(target: tuple[str, int], rate: float, seconds: float, workdir: Path) -> Step:
    """Place rate x seconds calls at `rate` per second; SIPp's own counts and timings."""
    calls = max(1, int(rate * seconds))
    workdir.mkdir(parents=True, exist_ok=True)
    stat_file = workdir / "stat.csv"
    args = [
        sipp_binary(),
        "-sf",
        str(SCENARIOS / "bench_customer.xml"),
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
        str(max(50, int(rate * 20))),
        "-d",
        str(HOLD_MS),
        "-recv_timeout",
        "15000",
        "-timeout",
        f"{seconds + 60:.0f}",
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(stat_file),
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
    subprocess.run(
        args,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 120,
        check=False,
    )
    successful, failed = _final_counts(stat_file)
    return Step(rate, calls, successful, failed, _setup_times(workdir))


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


def start_uas(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
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
        ],
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
    target: tuple[str, int],
    rates: list[float],
    seconds: float,
    workdir: Path,
    pids: list[int] | None = None,
) -> list[Step]:
    """Rates in increasing order until the first step with a failed call.

    With `pids`, each step also reports those processes' CPU time per successful call."""
    steps = []
    for rate in rates:
        before = cpu_seconds(pids) if pids else 0.0
        step = run_uac(target, rate, seconds, workdir / f"rate-{rate:g}")
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


def create_agents(server: RunningServer, count: int) -> list[tuple[str, str, str, str]]:
    """`count` agents with phone permission: (username, password, cti_id, phone password)."""
    token = server.login("admin", "admin-demo")
    agents = []
    with server.client(token) as http:
        for n in range(count):
            username, password = f"bench{n:04d}", f"bench-pass-{n:04d}"
            cti_id, phone_password = f"7{n:04d}", f"phone7{n:04d}-bench"
            response = http.post(
                "/api/admin/users",
                json={
                    "username": username,
                    "name": f"Bench Agent {n}",
                    "password": password,
                    "role": "agent",
                },
            )
            response.raise_for_status()
            user_id = response.json()["id"]
            http.put(
                f"/api/admin/cti/agents/{user_id}",
                json={
                    "cti_id": cti_id,
                    "cti_number": cti_id,
                    "phone_password": phone_password,
                    "auto_answer": True,
                },
            ).raise_for_status()
            http.put(
                f"/api/admin/services/{SERVICE_ID}/agents/{user_id}",
                json={"phone_permission": True},
            ).raise_for_status()
            agents.append((username, password, cti_id, phone_password))
    return agents


def register_all(
    server: RunningServer, agents: list[tuple[str, str, str, str]], contact_port: int
) -> None:
    """Register every agent's phone (MD5 digest) from the port the SIPp UAS will then use."""
    for _, _, cti_id, phone_password in agents:
        code, _ = digest_register(
            (server.sip_host, server.sip_port), cti_id, phone_password, local_port=contact_port
        )
        if code != 200:
            raise SystemExit(f"registering bench phone {cti_id} failed: {code}")


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


async def make_ready(server: RunningServer, agents: list[tuple[str, str, str, str]]) -> None:
    """Log every agent in (web and CTI) and set them Ready: the only API requests of the run."""
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:
        gate = asyncio.Semaphore(8)

        async def one(username: str, password: str) -> None:
            async with gate:
                response = await http.post(
                    "/api/auth/login", json={"username": username, "password": password}
                )
                response.raise_for_status()
                headers = {"Authorization": f"Bearer {response.json()['token']}"}
                (await http.post("/api/cti/login", headers=headers)).raise_for_status()
                state = await http.put("/api/cti/status", headers=headers, json={"status": "ready"})
                state.raise_for_status()

        await asyncio.gather(*(one(username, password) for username, password, *_ in agents))


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


async def _ringdesk(args: argparse.Namespace, workdir: Path) -> list[Step]:
    env = dict(BENCH_GATE_ENV, RINGDESK_SIP_GATE=args.gate)
    server = start_server(workdir / "ringdesk", env=env)
    if args.server_cpu is not None:
        pin_server(server.process.pid, args.server_cpu)
    uas: subprocess.Popen[bytes] | None = None
    flooder: subprocess.Popen[bytes] | None = None
    try:
        agents = create_agents(server, args.agents)
        agent_port = free_udp_port()
        register_all(server, agents, agent_port)
        uas = start_uas(agent_port, workdir / "agent_uas")
        minimum_wrap_up(server)
        await make_ready(server, agents)
        print(
            f"ringdesk: {len(agents)} agents Ready with Auto Answer and 1 s wrap-up, "
            "phones registered to one SIPp UAS; no API request per call"
        )
        print(
            f"ringdesk: SIP gate {args.gate}" + (f", flood {args.flood:g}/s" if args.flood else "")
        )
        target = (server.sip_host, server.sip_port)
        if args.flood:
            flooder = start_flood(target, args.flood, len(args.rates) * (args.seconds + 20))
            await asyncio.sleep(1)  # the flood is on (and cut) before the first call
        loop = asyncio.get_running_loop()
        steps = await loop.run_in_executor(
            None,
            sweep,
            (server.sip_host, server.sip_port),
            args.rates,
            args.seconds,
            workdir / "ringdesk_uac",
            [server.process.pid],
        )
        await asyncio.sleep(3)  # the last calls' wrap-up
        print(f"ringdesk: bench agents by status after the run: {board_statuses(server)}")
        if args.flood:
            print(f"ringdesk: SIP bans after the run: {sip_bans(server)}")
        return steps
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


def _kamailio(args: argparse.Namespace, workdir: Path) -> list[Step]:
    binary = ensure_kamailio()
    workdir.mkdir(parents=True, exist_ok=True)
    uas_port, listen_port = free_udp_port(), free_udp_port()
    config = (ROOT / "bench" / "kamailio.cfg").read_text()
    config = (
        config.replace("@LISTEN_PORT@", str(listen_port))
        .replace("@UAS_PORT@", str(uas_port))
        .replace("@CHILDREN@", str(args.kamailio_children))
    )
    cfg = workdir / "kamailio.cfg"
    cfg.write_text(config)
    log = (workdir / "kamailio.log").open("wb")
    kamailio = subprocess.Popen(
        [binary, "-f", str(cfg), "-DD", "-E", "-m", "256", "-M", "16", "-Y", str(workdir)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    uas = start_uas(uas_port, workdir / "uas")
    try:
        time.sleep(2)
        if kamailio.poll() is not None:
            raise SystemExit(f"kamailio exited: {(workdir / 'kamailio.log').read_text()[-2000:]}")
        rates = args.kamailio_rates
        uac = workdir / "uac"
        return sweep(("127.0.0.1", listen_port), rates, args.seconds, uac, [kamailio.pid])
    finally:
        stop(uas)
        kamailio.terminate()
        try:
            kamailio.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kamailio.kill()
        log.close()


# ---- main --------------------------------------------------------------------------------------


def _rates(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main() -> int:
    if sys.argv[1:2] == ["--flood-worker"]:
        host, port, rate, seconds = sys.argv[2:6]
        flood(host, int(port), float(rate), float(seconds))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates", type=_rates, default=_rates("50,100,200,250,300,350,400,450,500")
    )
    parser.add_argument(
        "--kamailio-rates",
        type=_rates,
        default=_rates("50,100,200,300,500,750,1000,1500,2000,3000"),
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each step")
    parser.add_argument("--agents", type=int, default=600)
    parser.add_argument("--kamailio-children", type=int, default=2)
    parser.add_argument("--workdir", help="keep SIPp traces here (default: a temp dir)")
    parser.add_argument("--systems", default="ringdesk,kamailio", help="which to measure")
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
    print(f"# sip_cps: steps of {args.seconds:g} s, calls held {HOLD_MS} ms, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory(prefix="sip_cps-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        ours: list[Step] = []
        theirs: list[Step] = []
        if "ringdesk" in args.systems:
            print("## ringdesk (B2BUA + engine with Auto Answer agents + database)")
            ours = asyncio.run(_ringdesk(args, workdir))
        if "kamailio" in args.systems:
            print("## kamailio (stateful proxy, tm) to a SIPp UAS")
            theirs = _kamailio(args, workdir / "kamailio")
    ours_best, theirs_best = best(ours), best(theirs)
    print("## result")
    print(
        f"ringdesk: {ours_best.rate:g} cps with zero failed calls"
        if ours_best
        else "ringdesk: no rate without failed calls"
    )
    if ours_best:
        print(ours_best.line())
        # Zero failures allows 15 s setups (calls queued for an agent): also say where the
        # setup time is still one a caller would accept.
        quick = best(ours, p90_ms=1000)
        if quick:
            print(f"ringdesk: {quick.rate:g} cps with zero failed calls and p90 setup <= 1 s")
    if theirs_best:
        print(f"kamailio: {theirs_best.rate:g} cps with zero failed calls")
        print(theirs_best.line())
    if ours_best and theirs_best:
        print(f"ratio ringdesk/kamailio: {ours_best.rate / theirs_best.rate:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
