"""WebSocket fan-out: 1,000 connected clients, one status change, how fast does each hear of it.

Starts a real `ringdesk serve` (SQLite), opens 1,000 WebSocket feeds and changes alice's status
(PUT /api/cti/status) once a second. Two audiences are measured:
- agent: 1,000 feeds of alice herself (the widget's `agent_state` message);
- admin: 1,000 supervisor feeds (the `board` message, throttled to one per 250 ms; the first
  change after a quiet period goes out at once).
Latency = arrival at the client - the moment the PUT was sent, over every client and change.
Clients are spread over worker processes so the client's own parsing is not all on one core.

    .venv/bin/python bench/ws_fanout.py [--clients 1000] [--rounds 20] [--only agent|admin]

BENCH_VERBOSE=1 adds per-change figures. "server CPU per delivery" is the server process's CPU
time over the changes divided by deliveries: a cost that holds even on a busy machine.
bench/growth.py calls `fanout(mode, clients, rounds)` for other client counts: the same run,
its figures returned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import start_server  # noqa: E402

WORKERS = 2
STATUSES = ("ready", "business")


def _expected(round_: int) -> str:
    return STATUSES[round_ % 2]


def _matches(mode: str, text: str, status: str, alice_id: int) -> bool:
    if mode == "agent":
        return '"type":"agent_state"' in text and f'"status":"{status}"' in text
    if '"type":"board"' not in text:
        return False
    agents = json.loads(text)["data"]["agents"]
    return any(a["agent_id"] == alice_id and a["status"] == status for a in agents)


async def _client_side(
    mode: str,
    url: str,
    token: str,
    count: int,
    rounds: int,
    alice_id: int,
    ready: Any,
    results: Any,
) -> None:
    arrivals: list[list[float]] = [[] for _ in range(rounds)]
    connections = []
    for _ in range(count):
        ws = await websockets.connect(url, open_timeout=60, max_queue=None)
        await ws.send(json.dumps({"type": "auth", "token": token}))  # never in the URL
        await ws.recv()  # {"type":"ready"}: subscribed
        connections.append(ws)
    ready.put(count)

    async def reader(ws: Any) -> None:
        round_ = 0
        async for text in ws:
            if round_ < rounds and _matches(mode, text, _expected(round_), alice_id):
                arrivals[round_].append(time.time())
                round_ += 1
                if round_ == rounds:
                    return

    tasks = [asyncio.create_task(reader(ws)) for ws in connections]
    await asyncio.wait(tasks, timeout=rounds * 3 + 60)
    for ws in connections:
        await ws.close()
    results.put(arrivals)


def _worker(
    mode: str,
    url: str,
    token: str,
    count: int,
    rounds: int,
    alice_id: int,
    ready: Any,
    results: Any,
) -> None:
    asyncio.run(_client_side(mode, url, token, count, rounds, alice_id, ready, results))


def run(mode: str, clients: int, rounds: int) -> list[float]:
    latencies: list[float] = fanout(mode, clients, rounds)["latencies"]
    return latencies


def fanout(mode: str, clients: int, rounds: int) -> dict[str, Any]:
    """One run (printed as `run` prints it): clients, deliveries, missing, p50/p99/max in ms,
    server CPU per delivery in us, and every latency."""
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        server = start_server(Path(tmp))
        try:
            alice = server.login("alice", "alice-demo")
            admin = server.login("admin", "admin-demo")
            http = httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {alice}"}
            )
            alice_id = http.get("/api/me").json()["id"]
            http.post("/api/cti/login").raise_for_status()
            http.put("/api/cti/status", json={"status": "business"}).raise_for_status()
            token = alice if mode == "agent" else admin
            url = f"ws://127.0.0.1:{server.http_port}/api/ws"
            ctx = mp.get_context("spawn")
            ready, results = ctx.Queue(), ctx.Queue()
            share = [
                clients // WORKERS + (1 if i < clients % WORKERS else 0) for i in range(WORKERS)
            ]
            procs = [
                ctx.Process(
                    target=_worker, args=(mode, url, token, n, rounds, alice_id, ready, results)
                )
                for n in share
            ]
            for proc in procs:
                proc.start()
            connected = sum(ready.get(timeout=180) for _ in procs)
            time.sleep(1.0)  # let the connection burst (and its board updates) settle
            cpu_before = _cpu_seconds(server.process.pid if server.process else 0)
            sent: list[float] = []
            for round_ in range(rounds):
                sent.append(time.time())
                response = http.put("/api/cti/status", json={"status": _expected(round_)})
                response.raise_for_status()
                time.sleep(1.0)
            arrivals = [results.get(timeout=rounds * 3 + 120) for _ in procs]
            cpu = _cpu_seconds(server.process.pid if server.process else 0) - cpu_before
            for proc in procs:
                proc.join(timeout=30)
            http.close()
        finally:
            server.stop()
    latencies = [
        (t - sent[r]) * 1000 for worker in arrivals for r, times in enumerate(worker) for t in times
    ]
    missing = connected * rounds - len(latencies)
    if os.environ.get("BENCH_VERBOSE"):
        for r in range(rounds):
            per = sorted((t - sent[r]) * 1000 for worker in arrivals for t in worker[r])
            print(
                f"  round {r}: n={len(per)} min {per[0]:.0f} "
                f"p50 {per[len(per) // 2]:.0f} max {per[-1]:.0f} ms"
            )
    print(
        f"{mode:<6} {connected} clients x {rounds} changes: {len(latencies)} deliveries, "
        f"{missing} missing; p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {_percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms; "
        f"server CPU {cpu * 1e6 / max(1, len(latencies)):.0f} us per delivery",
        flush=True,
    )
    return {
        "mode": mode,
        "clients": connected,
        "rounds": rounds,
        "deliveries": len(latencies),
        "missing": missing,
        "p50_ms": statistics.median(latencies),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": max(latencies),
        "server_us_per_delivery": cpu * 1e6 / max(1, len(latencies)),
        "latencies": latencies,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to cost the fan-out under any load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--only", choices=["agent", "admin"])
    args = parser.parse_args()
    print("status change -> WebSocket delivery to every connected client")
    for mode in ("agent", "admin"):
        if not args.only or args.only == mode:
            run(mode, args.clients, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
