"""Store cost per call: the database writes of one inbound call, as the runtime makes them.

Each call is the five transactions the runtime commits for an inbound call that is answered
(arrival and offer; connect, ticket and On Call; end and Ticket Processing; back to Ready), with
the recorder's real statements on a migrated database holding the demo tenant. The figure is
wall time per call on one core, and how many SQL statements a call costs.

    python bench/store.py [--calls 3000] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ringdesk.core import events as ev  # noqa: E402
from ringdesk.core.model import AgentStatus, CallOutcome, Direction  # noqa: E402
from ringdesk.store import demo, migrate  # noqa: E402
from ringdesk.store.db import make_engine, make_sessionmaker  # noqa: E402
from ringdesk.store.recorder import Recorder  # noqa: E402
from ringdesk.store.secrets import load_box  # noqa: E402

AGENT = 2  # alice in the demo tenant
SERVICE = 1


def call_batches(n: int, t: float) -> list[list[Any]]:
    call_id = f"bench-{n}"
    ready, ringing, on_call, wrap = (
        AgentStatus.READY,
        AgentStatus.RINGING,
        AgentStatus.ON_CALL,
        AgentStatus.TICKET_PROCESSING,
    )
    return [
        [
            ev.CallQueued(call_id, SERVICE, "5551234", "5550100", 1, t),
            ev.CallOffered(call_id, AGENT, SERVICE, "5551234", t + 20, t),
            ev.AgentStatusChanged(AGENT, ringing, ready, t),
        ],
        [
            ev.CallConnected(call_id, AGENT, SERVICE, Direction.INBOUND, "5551234", 0.1, t),
            ev.TicketOpened(call_id, AGENT, SERVICE, Direction.INBOUND, "5551234", t),
            ev.AgentStatusChanged(AGENT, on_call, ready, t),
        ],
        [
            ev.CallEnded(
                call_id,
                SERVICE,
                Direction.INBOUND,
                AGENT,
                CallOutcome.ANSWERED,
                0.1,
                0.5,
                "customer",
                t + 0.5,
            ),
            ev.AgentStatusChanged(AGENT, wrap, ready, t + 0.5),
        ],
        [ev.AgentStatusChanged(AGENT, ready, ready, t + 1.5)],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/ringdesk.db"
        migrate.upgrade(url)
        engine = make_engine(url, load_box(Path(tmp)))  # the demo's phone passwords are sealed
        with make_sessionmaker(engine)() as db:
            demo.seed(db)
            db.commit()
        recorder = Recorder()
        per_call: list[float] = []
        base = time.time()
        for n in range(args.calls):
            batches = call_batches(n, base + n)
            started = time.perf_counter()
            for events in batches:
                with engine.begin() as conn:
                    recorder.apply(conn, events)
            per_call.append(time.perf_counter() - started)
        engine.dispose()
        statements = recorder.statements
    per_call.sort()
    print(f"store writes of one answered inbound call, {args.calls} calls, {url.split(':')[0]}")
    print(
        f"  median {statistics.median(per_call) * 1e6:.0f} us, "
        f"p99 {per_call[int(0.99 * len(per_call))] * 1e6:.0f} us per call; "
        f"{statements / args.calls:.1f} SQL statements and {len(batches)} commits per call"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
