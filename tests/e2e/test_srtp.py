"""SRTP keyed by SDES with a real peer: a customer's baresip calling in with RTP/SAVP (we answer
it with our own key) and the agent's baresip rung with our RTP/SAVP offer (--srtp-phones
always), both with `mediaenc=srtp-mand`, so baresip takes no call without SRTP. Both ends hear
each other's signal through the relay, which decrypts on one leg and encrypts on the other."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.e2e.conftest import AGENTS, INBOUND, running_rig
from tests.support.baresip import Baresip
from tests.support.rtp import AudioMatch, match_audio, samples_to_frames

pytestmark = pytest.mark.e2e


def wait_hearing(
    phone: Baresip, reference: Sequence[int], *, since: int, min_loud: int, timeout: float = 30
) -> AudioMatch:
    """Wait until what `phone` decoded after sample `since` holds `min_loud` loud frames of
    `reference`."""
    deadline = time.monotonic() + timeout
    while True:
        match = match_audio(samples_to_frames(phone.heard()[since:]), reference)
        if match.matched_loud >= min_loud:
            return match
        if time.monotonic() > deadline:
            raise AssertionError(f"{phone.name} did not hear it: {match}")
        time.sleep(0.3)


def test_an_srtp_customer_and_an_srtp_phone_hear_each_other(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    signals: dict[str, tuple[Path, list[int]]],
) -> None:
    with running_rig(request, tmp_path, signals, ["--srtp-phones", "always"]) as rig:
        demo = AGENTS["alice"]
        phone = Baresip(
            rig.tmp,
            user=demo.cti_id,
            password=demo.phone_password,
            registrar=rig.switch,
            source_wav=signals["alice"][0],
            mediaenc="srtp-mand",
            name="phone-alice-srtp",
        )
        rig._closers.append(phone.stop)
        phone.start().wait_registered()
        alice = rig.agent("alice")
        alice.ready()

        customer = Baresip(
            rig.tmp,
            user="5551234",
            password="unused",
            registrar=rig.switch,
            source_wav=signals["customer"][0],
            answermode="manual",
            regint=0,  # a caller from the trunk's side: no registration
            mediaenc="srtp-mand",
            name="customer-srtp",
        )
        rig._closers.append(customer.stop)
        customer.start()
        # The customer's calls come from the trunk: its address and port.
        rig.admin().update_trunk(host="127.0.0.1", port=customer.sip_port)
        phone_mark, customer_mark = phone.mark(), customer.mark()
        host, port = rig.switch
        customer.dial(f"sip:{INBOUND}@{host}:{port}")

        offer = alice.wait_offer()
        assert offer["caller"] == "5551234"
        alice.answer(offer["call_id"])
        phone.wait_event("CALL_ESTABLISHED", since=phone_mark)
        customer.wait_event("CALL_ESTABLISHED", since=customer_mark)
        call = alice.wait_talking()

        # Each side's audio reached the other, decrypted and encrypted again by the relay.
        customer.wait_heard(6.0)
        phone.wait_heard(6.0)
        heard_by_customer = match_audio(samples_to_frames(customer.heard()), signals["alice"][1])
        heard_by_phone = match_audio(samples_to_frames(phone.heard()), signals["customer"][1])
        assert heard_by_customer.matched_loud >= 50, f"customer heard alice: {heard_by_customer}"
        assert heard_by_phone.matched_loud >= 50, f"alice heard the customer: {heard_by_phone}"

        # Both phones ran SRTP (baresip says so), and no SRTP packet failed its check here.
        for peer in (customer, phone):
            assert re.search(
                r"SRTP is Enabled \(cryptosuite=AES_CM_128_HMAC_SHA1_80\)",
                peer.log_file.read_text(errors="replace"),
            ), peer.log()
        assert "SRTP packet dropped" not in rig.server.log_tail(400)

        # Hold and resume: our two re-INVITEs to the customer offer SRTP again, with our key,
        # and baresip answers each with SRTP; afterwards the phone hears the customer again,
        # through the same keys. (baresip's decode dump stops at a re-INVITE, so what the
        # customer hears on hold is checked in tests/unit/media/test_srtp.py, not here.)
        enabled = customer.log_file.read_text(errors="replace").count("SRTP is Enabled")
        alice.call_action(call["id"], "hold/start")
        alice.wait_status("on_hold")
        alice.call_action(call["id"], "hold/stop")
        alice.wait_status("on_call")
        mark = len(phone.heard())
        wait_hearing(phone, signals["customer"][1], since=mark, min_loud=25)
        log = customer.log_file.read_text(errors="replace")
        assert log.count("got re-INVITE (SDP Offer)") == 2, customer.log()
        assert log.count("SRTP is Enabled") >= enabled + 2, customer.log()
        server_log = rig.server.log_tail(400)
        assert "SRTP packet dropped" not in server_log
        assert "unusable SDP answer" not in server_log

        customer.hangup()
        customer.wait_event("CALL_CLOSED", since=customer_mark)
        phone.wait_event("CALL_CLOSED", since=phone_mark)
        alice.wait_status("ticket_processing")
