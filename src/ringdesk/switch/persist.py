"""What the switch keeps in the data dir across a restart (a crash included).

Registrations: a phone that registered for an hour would otherwise be unreachable until its
next refresh. Bindings are written with wall-clock expiry and read back at start.

Live dialogs: a call cannot survive the restart of the switch that carried it, but its peers do
not know that: without a BYE the agent's phone stays in the dead call and the trunk keeps
billing it. What an in-dialog BYE needs (Call-ID, tags, URIs, remote target, route set, our
CSeq, transport and destination) is written for every answered leg, coalesced: a change marks
the file and one write FLUSH_DELAY later covers every change since, so a burst of call setups
costs one write, not one each (each row's JSON is kept and reused until its dialog changes).
At start the switch sends each a BYE and forgets it once answered or timed out. A phone of an
agent's over TCP, TLS or a WebSocket can only be reached over a connection it opens, and that
died with the switch: its dialogs wait (orphans.py) for the phone to register again and get
their BYE over the new connection.

SIP bans (gate.py): a restart must not lift an attacker's ban. Each ban's address, reason and
wall-clock since/until are written when one is made or lifted; at start those not ended yet
are taken back (an ended one is dropped as it is read).

All three files are written whole to a temporary file (mode 0600: they say who talks to whom) and
renamed over the old one, so a crash mid-write leaves the previous version; a row that cannot
be read is skipped, never the whole file.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ringdesk.sip.dialog import Dialog
from ringdesk.sip.registrar import Binding
from ringdesk.sip.uri import parse_uri

from .gate import Ban

log = logging.getLogger(__name__)

Address = tuple[str, int]
FLUSH_DELAY = 0.2  # seconds from the first change to the write that covers it
DIALOGS_FILE = "sip-dialogs.json"
BANS_FILE = "sip-bans.json"
TRANSPORTS = ("udp", "tcp", "tls", "ws", "wss")


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically, readable by the owner only (0600)."""
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a left-over temporary file keeps its mode otherwise
        with os.fdopen(fd, "w", closefd=False) as out:
            out.write(text)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _read_rows(path: Path, what: str) -> list[object]:
    try:
        rows = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s %s: %s", what, path, exc)
        return []
    return rows if isinstance(rows, list) else []


def _binding_row(b: Binding, offset: float) -> dict[str, object]:
    """`offset`: wall clock minus the clock the binding's expires_at is on."""
    return {
        "cti_id": b.cti_id,
        "uri": str(b.uri),
        "expires_wall": b.expires_at + offset,
        "call_id": b.call_id,
        "cseq": b.cseq,
        "source": list(b.source),
        "transport": b.transport,
    }


def load_bindings(path: Path, now: float) -> list[Binding]:
    wall = time.time()
    out: list[Binding] = []
    for row in _read_rows(path, "registrations"):
        if not isinstance(row, dict):
            continue
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


# ---- SIP bans -------------------------------------------------------------------------------


def save_bans(path: Path, bans: Iterable[Ban]) -> None:
    rows = [
        {"address": b.address, "reason": b.reason, "since": b.since, "until": b.until} for b in bans
    ]
    try:
        write_private(path, json.dumps(rows))
    except OSError as exc:
        log.warning("could not save the SIP bans to %s: %s", path, exc)


def load_bans(path: Path, now: float) -> list[Ban]:
    """The saved bans not ended by `now` (wall clock); a row that cannot be read is skipped."""
    out: list[Ban] = []
    for row in _read_rows(path, "SIP bans"):
        try:
            if not isinstance(row, dict):
                raise TypeError("not an object")
            address = str(ipaddress.ip_address(str(row["address"])))
            reason = str(row["reason"])
            if not reason:
                raise ValueError("no reason")
            since, until = float(row["since"]), float(row["until"])
            if not (math.isfinite(since) and math.isfinite(until)):
                raise ValueError("since/until not finite")
        except Exception as exc:  # one bad row must not lose the others
            log.warning("skipping an unreadable row of %s: %r", path, exc)
            continue
        if until > now:
            out.append(Ban(address, reason, since, until))
    return out


# ---- live dialogs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SavedDialog:
    """A dialog that was live when the switch stopped: enough to send it a BYE."""

    dialog: Dialog
    transport: str  # "udp", "tcp", "tls", "ws" or "wss"
    dest: Address  # where its requests went (for UDP; a stream reconnects to the target)
    cti_id: str | None = None  # the agent whose phone this leg rang (its next REGISTER ends it)


def dialog_row(dialog: Dialog, transport: str, dest: Address, cti_id: str | None = None) -> str:
    """One row of the dialogs file, as JSON text."""
    row = dialog.to_row()
    row["transport"] = transport
    row["dest"] = [dest[0], dest[1]]
    if cti_id:
        row["cti_id"] = cti_id
    row["saved_wall"] = round(time.time(), 3)
    return json.dumps(row)


def load_dialogs(path: Path) -> list[SavedDialog]:
    out: list[SavedDialog] = []
    for row in _read_rows(path, "dialogs"):
        try:
            if not isinstance(row, dict):
                raise TypeError("not an object")
            transport = str(row["transport"])
            if transport not in TRANSPORTS:
                raise ValueError(f"unknown transport {transport!r}")
            dest = row["dest"]
            port = int(dest[1])
            if not 0 < port < 65536:
                raise ValueError(f"bad port {port}")
            cti_id = row.get("cti_id")
            if cti_id is not None and (not isinstance(cti_id, str) or not cti_id):
                raise ValueError(f"bad cti_id {cti_id!r}")
            dialog = Dialog.from_row(row)
            out.append(SavedDialog(dialog, transport, (str(dest[0]), port), cti_id))
        except Exception as exc:  # one bad row must not lose the others
            log.warning("skipping an unreadable row of %s: %r", path, exc)
    return out


