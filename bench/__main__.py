"""`make bench`: runs every benchmark script in this folder and prints its figures.

Each script prints its own figures; they go into docs/benchmarks.md by hand, with the machine.
Run one with `python -m bench route` (names without .py).
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ORDER = [
    "route",
    "store",
    "api",
    "ws_fanout",
    "media",
    "rtp_peer",
    "srtp",
    "webrtc_srtp",
    "webrtc_calls",
    "sip_cps",
    "dtmf",
    "menu_keys",
    "growth",
]


def main(argv: list[str]) -> int:
    names = argv or [n for n in ORDER if (HERE / f"{n}.py").exists()]
    print(f"# {platform.node()} {platform.machine()} python {platform.python_version()}")
    failed = 0
    for name in names:
        script = HERE / f"{name}.py"
        print(f"\n## bench/{name}.py", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        if rc != 0:
            print(f"bench/{name}.py exited with {rc}", flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
