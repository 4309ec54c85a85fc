"""The registrations file with thousands of phones: a burst of REGISTERs is one write on the
loop's next turn, each binding's row is made once, and what is read back is what was held."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

from ringdesk.sip.registrar import Binding
from ringdesk.sip.uri import parse_uri
from ringdesk.switch import persist

from .harness import until


def _binding(n: int, expires_at: float = 500.0, cseq: int = 1) -> Binding:
    cti_id = f"{1000 + n}"
    return Binding(
        cti_id,
        parse_uri(f"sip:{cti_id}@10.0.0.{n % 250 + 1}:5060"),
        expires_at,
        f"call-{n}",
        cseq,
        (f"10.0.0.{n % 250 + 1}", 5060),
    )


async def test_a_burst_of_changes_is_one_write_of_every_binding(tmp_path: Path) -> None:
    held = [_binding(n) for n in range(2000)]
    path = tmp_path / "sip-registrations.json"
    journal = persist.BindingsJournal(path, lambda: held, lambda: 100.0)
    for _ in range(500):  # 500 REGISTERs answered in one turn of the loop
        journal.mark()
    assert journal.writes == 0  # nothing written inside the turn
    await until(lambda: journal.writes >= 1)
    await asyncio.sleep(0.1)
    assert journal.writes == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    restored = persist.load_bindings(path, 100.0)
    assert [(b.cti_id, b.uri, b.call_id, b.cseq, b.source) for b in restored] == [
        (b.cti_id, b.uri, b.call_id, b.cseq, b.source) for b in held
    ]
    assert all(abs(b.expires_at - 500.0) < 1.0 for b in restored)  # the same expiry


async def test_an_unchanged_binding_keeps_its_row_and_a_refresh_gets_a_new_one(
    tmp_path: Path,
) -> None:
    held = [_binding(n) for n in range(3)]
    journal = persist.BindingsJournal(tmp_path / "r.json", lambda: held, lambda: 100.0)
    first = journal._render()
    texts = {id(b): text for b, _offset, text in journal._rows.values()}
    held[1] = _binding(1, expires_at=900.0, cseq=2)  # the phone refreshed: a new binding
    second = journal._render()
    again = {id(b): text for b, _offset, text in journal._rows.values()}
    assert again[id(held[0])] is texts[id(held[0])]  # reused, not serialised again
    assert again[id(held[2])] is texts[id(held[2])]
    assert first != second
    rows = json.loads(second)
    assert rows[1]["cseq"] == 2 and rows[0] == json.loads(first)[0]


def test_without_a_loop_and_at_shutdown_the_write_is_immediate(tmp_path: Path) -> None:
    held = [_binding(1)]
    path = tmp_path / "sip-registrations.json"
    journal = persist.BindingsJournal(path, lambda: held, lambda: 100.0)
    journal.mark()  # no running loop (a command-line tool, a test): written here
    assert journal.writes == 1 and [b.cti_id for b in persist.load_bindings(path, 100.0)]
    held.clear()
    journal.flush(wait=True)
    assert json.loads(path.read_text()) == []