# A dialog, its transport, where its requests go, the agent whose phone it is on (or None).
LiveDialog = tuple[Dialog, str, Address, str | None]


class Journal:
    """A file rewritten whole, `delay` seconds after a change (`mark`), with what `_render`
    makes then: a burst of changes costs one write.

    The text is made on the loop (subclasses keep each row's text and reuse it until its
    subject changes); the write and rename run in a worker thread, one at a time, the newest
    text next: on ext4 a rename over a file flushes the new file's data first, which under disk
    load takes milliseconds the loop must not wait."""

    what = "file"
    delay = FLUSH_DELAY

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: asyncio.Handle | None = None
        self._lock = threading.Lock()  # one writer of the file at a time
        self._writing = False  # a worker thread is writing
        self._next: str | None = None  # the text to write once it is done
        self.writes = 0  # how many times the file was written (for tests and the bench)

    def mark(self) -> None:
        if self._pending is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self.delay > 0:
            self._pending = loop.call_later(self.delay, self.flush)
        else:
            self._pending = loop.call_soon(self.flush)

    def flush(self, *, wait: bool = False) -> None:
        """Write what is live now: in a worker thread, or here when `wait` (at shutdown, after
        any write under way)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        text = self._render()
        if wait:
            self._next = None
            self._write(text)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write(text)
            return
        if self._writing:
            self._next = text  # written as soon as the current write is done
            return
        self._start(loop, text)

    def _start(self, loop: asyncio.AbstractEventLoop, text: str) -> None:
        self._writing = True
        done = loop.run_in_executor(None, self._write, text)
        done.add_done_callback(lambda _f: self._written(loop))

    def _written(self, loop: asyncio.AbstractEventLoop) -> None:
        self._writing = False
        if self._next is not None and not loop.is_closed():
            text, self._next = self._next, None
            self._start(loop, text)

    def _write(self, text: str) -> None:
        with self._lock:
            try:
                write_private(self.path, text)
                self.writes += 1
            except OSError as exc:
                log.warning("could not save %s to %s: %s", self.what, self.path, exc)

    def _render(self) -> str:
        raise NotImplementedError

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


class DialogJournal(Journal):
    """The dialogs file, with what `live` lists when it is written. `stale` tells whether a
    dialog's CSeq moved since the last write (a re-INVITE, a refresh): the housekeeping marks
    the file then, so a BYE after a crash is not refused as out of order."""

    what = "the live dialogs"

    def __init__(self, path: Path, live: Callable[[], Iterable[LiveDialog]]) -> None:
        super().__init__(path)
        self._live = live
        self._texts: dict[tuple[str, str], tuple[int, str, Address, str]] = {}

    def stale(self) -> bool:
        count = 0
        for dialog, _tp, _dest, _cti_id in self._live():
            count += 1
            known = self._texts.get((dialog.call_id, dialog.local_tag))
            if known is None or known[0] != dialog.local_seq:
                return True
        return count != len(self._texts)

    def _render(self) -> str:
        texts: dict[tuple[str, str], tuple[int, str, Address, str]] = {}
        for dialog, tp, dest, cti_id in self._live():
            key = (dialog.call_id, dialog.local_tag)
            known = self._texts.get(key)
            if known is None or known[0] != dialog.local_seq or known[2] != dest or known[3] != tp:
                known = (dialog.local_seq, dialog_row(dialog, tp, dest, cti_id), dest, tp)
            texts[key] = known
        self._texts = texts
        return "[" + ",\n".join(t[1] for t in texts.values()) + "]"


class BindingsJournal(Journal):
    """The registrations file (a row per binding, `_binding_row`), rewritten on the loop's next
    turn after a change: the REGISTERs of one burst cost one write, and a binding is on disk
    a moment after its 200, as before. Each binding's row text is kept while the binding
    object is the same (a refresh makes a new one), so a write with 10,000 phones registered
    joins 10,000 strings instead of serialising them all again."""

    what = "registrations"
    delay = 0.0

    def __init__(
        self, path: Path, bindings: Callable[[], Iterable[Binding]], clock: Callable[[], float]
    ) -> None:
        super().__init__(path)
        self._bindings = bindings
        self._clock = clock  # the clock the bindings' expires_at is on
        self._rows: dict[int, tuple[Binding, float, str]] = {}  # id -> binding, offset, text

    def _render(self) -> str:
        offset = time.time() - self._clock()
        rows: dict[int, tuple[Binding, float, str]] = {}
        for binding in self._bindings():
            known = self._rows.get(id(binding))
            # the object itself is kept in the entry, so its id is not reused while cached; a
            # wall clock that stepped by more than a second re-dates every row
            if known is None or known[0] is not binding or abs(known[1] - offset) > 1.0:
                known = (binding, offset, json.dumps(_binding_row(binding, offset)))
            rows[id(binding)] = known
        self._rows = rows
        return "[" + ",\n".join(r[2] for r in rows.values()) + "]"
