"""Registrations survive a restart: a phone that registered for an hour would otherwise be
unreachable until its next refresh. Bindings are written to the data dir with wall-clock
expiry and read back at start."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from pathlib import Path

from ringdesk.sip.registrar import Binding
from ringdesk.sip.uri import parse_uri

log = logging.getLogger(__name__)


def save_bindings(path: Path, bindings: list[Binding], now: float) -> None:
    """`now` is the clock the bindings' expires_at is on (the loop's)."""
    wall = time.time()
    rows = [
        {
            "cti_id": b.cti_id,
            "uri": str(b.uri),
            "expires_wall": wall + (b.expires_at - now),
            "call_id": b.call_id,
            "cseq": b.cseq,
            "source": list(b.source),
            "transport": b.transport,
        }
        for b in bindings
    ]
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(rows))
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not save registrations to %s: %s", path, exc)


def load_bindings(path: Path, now: float) -> list[Binding]:
    try:
        rows = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return []
    wall = time.time()
    out: list[Binding] = []
    for row in rows if isinstance(rows, list) else []:
        with contextlib.suppress(Exception):  # one bad row must not lose the others
            if row["transport"] != "udp":
                continue  # a TCP connection does not survive the restart: the phone re-registers
            out.append(
                Binding(
                    cti_id=str(row["cti_id"]),
                    uri=parse_uri(str(row["uri"])),
                    expires_at=now + (float(row["expires_wall"]) - wall),
                    call_id=str(row["call_id"]),
                    cseq=int(row["cseq"]),
                    source=(str(row["source"][0]), int(row["source"][1])),
                    transport="udp",
                )
            )
    return out
