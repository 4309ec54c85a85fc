"""After a crash, a call on a phone reached over a connection it opened (TCP, a browser's
WebSocket; TLS alike) waits for that phone to register again and gets its BYE over the new
connection; a phone that does not come back within the wait is dropped with one log line.
Real sockets on loopback (the TLS case with a real baresip is tests/e2e/test_tls.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from ringdesk.sip.dialog import Dialog
from ringdesk.sip.message import Request, Response, make_response, parse_message
from ringdesk.sip.uri import parse_name_addr, parse_uri
from ringdesk.switch import Switch
from ringdesk.switch.orphans import WaitingOrphans
from ringdesk.switch.persist import DIALOGS_FILE, dialog_row
from ringdesk.switch.websocket import WsPeer

from .harness import Events, until
from .test_connections import _call_on, _registered_phone, _switch


def test_waiting_dialogs_are_taken_by_their_agent_or_expire() -> None:
    waiting = WaitingOrphans(wait=300.0)
    waiting.add(("call-1", "t1"), "1001", 100.0)
    waiting.add(("call-2", "t2"), "1001", 100.0)
    waiting.add(("call-3", "t3"), "1002", 150.0)
    assert len(waiting) == 3 and ("call-3", "t3") in waiting
    assert waiting.registered("1009", 120.0) == []  # someone else's phone
    assert waiting.registered("1001", 120.0) == [("call-1", "t1"), ("call-2", "t2")]
    assert waiting.registered("1001", 121.0) == []  # taken once
    assert waiting.expire(449.0) == []
    assert waiting.registered("1002", 450.0) == []  # too late: no BYE over a new connection
    assert waiting.expire(450.0) == [("call-3", "t3")]
    assert len(waiting) == 0
    waiting.add(("call-4", "t4"), "1003", 0.0)
    waiting.discard(("call-4", "t4"))  # answered some other way
    assert waiting.expire(1000.0) == []


def _rows(data_dir: Path) -> list[dict[str, object]]:
    path = data_dir / DIALOGS_FILE
    return json.loads(path.read_text()) if path.exists() else []


async def _crash(switch: Switch) -> None:
    """What kill -9 does: nothing more is sent, no BYE, no last write; connections drop."""
    switch.dialogs.cancel()
    for task in list(switch.state.tasks):
        task.cancel()
    await switch.state.stack.stop()
    switch.state.legs.clear()


async def _call_before_a_crash(tmp_path: Path, events: Events) -> tuple[Switch, str]:
    first = _switch(tmp_path, events)
    await first.start()
    phone = await _registered_phone(first)
    call_id = await _call_on(first, events, phone)
    await until(lambda: len(_rows(tmp_path)) == 1)
    [row] = _rows(tmp_path)
    assert (row["transport"], row["cti_id"]) == ("tcp", "1001")
    await _crash(first)
    phone.close()
    return first, call_id


async def test_a_tcp_phone_gets_its_bye_when_it_registers_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "ringdesk.switch")
    events = Events()
    first, call_id = await _call_before_a_crash(tmp_path, events)
    second = _switch(tmp_path, events)
    await second.start()
    try:
        await asyncio.sleep(0.3)
        assert [r["call_id"] for r in _rows(tmp_path)] == [call_id]  # waiting, not given up
        assert "BYE sent to 0, 1 wait for their phones to register again" in caplog.text
        phone = await _registered_phone(second)  # a new connection, a new REGISTER
        bye = await phone.message()
        assert isinstance(bye, Request) and bye.method == "BYE" and bye.call_id == call_id
        assert bye.to_addr.tag == "agenttag"
        assert "restarted" in (bye.headers.get("reason") or "")
        assert (bye.headers.get("via") or "").startswith("SIP/2.0/TCP ")
        phone.send(make_response(bye, 200).to_bytes())
        await until(lambda: _rows(tmp_path) == [])  # answered: forgotten
        assert len(second._waiting) == 0
        phone.close()
    finally:
        await second.stop()
        await first.stop()


async def test_a_phone_that_does_not_come_back_is_dropped_after_the_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "ringdesk.switch")
    events = Events()
    first, call_id = await _call_before_a_crash(tmp_path, events)
    second = _switch(tmp_path, events)
    second._waiting.wait = 1.0  # instead of five minutes
    await second.start()
    try:
        assert [r["call_id"] for r in _rows(tmp_path)] == [call_id]
        await until(lambda: _rows(tmp_path) == [], timeout=5)  # the housekeeping dropped it
        dropped = [r.message for r in caplog.records if "dropped without a BYE" in r.message]
        assert dropped == [
            "restart: 1 dialogs dropped without a BYE: their phones did not register again "
            "within 1 s"
        ]
        # Registering later sends nothing: the phone's new connection gets only its 200.
        phone = await _registered_phone(second)
        await phone.still_open(0.5)
        phone.close()
    finally:
        await second.stop()
        await first.stop()


async def test_a_browser_phone_gets_its_bye_over_its_new_websocket(tmp_path: Path) -> None:
    """A browser leg's dialog from before the crash (transport wss): the page's new socket
    registers for the same agent and the BYE follows the 200 over that socket."""
    dialog = Dialog(
        call_id="ws-call-1",
        local_tag="ours",
        remote_tag="page",
        local=parse_name_addr("<sip:5550100@ringdesk.local>"),
        remote=parse_name_addr("<sip:1001@ringdesk.local>"),
        remote_target=parse_uri("sip:old@abc.invalid;transport=ws"),
        local_seq=3,
    )
    rows = [
        dialog_row(dialog, "wss", ("198.51.100.7", 40001), "1001"),
        dialog_row(replace(dialog, call_id="ws-call-2"), "wss", ("198.51.100.7", 40002), "1002"),
    ]
    (tmp_path / DIALOGS_FILE).write_text("[" + ",".join(rows) + "]")
    switch = _switch(tmp_path, Events())
    await switch.start()
    try:
        written: list[bytes] = []
        peer = WsPeer(
            ("198.51.100.7", 40100),
            "1001",
            "wss",
            lambda d: written.append(d) or True,
            lambda _c, _r: None,
        )
        switch.websockets.attach(peer)
        switch.websockets.frame(
            peer,
            (
                b"REGISTER sip:ringdesk.local SIP/2.0\r\n"
                b"Via: SIP/2.0/WSS new.invalid;branch=z9hG4bKwsreg1\r\n"
                b"To: <sip:1001@ringdesk.local>\r\nFrom: <sip:1001@ringdesk.local>;tag=a\r\n"
                b"Call-ID: ws-reg-1\r\nCSeq: 1 REGISTER\r\n"
                b"Contact: <sip:new@new.invalid;transport=ws>;expires=600\r\n"
                b"Content-Length: 0\r\n\r\n"
            ),
        )
        await until(lambda: len(written) >= 2)
        ok, bye = (parse_message(w, stream=True) for w in written[:2])
        assert isinstance(ok, Response) and ok.status == 200
        assert isinstance(bye, Request) and bye.method == "BYE"
        assert (bye.call_id, bye.to_addr.tag) == ("ws-call-1", "page")  # 1002's still waits
        assert [r["call_id"] for r in _rows(tmp_path)] == ["ws-call-1", "ws-call-2"]
        switch.websockets.frame(peer, make_response(bye, 481).to_bytes())
        await until(lambda: [r["call_id"] for r in _rows(tmp_path)] == ["ws-call-2"])
    finally:
        await switch.stop()
