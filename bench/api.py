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
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import PostgresCluster  # noqa: E402
from tests.support.server import RunningServer, start_server  # noqa: E402

CONNECTIONS = 16


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


class Connection:
    """A bare HTTP/1.1 keep-alive connection with TCP_NODELAY.

    A measuring client must cost less than the server it measures: httpx's async client costs
    several milliseconds per request here and holds small writes (Nagle), which would be
    measured as server latency.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, method: str, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in lines
            if line.lower().startswith(b"content-length")
        )
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def run_load(server: RunningServer, rate: float, seconds: float) -> tuple[list[float], int]:
    token = server.login("alice", "alice-demo")
    with server.client(token) as http:
        http.post("/api/cti/login").raise_for_status()
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    connections = [await Connection.open(server.http_port) for _ in range(CONNECTIONS)]
    for connection in connections:
        pool.put_nowait(connection)
    bodies = {s: json.dumps({"status": s}).encode() for s in ("ready", "business")}
    latencies: list[float] = []
    errors = 0

    async def one(scheduled: float, status: str) -> None:
        nonlocal errors
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        connection = await pool.get()  # waiting for a free connection counts as latency
        try:
            code, body = await connection.request("PUT", "/api/cti/status", token, bodies[status])
            ok = code == 200 and json.loads(body)["status"] == status
        except (OSError, asyncio.IncompleteReadError, ValueError):
            ok = False
        pool.put_nowait(connection)
        if ok:
            latencies.append((time.perf_counter() - scheduled) * 1000)
        else:
            errors += 1

    warm = time.perf_counter()
    await asyncio.gather(*(one(warm, "ready" if i % 2 else "business") for i in range(50)))
    latencies.clear()
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    await asyncio.gather(
        *(one(start + i / rate, "ready" if i % 2 == 0 else "business") for i in range(total))
    )
    for connection in connections:
        connection.close()
    with server.client(token) as http:
        http.post("/api/cti/logout")
    return latencies, errors


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): the server's cost under any load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
                pid = server.process.pid if server.process else 0
                before = cpu_seconds(pid)
                latencies, errors = asyncio.run(run_load(server, args.rate, args.seconds))
                cpu = cpu_seconds(pid) - before
            finally:
                server.stop()
                if cluster is not None:
                    cluster.stop()
            report(kind, latencies, errors, args.rate, args.seconds)
            print(f"{'':<11} server CPU {cpu * 1e6 / max(1, len(latencies)):.0f} us per request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
