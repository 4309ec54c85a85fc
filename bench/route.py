"""Routing speed of the pure engine: 10,000 agents, 1,000 waiting calls, one core.

Measures, each many times, with time.perf_counter_ns around the one engine call:
- routing decision: an agent becomes Ready and is offered the oldest waiting call of their services;
- status change: that agent picks Business while ringing (offer withdrawn, call re-queued);
- plain status change: Business <-> Rest with nothing to route;
- call arrival: a call arrives with 10,000 Ready agents and is offered per longest-idle.
Prints median and p99 in microseconds. Run: .venv/bin/python bench/route.py

bench/growth.py calls `measure(agents=...)` for other agent counts: the same steps, their
figures returned (and printed when asked).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from ringdesk.core.commands import CtiLogin, SetStatus
from ringdesk.core.engine import Engine
from ringdesk.core.model import AgentConfig, AgentStatus, CtiSettings, ServiceConfig
from ringdesk.core.telephony import CallArrived, LegHungUp

AGENTS = 10_000
CALLS = 1_000
SERVICES = 20
ITERATIONS = 20_000


@dataclass(frozen=True)
class Figure:
    median_us: float
    p99_us: float
    runs: int


def _build(ready: bool, agents_count: int = AGENTS) -> tuple[Engine, list[int]]:
    rng = random.Random(7)
    counter = iter(range(10**9))
    services = [ServiceConfig(id=s, name=f"Service {s}") for s in range(1, SERVICES + 1)]
    agents = []
    for i in range(1, agents_count + 1):
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


def _figure(samples: list[float]) -> Figure:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return Figure(statistics.median(ordered), p99, len(ordered))


def _report(name: str, figure: Figure) -> None:
    print(
        f"{name:<34} median {figure.median_us:7.1f} us   p99 {figure.p99_us:7.1f} us"
        f"   ({figure.runs} runs)"
    )


def measure(
    agents: int = AGENTS, iterations: int = ITERATIONS, *, verbose: bool = False
) -> dict[str, Figure]:
    """The four figures (median and p99 in us) with `agents` agents, keyed by step name:
    routing, status, plain, arrival. `verbose`: printed as they come, as `main` does."""
    figures: dict[str, Figure] = {}
    try:
        _steps(agents, iterations, figures, verbose)
    finally:
        gc.unfreeze()  # called again with other sizes: the engines measured may go
        gc.collect()
    return figures


def _steps(agents: int, iterations: int, figures: dict[str, Figure], verbose: bool) -> None:
    def report(key: str, name: str, samples: list[float]) -> None:
        figures[key] = _figure(samples)
        if verbose:
            _report(name, figures[key])

    clock = time.perf_counter_ns
    engine, ids = _build(ready=False, agents_count=agents)
    gc.freeze()  # the long-lived setup is not re-scanned by every collection (as a server would)
    now = 1000.0
    for n in range(CALLS):
        engine.on_telephony(
            CallArrived(f"call{n}", f"leg{n}", 1 + n % SERVICES, "5551234", "5550100"), now
        )
    waiting = sum(len(q.waiting) for q in engine.queues())
    if verbose:
        print(f"# {agents} agents in {SERVICES} services, {waiting} waiting calls")
    rng = random.Random(1)
    routing: list[float] = []
    status: list[float] = []
    for _ in range(iterations):
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
    report("routing", "routing decision (Ready -> offer)", routing)
    report("status", "status change (Ringing -> Business)", status)

    plain: list[float] = []
    for i in range(iterations):
        agent = rng.choice(ids)
        target = AgentStatus.REST if i % 2 else AgentStatus.BUSINESS
        now += 0.01
        t0 = clock()
        engine.handle(SetStatus(agent, target), now)
        plain.append((clock() - t0) / 1000.0)
    report("plain", "status change (Business <-> Rest)", plain)

    engine, ids = _build(ready=True, agents_count=agents)
    gc.freeze()
    arrival: list[float] = []
    now = 100_000.0
    for n in range(iterations):
        now += 0.01
        event = CallArrived(f"c{n}", f"l{n}", 1 + n % SERVICES, "5551234", "5550100")
        t0 = clock()
        out = engine.on_telephony(event, now)
        arrival.append((clock() - t0) / 1000.0)
        assert any(type(e).__name__ == "CallOffered" for e in out.events)
        engine.on_telephony(LegHungUp(f"l{n}"), now)  # caller gives up; the agent is Ready again
    report("arrival", f"call arrival ({agents:,} Ready agents)", arrival)


def main() -> int:
    measure(AGENTS, ITERATIONS, verbose=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
