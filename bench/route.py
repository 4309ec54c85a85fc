"""Routing speed of the pure engine: 10,000 agents, 1,000 waiting calls, one core.

Measures, each many times, with time.perf_counter_ns around the one engine call:
- routing decision: an agent becomes Ready and is offered the oldest waiting call of their services;
- status change: that agent picks Business while ringing (offer withdrawn, call re-queued);
- plain status change: Business <-> Rest with nothing to route;
- call arrival: a call arrives with 10,000 Ready agents and is offered per longest-idle.
Prints median and p99 in microseconds. Run: .venv/bin/python bench/route.py
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable

from ringdesk.core.commands import CtiLogin, SetStatus
from ringdesk.core.engine import Engine
from ringdesk.core.model import AgentConfig, AgentStatus, CtiSettings, ServiceConfig
from ringdesk.core.telephony import CallArrived, LegHungUp

AGENTS = 10_000
CALLS = 1_000
SERVICES = 20
ITERATIONS = 20_000


def _build(ready: bool) -> tuple[Engine, list[int]]:
    rng = random.Random(7)
    counter = iter(range(10**9))
    services = [ServiceConfig(id=s, name=f"Service {s}") for s in range(1, SERVICES + 1)]
    agents = []
    for i in range(1, AGENTS + 1):
        own = {rng.randrange(1, SERVICES + 1) for _ in range(rng.choice((1, 2)))}
        agents.append(
            AgentConfig(i, f"Agent {i}", str(10_000 + i), str(10_000 + i), frozenset(own))
        )
    engine = Engine(CtiSettings(), services, agents, new_id=lambda: f"id{next(counter)}")
    now = 0.0
    for a in agents:
        engine.set_phone_reachable(a.id, True, now)
        engine.handle(CtiLogin(a.id), now)  # default login status: Business
        if ready:
            now += 0.001
            engine.handle(SetStatus(a.id, AgentStatus.READY), now)
    return engine, [a.id for a in agents]


def _measure(run: Callable[[int], int], iterations: int) -> list[float]:
    samples = [run(i) / 1000.0 for i in range(iterations)]
    return samples


def _report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"{name:<34} median {statistics.median(ordered):7.1f} us   p99 {p99:7.1f} us"
        f"   ({len(ordered)} runs)"
    )


def main() -> int:
    clock = time.perf_counter_ns
    engine, ids = _build(ready=False)
    gc.freeze()  # the long-lived setup is not re-scanned by every collection (as a server would)
    now = 1000.0
    for n in range(CALLS):
        engine.on_telephony(
            CallArrived(f"call{n}", f"leg{n}", 1 + n % SERVICES, "5551234", "5550100"), now
        )
    waiting = sum(len(q.waiting) for q in engine.queues())
    print(f"# {AGENTS} agents in {SERVICES} services, {waiting} waiting calls")
    rng = random.Random(1)
    routing: list[float] = []
    status: list[float] = []
    for _ in range(ITERATIONS):
        agent = rng.choice(ids)
        now += 0.01
        t0 = clock()
        out = engine.handle(SetStatus(agent, AgentStatus.READY), now)
        t1 = clock()
        assert any(type(e).__name__ == "CallOffered" for e in out.events)
        now += 0.01
        t2 = clock()
        engine.handle(SetStatus(agent, AgentStatus.BUSINESS), now)
        t3 = clock()
        routing.append((t1 - t0) / 1000.0)
        status.append((t3 - t2) / 1000.0)
    _report("routing decision (Ready -> offer)", routing)
    _report("status change (Ringing -> Business)", status)

    plain: list[float] = []
    for i in range(ITERATIONS):
        agent = rng.choice(ids)
        target = AgentStatus.REST if i % 2 else AgentStatus.BUSINESS
        now += 0.01
        t0 = clock()
        engine.handle(SetStatus(agent, target), now)
        plain.append((clock() - t0) / 1000.0)
    _report("status change (Business <-> Rest)", plain)

    engine, ids = _build(ready=True)
    gc.freeze()
    arrival: list[float] = []
    now = 100_000.0
    for n in range(ITERATIONS):
        now += 0.01
        event = CallArrived(f"c{n}", f"l{n}", 1 + n % SERVICES, "5551234", "5550100")
        t0 = clock()
        out = engine.on_telephony(event, now)
        arrival.append((clock() - t0) / 1000.0)
        assert any(type(e).__name__ == "CallOffered" for e in out.events)
        engine.on_telephony(LegHungUp(f"l{n}"), now)  # caller gives up; the agent is Ready again
    _report("call arrival (10,000 Ready agents)", arrival)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
