"""The gate wired into the switch: failures reported by the registration ban the source, a
banned or over-rate source gets no answer at all, a replay over the wire adds no binding."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringdesk.switch import Switch
from ringdesk.switch.gate import GateSettings

from .harness import Events, FakeDirectory, FakeMedia, Peer, answer_auth


@pytest.fixture
async def switch(tmp_path: Path) -> AsyncIterator[Switch]:
    gate = GateSettings(auth_failures=3, options_rate=5, burst_seconds=1, flood_excess=1000)
    switch = Switch(
        "127.0.0.1",
        0,
        directory=FakeDirectory(tmp_path),
        sink=Events(),
        data_dir=tmp_path,
        media=FakeMedia(),
        gate=gate,
    )
    await switch.start()
    try:
        yield switch
    finally:
        await switch.stop()


def _ruri(switch: Switch) -> str:
    return f"sip:127.0.0.1:{switch.local_port}"


async def _wrong_password(switch: Switch, phone: Peer, user: str, n: int) -> int:
    ruri, to = _ruri(switch), f"<sip:{user}@ringdesk.local>"
    phone.request("REGISTER", ruri, call_id=f"w{n}", to=to)
    challenge = await phone.expect_response(401)
    auth = answer_auth(challenge, user, "not-the-password", ruri)
    phone.request("REGISTER", ruri, call_id=f"w{n}", cseq=2, to=to, extra=auth)
    return (await phone.expect_response(403)).status


async def test_auth_failures_ban_the_source_and_it_gets_no_answer(switch: Switch) -> None:
    phone = await Peer().open(("127.0.0.1", switch.local_port))
    for n, user in enumerate(("1001", "9999", "1002")):  # unknown users count alike
        assert await _wrong_password(switch, phone, user, n) == 403
    assert [b.address for b in switch.gate.bans(time.time())] == ["127.0.0.1"]
    phone.request("OPTIONS", _ruri(switch), call_id="o1")
    assert await phone.quiet() == []
    assert switch.gate.lift("127.0.0.1")
    phone.request("OPTIONS", _ruri(switch), call_id="o2")
    await phone.expect_response(200)
    phone.close()


async def test_requests_over_the_rate_are_dropped_silently(switch: Switch) -> None:
    phone = await Peer().open(("127.0.0.1", switch.local_port))
    for n in range(12):
        phone.request("OPTIONS", _ruri(switch), call_id=f"r{n}")
    answers = await phone.quiet(0.5)
    assert len(answers) == 5  # the burst: one second's worth
    # REGISTER has a bucket of its own.
    phone.request("REGISTER", _ruri(switch), call_id="r", to="<sip:1001@ringdesk.local>")
    await phone.expect_response(401)
    phone.close()


async def test_a_replay_over_the_wire_adds_no_binding(switch: Switch) -> None:
    phone = await Peer().open(("127.0.0.1", switch.local_port))
    other = await Peer().open(("127.0.0.1", switch.local_port))
    ruri, to = _ruri(switch), "<sip:1001@ringdesk.local>"
    phone.request("REGISTER", ruri, call_id="p1", to=to, extra="Expires: 600\r\n")
    challenge = await phone.expect_response(401)
    auth = answer_auth(challenge, "1001", "phone1001-demo", ruri)
    phone.request("REGISTER", ruri, call_id="p1", cseq=2, to=to, extra="Expires: 600\r\n" + auth)
    await phone.expect_response(200)
    other.request("REGISTER", ruri, call_id="evil", to=to, extra="Expires: 600\r\n" + auth)
    again = await other.expect_response(401)
    assert "stale" not in (again.headers.get("www-authenticate") or "")
    bindings = switch.registrar.lookup("1001", switch.stack.now())
    assert bindings and all(b.source[1] != other.port for b in bindings), bindings
    phone.close()
    other.close()
