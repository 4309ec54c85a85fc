"""SIP bans kept in the data dir: written private when one is made or lifted, bad and ended
rows skipped when read back, and a new switch on the same data dir drops the banned source."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path

import pytest

from ringdesk.switch import Switch
from ringdesk.switch.gate import Ban, Gate, GateSettings
from ringdesk.switch.persist import BANS_FILE, load_bans, save_bans

from .harness import Events, FakeDirectory, FakeMedia

ATTACKER = ("192.0.2.7", 5062)


def test_saved_bans_come_back_and_ended_or_bad_rows_do_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / BANS_FILE
    save_bans(path, [Ban("192.0.2.7", "flood", 100.0, 700.0), Ban("2001:db8::1", "x", 1, 900)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = json.loads(path.read_text())
    rows += [
        {"address": "not-an-ip", "reason": "flood", "since": 1, "until": 900},
        {"address": "192.0.2.8", "reason": "", "since": 1, "until": 900},
        {"address": "192.0.2.9", "reason": "flood", "since": 1, "until": "soon"},
        {"address": "192.0.2.10", "reason": "flood", "since": 1, "until": float("nan")},
        {"address": "192.0.2.11", "reason": "flood", "since": 1},
        ["192.0.2.12", "flood", 1, 900],
        {"address": "192.0.2.13", "reason": "flood", "since": 1, "until": 500.0},  # ended
    ]
    path.write_text(json.dumps(rows))
    loaded = load_bans(path, now=600.0)
    assert loaded == [Ban("192.0.2.7", "flood", 100.0, 700.0), Ban("2001:db8::1", "x", 1, 900)]
    assert caplog.text.count("skipping an unreadable row") == 6

    gate = Gate(GateSettings())
    assert gate.restore(loaded, 600.0) == 2
    assert not gate.admit(ATTACKER, b"REGISTER", 650.0)
    assert gate.admit(ATTACKER, b"REGISTER", 700.0)  # its until is kept, not restarted
    assert load_bans(tmp_path / "missing.json", 0.0) == []
    path.write_text("{not json")
    assert load_bans(path, 0.0) == []


def test_restore_keeps_the_later_of_two_bans_of_one_address() -> None:
    gate = Gate(GateSettings(ban_seconds=600))
    gate.ban("192.0.2.7", "flood", 100.0)  # until 700
    assert gate.restore([Ban("192.0.2.7", "auth_failures", 50.0, 650.0)], 100.0) == 0
    assert gate.bans(100.0)[0].until == 700.0
    assert gate.restore([Ban("192.0.2.7", "auth_failures", 90.0, 800.0)], 100.0) == 1
    assert gate.bans(100.0)[0].until == 800.0


def test_changed_is_called_when_a_ban_is_made_or_lifted() -> None:
    gate = Gate(GateSettings(auth_failures=1))
    calls: list[int] = []
    gate.changed = lambda: calls.append(1)
    gate.auth_failed(ATTACKER, 100.0)
    assert len(calls) == 1
    gate.sweep(10_000.0)  # an ended ban needs no write: it is dropped when read back
    assert len(calls) == 1
    gate.ban("192.0.2.8", "manual", 100.0)
    assert gate.lift("192.0.2.8")
    assert not gate.lift("192.0.2.8")
    assert len(calls) == 3


async def test_a_new_switch_on_the_same_data_dir_keeps_the_ban(tmp_path: Path) -> None:
    def switch() -> Switch:
        return Switch(
            "127.0.0.1",
            0,
            directory=FakeDirectory(tmp_path),
            sink=Events(),
            data_dir=tmp_path,
            media=FakeMedia(),
            gate=GateSettings(auth_failures=2, ban_seconds=600),
        )

    first = switch()
    await first.start()
    try:
        first.gate.auth_failed(ATTACKER, time.time())
        first.gate.auth_failed(ATTACKER, time.time())
        [ban] = first.gate.bans(time.time())
        for _ in range(100):  # written FLUSH_DELAY after the change
            if (tmp_path / BANS_FILE).exists():
                break
            await asyncio.sleep(0.02)
        assert load_bans(tmp_path / BANS_FILE, time.time()) == [ban]
    finally:
        await first.stop()
    second = switch()
    await second.start()
    try:
        assert second.gate.bans(time.time()) == [ban]
        assert second.gate.banned(ATTACKER[0], time.time())
        # An admin's lift from a web worker thread: saved from the loop, the file forgets it.
        await asyncio.get_running_loop().run_in_executor(None, second.gate.lift, ATTACKER[0])
        for _ in range(100):
            if load_bans(tmp_path / BANS_FILE, time.time()) == []:
                break
            await asyncio.sleep(0.02)
        assert load_bans(tmp_path / BANS_FILE, time.time()) == []
    finally:
        await second.stop()
