"""Real peers for the call flows: baresip desk phones for the agents, SIPp as the customer
and as the carrier's trunk (helpers in tests/support)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import rtp
from tests.support.baresip import Baresip
from tests.support.server import RunningServer
from tests.support.sipp import CARRIER, Customer, Trunk

INBOUND_NUMBER = "5550100"
PHONE_AUDIO_SECONDS = 600
PHONE_PASSWORDS = {"1001": "phone1001-demo", "1002": "phone1002-demo", "1003": "phone1003-demo"}


@dataclass
class Phones:
    alice: Baresip
    bob: Baresip


@contextlib.contextmanager
def agent_phones(server: RunningServer, workdir: Path) -> Iterator[Phones]:
    """Alice's (1001) and Bob's (1002) desk phones, registered and auto-answering."""
    workdir.mkdir(parents=True, exist_ok=True)
    # baresip's aufile source hangs up the call when the file ends: make it outlast any test.
    second = rtp.test_signal(1.0, seed=7)
    wav = rtp.write_wav(workdir / "voice.wav", second * PHONE_AUDIO_SECONDS)
    registrar = (server.sip_host, server.sip_port)
    phones = [
        Baresip(
            workdir,
            user=cti_id,
            password=PHONE_PASSWORDS[cti_id],
            registrar=registrar,
            source_wav=wav,
            name=f"phone-{cti_id}",
        )
        for cti_id in ("1001", "1002")
    ]
    try:
        for phone in phones:
            phone.start()
        for phone in phones:
            phone.wait_registered(timeout=60)
        yield Phones(alice=phones[0], bob=phones[1])
    finally:
        for phone in phones:
            phone.stop()


def call_in(server: RunningServer, workdir: Path, caller: str = "5551234") -> Customer:
    """A customer calling the demo service's inbound number, from the test carrier."""
    server.trust_source(CARRIER)
    return Customer(
        workdir, (server.sip_host, server.sip_port), INBOUND_NUMBER, caller=caller
    ).start()


@contextlib.contextmanager
def trunk(server: RunningServer, workdir: Path, behaviour: str = "answer") -> Iterator[Trunk]:
    """SIPp as the carrier on a free port, set as the demo trunk's address for the test."""
    carrier = Trunk(workdir, behaviour).start()
    before = server.trunk()
    server.update_trunk(host="127.0.0.1", port=carrier.port)
    try:
        yield carrier
    finally:
        carrier.stop()
        server.update_trunk(host=before["host"], port=before["port"])
