"""Status change round trip through HTTP and the database, at a paced 200 requests/s.

Starts a real `ringdesk serve` (migrate + demo) on SQLite, then on a throwaway PostgreSQL,
logs alice in to CTI and alternates PUT /api/cti/status Ready <-> Business for ~20 s.
Requests are sent on a fixed schedule (open loop), and latency is measured from the scheduled
send time, so a stall shows up in the figures instead of silently slowing the load down.

    .venv/bin/python bench/api.py [--rate 200] [--seconds 20] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import PostgresCluster  # noqa: E402
from tests.support.server import RunningServer, start_server  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run_load(server: RunningServer, rate: float, seconds: float) -> tuple[list[float], int]:
    token = server.login("alice", "alice-demo")
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=headers, limits=limits, timeout=30
    ) as http:
        response = await http.post("/api/cti/login")
        response.raise_for_status()
        for _ in range(50):  # warm up connections and code paths
            await http.put("/api/cti/status", json={"status": "ready"})
        latencies: list[float] = []
        errors = 0
        total = int(rate * seconds)
        start = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            nonlocal errors
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status = "ready" if i % 2 == 0 else "business"
            try:
                r = await http.put("/api/cti/status", json={"status": status})
                ok = r.status_code == 200 and r.json()["status"] == status
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - scheduled) * 1000)
            else:
                errors += 1

        await asyncio.gather(*(one(i) for i in range(total)))
        await http.post("/api/cti/logout")
    return latencies, errors


def report(name: str, latencies: list[float], errors: int, rate: float, seconds: float) -> None:
    print(
        f"{name:<11} {len(latencies)} ok, {errors} errors at {rate:.0f}/s for {seconds:.0f} s: "
        f"p50 {statistics.median(latencies):.2f} ms, p99 {percentile(latencies, 99):.2f} ms, "
        f"max {max(latencies):.2f} ms",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print("status change round trip: PUT /api/cti/status through HTTP + engine + DB commit")
    for kind in ("sqlite", "postgresql"):
        if args.only and kind != args.only:
            continue
        cluster = None
        with tempfile.TemporaryDirectory(prefix=f"bench-api-{kind}-") as tmp:
            url = None
            if kind == "postgresql":
                cluster = PostgresCluster()
                cluster.start()
                url = cluster.new_database()
            server = start_server(Path(tmp), database_url=url)
            try:
                latencies, errors = asyncio.run(run_load(server, args.rate, args.seconds))
            finally:
                server.stop()
                if cluster is not None:
                    cluster.stop()
            report(kind, latencies, errors, args.rate, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
