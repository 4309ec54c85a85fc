"""Bench agents by the thousand: written straight into a fresh install's SQLite database, their
phones registered from one UDP socket, each logged in to CTI and Ready through the API.

The admin API would hash a password and reload the whole configuration per agent (minutes for
1,000 agents); here the rows (user with one argon2 hash shared by all, CTI assignment with a
sealed phone password and Auto Answer, phone permission on one service, a web session) are
written before the server starts. The phones then register for real (digest, qop auth, many
REGISTERs in flight), and each agent logs in to CTI and picks Ready with its session's token:
the real path, without the web login's argon2 verification, which costs the same whatever N
is. Used by bench/sip_cps.py and bench/growth.py.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.support.server import RunningServer, _sqlite_install, clean_env
from tests.support.sipp import _register_text, digest_authorization

AGENT_PASSWORD = "bench-agent-password"
REGISTER_WINDOW = 200  # REGISTER transactions in flight at once
# Every phone registers from the same address (one socket), far above what one phone sends:
# a server started for these agents gets this REGISTER rate per source (the gate still runs).
REGISTER_RATE_ENV = {"RINGDESK_SIP_RATE_REGISTER": "50000"}


@dataclass(frozen=True)
class BenchAgent:
    user_id: int
    cti_id: str
    phone_password: str
    token: str  # a web session's bearer token (its digest is what the database holds)


def seed_agents(
    data_dir: Path, env: dict[str, str], count: int, service_id: int
) -> list[BenchAgent]:
    """Write `count` agents into the data dir's SQLite database, as the admin API would leave
    them: user (one argon2 hash for all), CTI assignment (Auto Answer, phone password sealed
    with the data dir's key), phone permission on the demo service, and a web session."""
    from sqlalchemy import func, insert, select
    from sqlalchemy.orm import Session

    from ringdesk.store import models as m
    from ringdesk.store.db import make_engine
    from ringdesk.store.secrets import load_box
    from ringdesk.store.security import hash_password, token_digest

    engine = make_engine(f"sqlite:///{data_dir / 'ringdesk.db'}", load_box(data_dir, env))
    password_hash = hash_password(AGENT_PASSWORD)
    now = time.time()
    agents: list[BenchAgent] = []
    with Session(engine) as db:
        first = int(db.scalar(select(func.max(m.User.id))) or 0) + 1
        for n in range(count):
            agents.append(
                BenchAgent(
                    first + n, f"8{n:05d}", f"phone8{n:05d}-bench", secrets.token_urlsafe(32)
                )
            )
        db.execute(
            insert(m.User),
            [
                {
                    "id": a.user_id,
                    "username": f"bench{n:05d}",
                    "name": f"Bench Agent {n}",
                    "role": "agent",
                    "password_hash": password_hash,
                    "created_at": now,
                }
                for n, a in enumerate(agents)
            ],
        )
        db.execute(
            insert(m.CtiAgent),
            [
                {
                    "user_id": a.user_id,
                    "cti_id": a.cti_id,
                    "cti_number": a.cti_id,
                    "phone_password": a.phone_password,
                    "auto_answer": True,
                }
                for a in agents
            ],
        )
        db.execute(
            insert(m.ServiceAgent),
            [
                {"service_id": service_id, "user_id": a.user_id, "phone_permission": True}
                for a in agents
            ],
        )
        db.execute(
            insert(m.Session),
            [
                {
                    "token_hash": token_digest(a.token),
                    "user_id": a.user_id,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for a in agents
            ],
        )
        db.commit()
    engine.dispose()
    return agents


def register_phones(
    switch: tuple[str, int], agents: Sequence[BenchAgent], port: int, window: int
) -> int:
    """REGISTER every agent's phone (MD5 digest, qop auth) from one UDP socket on `port`, with
    up to `window` transactions in flight; retransmits what gets no answer in 1 s. Returns the
    number of retransmissions."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.05)
    todo = list(reversed(agents))
    # call-id -> agent, the request, when it was sent, retransmissions, its CSeq
    pending: dict[str, tuple[BenchAgent, bytes, float, int, int]] = {}
    retransmits = 0
    uri = f"sip:{switch[0]}:{switch[1]}"

    def send(agent: BenchAgent, call_id: str, cseq: int, auth: str | None, tries: int) -> None:
        text = _register_text(switch, agent.cti_id, port, port, call_id, cseq, auth, 3600)
        data = text.encode()
        sock.sendto(data, switch)
        pending[call_id] = (agent, data, time.monotonic(), tries, cseq)

    try:
        while todo or pending:
            while todo and len(pending) < window:
                send(todo.pop(), uuid.uuid4().hex, 1, None, 0)
            try:
                reply = sock.recv(65535).decode(errors="replace")
            except TimeoutError:
                reply = ""
            if reply:
                status = int(reply.split(None, 2)[1])
                found = re.search(r"(?im)^Call-ID:\s*(\S+)", reply)
                call_id = found.group(1) if found else ""
                entry = pending.get(call_id)
                cseq = re.search(r"(?im)^CSeq:\s*(\d+)", reply)
                if entry is None or status < 200 or cseq is None or int(cseq.group(1)) != entry[4]:
                    continue  # a provisional one, or the answer to a retransmission of before
                agent = entry[0]
                if status == 200:
                    del pending[call_id]
                elif status == 401 and entry[4] < 4:  # challenged (again, if the nonce went)
                    challenge = next(
                        c
                        for c in re.findall(r"(?im)^WWW-Authenticate:\s*(.*?)\s*$", reply)
                        if re.search(r"algorithm=\"?MD5\b", c, re.I)
                    )
                    auth = digest_authorization(
                        agent.cti_id, agent.phone_password, challenge, "REGISTER", uri
                    )
                    send(agent, call_id, entry[4] + 1, auth, 0)
                else:
                    raise SystemExit(f"registering {agent.cti_id}: {reply.splitlines()[0]}")
            now = time.monotonic()
            for call_id, (agent, data, sent_at, tries, cseq_sent) in list(pending.items()):
                if now - sent_at > 1.0:
                    if tries >= 8:
                        raise SystemExit(f"registering {agent.cti_id}: no answer")
                    sock.sendto(data, switch)
                    pending[call_id] = (agent, data, now, tries + 1, cseq_sent)
                    retransmits += 1
    finally:
        sock.close()
    return retransmits


async def make_ready(base_url: str, agents: Sequence[BenchAgent], concurrency: int) -> int:
    """Each agent logs in to CTI and picks Ready with its own session token (2 requests);
    returns how many answered with status ready."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    ready = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        gate = asyncio.Semaphore(concurrency)

        async def one(agent: BenchAgent) -> None:
            nonlocal ready
            headers = {"Authorization": f"Bearer {agent.token}"}
            async with gate:
                (await http.post("/api/cti/login", headers=headers)).raise_for_status()
                answer = await http.put(
                    "/api/cti/status", headers=headers, json={"status": "ready"}
                )
                answer.raise_for_status()
                ready += answer.json().get("status") == "ready"

        await asyncio.gather(*(one(a) for a in agents))
    return ready


def start_seeded(
    workdir: Path, count: int, env: dict[str, str], service_id: int
) -> tuple[RunningServer, list[BenchAgent], float]:
    """start_server's steps (a copy of the fresh SQLite install, then `ringdesk serve`) with
    the bench agents written in between; the seconds the seeding took."""
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = clean_env(dict(env, **REGISTER_RATE_ENV))
    shutil.copytree(_sqlite_install(env), data_dir, dirs_exist_ok=True)
    started = time.monotonic()
    agents = seed_agents(data_dir, env, count, service_id)
    seeded = time.monotonic() - started
    server = RunningServer(data_dir=data_dir, database_url=None, env=env)
    server.launch()
    return server, agents, seeded
