"""Live dialogs kept in the data dir: written (coalesced) when calls are answered and when they
end, and after a crash the next switch sends each a BYE its peer accepts, then forgets it."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from ringdesk.core.telephony import Bridge, CallArrived, LegAnswered, RingAgent
from ringdesk.sip.dialog import Dialog
from ringdesk.sip.message import Request, Response, make_response
from ringdesk.sip.uri import parse_name_addr, parse_uri
from ringdesk.switch import Switch
from ringdesk.switch.persist import DIALOGS_FILE, dialog_row, load_dialogs

from .harness import Events, FakeDirectory, FakeMedia, Peer, answer_auth, sdp, until


def _rows(data_dir: Path) -> list[dict[str, object]]:
    path = data_dir / DIALOGS_FILE
    if not path.exists():
        return []
    rows = json.loads(path.read_text())
    assert isinstance(rows, list)
    return rows


def _new_switch(tmp_path: Path, events: Events, directory: FakeDirectory) -> Switch:
    return Switch(
        "127.0.0.1", 0, directory=directory, sink=events, data_dir=tmp_path, media=FakeMedia()
    )


async def _crash(switch: Switch) -> None:
    """What kill -9 does to the switch: nothing more is sent, no BYE, no last write."""
    switch.dialogs.cancel()
    for task in list(switch.state.tasks):
        task.cancel()
    await switch.state.stack.stop()
    switch.state.legs.clear()  # so the fixture's stop() has nobody to hang up


async def _register(switch: Switch, phone: Peer) -> None:
    ruri = f"sip:127.0.0.1:{switch.local_port}"
    to = "<sip:1001@ringdesk.local>"
    phone.request("REGISTER", ruri, call_id=f"reg-{phone.port}", to=to, extra="Expires: 600\r\n")
    challenge = await phone.expect_response(401)
    auth = answer_auth(challenge, "1001", "phone1001-demo", ruri)
    phone.request(
        "REGISTER",
        ruri,
        call_id=f"reg-{phone.port}",
        cseq=2,
        to=to,
        extra="Expires: 600\r\n" + auth,
    )
    await phone.expect_response(200)


async def _inbound(switch: Switch, events: Events, caller: Peer, call_id: str) -> Response:
    ruri = f"sip:5550100@127.0.0.1:{switch.local_port}"
    caller.request("INVITE", ruri, call_id=call_id, body=sdp(30000))
    arrived = await events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await caller.expect_response(200)
    caller.request("ACK", ruri, call_id=call_id, to=ok.headers.get("to"))
    return ok


async def test_answered_calls_are_written_private_and_removed_when_they_end(
    switch_rig: tuple[Switch, FakeDirectory, Events], tmp_path: Path
) -> None:
    switch, _directory, events = switch_rig
    caller = await Peer().open(("127.0.0.1", switch.local_port))
    ok = await _inbound(switch, events, caller, "keep-1")
    await until(lambda: len(_rows(tmp_path)) == 1)
    path = tmp_path / DIALOGS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    row = _rows(tmp_path)[0]
    assert row["call_id"] == "keep-1"
    assert row["local_tag"] == ok.to_addr.tag and row["remote_tag"] == caller.tag
    assert row["remote_target"] == f"sip:peer@127.0.0.1:{caller.port}"
    assert row["transport"] == "udp" and row["dest"] == ["127.0.0.1", caller.port]
    # The caller hangs up: the dialog leaves the file.
    caller.request(
        "BYE",
        f"sip:ringdesk@127.0.0.1:{switch.local_port}",
        call_id="keep-1",
        cseq=2,
        to=ok.headers.get("to"),
    )
    await caller.expect_response(200)
    await until(lambda: _rows(tmp_path) == [])
    caller.close()


async def test_a_burst_of_answers_is_one_write(
    switch_rig: tuple[Switch, FakeDirectory, Events], tmp_path: Path
) -> None:
    switch, _directory, events = switch_rig
    callers = [await Peer().open(("127.0.0.1", switch.local_port)) for _ in range(20)]
    before = switch.dialogs.writes
    ruri = f"sip:5550100@127.0.0.1:{switch.local_port}"
    for n, caller in enumerate(callers):
        caller.request("INVITE", ruri, call_id=f"burst-{n}", body=sdp(30000 + 2 * n))
    for _ in callers:
        arrived = await events.wait_for(CallArrived)
        assert isinstance(arrived, CallArrived)
        switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    await until(lambda: len(_rows(tmp_path)) == 20)
    assert switch.dialogs.writes - before <= 3, switch.dialogs.writes - before
    for caller in callers:
        caller.close()


async def test_after_a_crash_both_legs_of_a_call_get_a_bye(tmp_path: Path) -> None:
    directory = FakeDirectory(tmp_path)
    events = Events()
    first = _new_switch(tmp_path, events, directory)
    await first.start()
    caller = await Peer().open(("127.0.0.1", first.local_port))
    phone = await Peer().open(("127.0.0.1", first.local_port))
    second: Switch | None = None
    try:
        await _register(first, phone)
        ok = await _inbound(first, events, caller, "crash-1")
        # The agent's phone answers its leg.
        first.execute(RingAgent("c1", "agent-leg", 2, "1001"))
        invite = await phone.expect_request("INVITE")
        assert isinstance(invite, Request)
        phone.send(
            make_response(
                invite,
                200,
                to_tag="phonetag",
                headers=[
                    ("Contact", f"<sip:agent@127.0.0.1:{phone.port}>"),
                    ("Content-Type", "application/sdp"),
                ],
                body=sdp(31000).encode(),
            )
        )
        assert await events.wait_for(LegAnswered) == LegAnswered("agent-leg")
        await phone.expect_request("ACK")
        await until(lambda: len(_rows(tmp_path)) == 2)
        await _crash(first)

        second = _new_switch(tmp_path, events, directory)
        await second.start()
        caller.switch = phone.switch = ("127.0.0.1", second.local_port)  # where answers go
        to_caller = await caller.expect_request("BYE")
        to_phone = await phone.expect_request("BYE")
        # In the dialogs the calls had: tags, Call-IDs, targets, a CSeq above the last one.
        assert to_caller.call_id == "crash-1"
        assert to_caller.from_addr.tag == ok.to_addr.tag
        assert to_caller.to_addr.tag == caller.tag
        assert str(to_caller.uri) == f"sip:peer@127.0.0.1:{caller.port}"
        assert to_caller.cseq == (1, "BYE")  # our first request in that dialog
        assert to_phone.call_id == invite.call_id
        assert to_phone.from_addr.tag == invite.from_addr.tag
        assert to_phone.to_addr.tag == "phonetag"
        assert to_phone.cseq == (invite.cseq[0] + 1, "BYE")
        assert str(to_phone.uri) == f"sip:agent@127.0.0.1:{phone.port}"
        assert "restarted" in (to_phone.headers.get("reason") or "")
        assert not second.legs  # nothing the engine hears of: recovery closed the records
        phone.send(make_response(to_phone, 200))
        await until(lambda: len(_rows(tmp_path)) == 1)  # the answered one is forgotten
        caller.send(make_response(to_caller, 200))
        await until(lambda: _rows(tmp_path) == [])
    finally:
        caller.close()
        phone.close()
        await first.stop()
        if second is not None:
            await second.stop()


async def test_a_bad_row_loses_only_itself(tmp_path: Path) -> None:
    good = Dialog(
        call_id="good-1",
        local_tag="ours",
        remote_tag="theirs",
        local=parse_name_addr("<sip:5550100@ringdesk.local>"),
        remote=parse_name_addr('"Customer" <sip:5551234@127.0.0.1>'),
        remote_target=parse_uri("sip:peer@127.0.0.1:5999"),
        route_set=["<sip:proxy.example;lr>"],
        local_seq=4,
    )
    path = tmp_path / DIALOGS_FILE
    rows = [
        {"call_id": "broken"},  # fields missing
        "not a row",
        json.loads(dialog_row(good, "udp", ("127.0.0.1", 5999))),
        {**json.loads(dialog_row(good, "udp", ("127.0.0.1", 5999))), "remote_target": "bad:"},
        {**json.loads(dialog_row(good, "sctp", ("127.0.0.1", 5999)))},
    ]
    path.write_text(json.dumps(rows))
    loaded = load_dialogs(path)
    assert [s.dialog for s in loaded] == [good]
    assert loaded[0].dest == ("127.0.0.1", 5999) and loaded[0].transport == "udp"
    path.write_text("{not json")
    assert load_dialogs(path) == []


async def test_a_bye_nobody_answers_is_given_up(tmp_path: Path) -> None:
    """A peer gone for good: the BYE is retransmitted, then (timer F) the dialog is dropped,
    here sped up by failing the transaction as the ICMP error of a closed port does."""
    gone = await Peer().open(("127.0.0.1", 9))
    port = gone.port
    gone.close()  # nobody listens there any more: the BYE draws port unreachable
    dialog = Dialog(
        call_id="gone-1",
        local_tag="ours",
        remote_tag="theirs",
        local=parse_name_addr("<sip:5550100@ringdesk.local>"),
        remote=parse_name_addr("<sip:5551234@127.0.0.1>"),
        remote_target=parse_uri(f"sip:peer@127.0.0.1:{port}"),
        local_seq=1,
    )
    (tmp_path / DIALOGS_FILE).write_text("[" + dialog_row(dialog, "udp", ("127.0.0.1", port)) + "]")
    switch = _new_switch(tmp_path, Events(), FakeDirectory(tmp_path))
    await switch.start()
    try:
        await until(lambda: _rows(tmp_path) == [], timeout=10)
    finally:
        await switch.stop()


async def test_a_slow_disk_never_holds_the_loop_and_the_newest_list_is_written_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ringdesk.switch import persist

    real = persist.write_private

    def slow(path: Path, text: str) -> None:
        time.sleep(0.3)  # a rename over the old file waiting for the disk
        real(path, text)

    monkeypatch.setattr(persist, "write_private", slow)
    live: list[persist.LiveDialog] = []
    journal = persist.DialogJournal(tmp_path / DIALOGS_FILE, lambda: list(live))
    started = time.monotonic()
    journal.flush()  # [] goes to the worker
    dialog = Dialog(
        call_id="late-1",
        local_tag="ours",
        remote_tag="theirs",
        local=parse_name_addr("<sip:5550100@ringdesk.local>"),
        remote=parse_name_addr("<sip:5551234@127.0.0.1>"),
        remote_target=parse_uri("sip:peer@127.0.0.1:5999"),
        local_seq=1,
    )
    live.append((dialog, "udp", ("127.0.0.1", 5999), None))
    journal.flush()  # while the first write is still under way: queued
    assert time.monotonic() - started < 0.1  # the loop did not wait for the disk
    await until(lambda: journal.writes == 2, timeout=5)
    assert [r["call_id"] for r in _rows(tmp_path)] == ["late-1"]
