"""A supervisor listens, whispers and barges on a real call: SIPp's customer (our RTP) talking to
Alice's baresip phone, Bob's baresip phone rung by the board's Listen. Each party sends a tone of
its own, and every 20 ms frame each one hears is measured for each tone: who hears whom."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from tests.e2e.agents import AgentApi
from tests.e2e.conftest import AGENTS, Rig
from tests.support.rtp import decode, write_wav
from tests.support.tones import frames_with, frames_without, make_tone

TONE = {"customer": 500.0, "alice": 1100.0, "bob": 1700.0}
SETTLE = 0.6  # seconds after a change before its frames are judged (the mix's queues, jitter)
JUDGE = 2.0  # seconds of frames judged per step


def _hears(samples: Sequence[int], who: str) -> None:
    present, total = frames_with(samples, TONE[who])
    assert total >= 40 and present >= 0.9 * total, f"{who}'s tone in {present} of {total} frames"


def _not(samples: Sequence[int], who: str) -> None:
    absent, total = frames_without(samples, TONE[who])
    assert total >= 40 and absent >= 0.95 * total, f"{who}'s tone absent in {absent}/{total}"


def _window(read: Callable[[], list[int]]) -> Callable[[], list[int]]:
    """What a party hears from SETTLE s after now, JUDGE s of it (waits for it)."""
    start = len(read()) + int(SETTLE * 8000)
    end = start + int(JUDGE * 8000)

    def get() -> list[int]:
        deadline = time.monotonic() + 20
        while len(samples := read()) < end:
            assert time.monotonic() < deadline, f"only {len(samples)} of {end} samples heard"
            time.sleep(0.1)
        return samples[start:end]

    return get


def test_a_supervisor_listens_whispers_and_barges_and_each_party_hears_the_right_ones(
    rig: Rig,
) -> None:
    admin = rig.admin()
    bob_id = AgentApi(rig.server, "bob", AGENTS["bob"].password)
    try:
        uid = bob_id.id
    finally:
        bob_id.close()
    admin.call("PATCH", f"/api/admin/users/{uid}", json={"role": "supervisor"})
    bob = AgentApi(rig.server, "bob", AGENTS["bob"].password)  # a new session, as supervisor
    tones = {
        who: write_wav(rig.tmp / f"tone-{who}.wav", make_tone(130.0, freq))
        for who, freq in TONE.items()
    }
    alice = rig.agent("alice")
    alice_phone = rig.phone("alice", source_wav=tones["alice"])
    bob_phone = rig.phone("bob", source_wav=tones["bob"])
    alice.ready()
    customer, rtp = rig.customer(send=False)
    rtp.send_samples(make_tone(60.0, TONE["customer"]))
    offer = alice.wait_offer()
    alice.answer(offer["call_id"])
    customer.wait_answered()
    rig.aim(customer, rtp)
    call = alice.wait_talking()

    def customer_heard() -> list[int]:
        return [s for p in rtp.received() for s in decode(p.payload, p.payload_type)]

    try:
        board: dict[str, Any] = bob.call(
            "PUT", f"/api/board/calls/{call['id']}/monitor", json={"mode": "listen"}
        )
        (row,) = [a for a in board["agents"] if a["agent_id"] == alice.id]
        assert row["call"]["customer"] == "5551234" and row["call"]["direction"] == "inbound"
        assert row["call"]["monitor"]["mode"] == "listen"
        bob_phone.wait_heard(1.0)  # his phone answered by itself and hears the call
        # Alice's widget says so (the CTI setting "agents see when a supervisor listens", on).
        state = alice.wait_state(lambda s: s["call"]["supervisor"] is not None, "the notice")
        assert state["call"]["supervisor"] == {"name": "Bob Chen", "mode": "listen"}

        # Listen: Bob hears both; neither the agent nor the customer hears Bob.
        windows = [_window(bob_phone.heard), _window(alice_phone.heard), _window(customer_heard)]
        sup, agent, cust = (w() for w in windows)
        _hears(sup, "customer")
        _hears(sup, "alice")
        _hears(agent, "customer")
        _not(agent, "bob")
        _hears(cust, "alice")
        _not(cust, "bob")

        # Whisper: Alice hears Bob too; the customer still does not.
        bob.call("PUT", f"/api/board/calls/{call['id']}/monitor", json={"mode": "whisper"})
        windows = [_window(alice_phone.heard), _window(customer_heard)]
        agent, cust = (w() for w in windows)
        _hears(agent, "customer")
        _hears(agent, "bob")
        _hears(cust, "alice")
        _not(cust, "bob")

        # Barge: everybody hears everybody.
        bob.call("PUT", f"/api/board/calls/{call['id']}/monitor", json={"mode": "barge"})
        windows = [_window(customer_heard), _window(alice_phone.heard), _window(bob_phone.heard)]
        cust, agent, sup = (w() for w in windows)
        _hears(cust, "alice")
        _hears(cust, "bob")
        _hears(agent, "bob")
        _hears(sup, "customer")
        _hears(sup, "alice")

        # Leaving: Bob's phone hangs up, the call goes on as it was.
        bob.call("DELETE", f"/api/board/calls/{call['id']}/monitor")
        cust = _window(customer_heard)()
        _hears(cust, "alice")
        _not(cust, "bob")
        assert alice.state()["call"]["state"] == "talking"
        timeline = alice.ticket(call["ticket_id"])["timeline"]
        said = [e["detail"] for e in timeline if e["kind"] == "monitor"]
        assert any("listening" in d for d in said) and any("stopped" in d for d in said), said
    finally:
        bob.close()
