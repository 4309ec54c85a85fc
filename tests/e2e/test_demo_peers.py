"""`ringdesk demo caller` and `ringdesk demo trunk`, the peers that let the demo be tried with
nothing else installed: run as the user runs them (subprocesses of the CLI), against a real
server, with a baresip phone as the agent's."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import INBOUND, SERVICE_ID, Rig
from tests.support.rtp import free_udp_port, match_audio, samples_to_frames
from tests.support.sipp import CARRIER

pytestmark = pytest.mark.e2e


def _peer(tmp: Path, name: str, *args: str) -> tuple[subprocess.Popen[str], Path]:
    out = tmp / f"{name}.out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ringdesk.cli", "demo", *args],
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, out


def _wait_line(out: Path, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        printed = out.read_text()
        if text in printed:
            return printed
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not printed in {timeout} s:\n{out.read_text()}")


def test_demo_caller_reaches_the_agent_with_its_audio(rig: Rig) -> None:
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    host, port = rig.switch
    # From an address that is not the trunk's, the call is refused and the caller says why.
    refused = subprocess.run(
        [sys.executable, "-m", "ringdesk.cli", "demo", "caller", INBOUND, "--server",
         f"{host}:{port}", "--bind", f"127.0.0.1:{free_udp_port()}"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert refused.returncode == 1, refused
    assert "refused: 403" in refused.stdout and "Other trunk sources" in refused.stdout
    # The demo's own trunk port is 5080; tests run in parallel, so the caller binds a free port
    # on the test carrier's address, a listed trunk source, as the demo trusts 127.0.0.1:5080.
    bind = f"{CARRIER}:{free_udp_port()}"
    wav = str(rig.signals["customer"][0])
    caller, out = _peer(
        rig.tmp, "caller", "caller", INBOUND, "--server", f"{host}:{port}", "--bind", bind,
        "--wav", wav, "--seconds", "6",
    )  # fmt: skip
    try:
        offer = alice.wait_offer()
        assert offer["caller"] == "5551234"
        alice.answer(offer["call_id"])
        _wait_line(out, "answered by an agent")
        alice.wait_talking()
        phone.wait_heard(3.0)
        heard = match_audio(samples_to_frames(phone.heard()), rig.signal("customer"))
        assert heard.matched_loud >= 25, heard
        # --seconds 6: the caller hangs up with a BYE and exits 0; the agent's call ends.
        assert caller.wait(timeout=20) == 0
        printed = _wait_line(out, "hung up")
        alice.wait_status("ticket_processing")
    finally:
        caller.kill()
        caller.wait()
    assert printed.index("calling 5550100") < printed.index("answered by an agent"), printed
    # It says how much it heard of the agent's phone (its signal, never silent).
    found = re.search(r"heard ([\d.]+) s of audio from the far end, ([\d.]+) s of it not", printed)
    assert found and float(found[2]) >= 2.0 and float(found[2]) <= float(found[1]), printed


def test_demo_trunk_answers_dial_up_and_the_agent_hears_it(rig: Rig) -> None:
    port = free_udp_port()
    rig.admin().update_trunk(host="127.0.0.1", port=port)
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.cti_login()
    alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
    host, sip_port = rig.switch
    wav = str(rig.signals["customer"][0])
    trunk, out = _peer(
        rig.tmp, "trunk", "trunk", "--server", f"{host}:{sip_port}", "--bind",
        f"127.0.0.1:{port}", "--wav", wav,
    )  # fmt: skip
    try:
        _wait_line(out, "waiting for calls")
        body = {"service_id": SERVICE_ID, "number": "5555678", "calling_number": "5550199"}
        alice.call("POST", "/api/calls/dial", json=body)
        _wait_line(out, "call 5550199 -> 5555678: answered")
        call = alice.wait_talking()
        assert call["direction"] == "outbound"
        phone.wait_heard(3.0)
        heard = match_audio(samples_to_frames(phone.heard()), rig.signal("customer"))
        assert heard.matched_loud >= 25, heard
        alice.call_action(call["id"], "end")
        _wait_line(out, "the far end hung up")
        assert trunk.poll() is None  # the trunk waits for the next call
    finally:
        trunk.terminate()
        trunk.wait(timeout=10)
