"""Inbound trust and call limits with real SIPp callers (issue #9): the demo takes calls from its
trunk only and tells an untrusted source nothing about which numbers exist (the same answer for
a service number and any other, for svwar too); an identity asserted by anyone but the trunk is
not shown; a source over its limit is busy while the trunk's calls still come in; a call beyond
a service's queue limit is refused and counted in the statistics.

The test carrier (tests/support/sipp.py CARRIER, 127.0.0.3) is the rig's trunk source; SIPp on
127.0.0.1 is a stranger to the demo tenant (its trunk is 127.0.0.1:5080)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import uuid

import pytest

from tests.e2e.conftest import INBOUND, SERVICE_ID, Rig
from tests.support.rtp import free_udp_port
from tests.support.sipp import Customer, Sipp

STRANGER = "127.0.0.1"
PAI = "P-Asserted-Identity: <sip:5550000@carrier.example>\r\n"


def refused(
    rig: Rig, number: str, status: int, *, source: str = STRANGER, port: int | None = None
) -> str:
    """SIPp calls `number` from `source` (and `port`) and must get `status` (else it fails);
    the text of that final answer as received."""
    run = Sipp(
        "invite_refused.xml",
        rig.tmp,
        remote=rig.switch,
        service=number,
        local_host=source,
        local_port=port,
        replace={"__STATUS__": str(status)},
        name=f"refused-{number}-{uuid.uuid4().hex[:6]}",
    ).start()
    run.expect_success(timeout=30)
    blocks = run.messages().split("----------------------------------------------- ")
    finals = [
        block.split("\n", 2)[-1].lstrip("\n")
        for block in blocks
        if "message received" in block and re.search(rf"\nSIP/2.0 {status} ", block)
    ]
    assert finals, run.report()
    return finals[0]


def normalised(response: str) -> str:
    """Without what differs per request: tags, branch, Call-ID, and SIPp's trace line ends."""
    text = re.sub(r";tag=[^;\s>]+", ";tag=T", response.strip())
    text = re.sub(r";branch=[^;\s]+", ";branch=B", text)
    text = re.sub(r"(?im)^Call-ID: .*$", "Call-ID: C", text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def test_an_untrusted_source_gets_one_answer_for_every_number(rig: Rig) -> None:
    settings = rig.admin().settings()
    assert settings["allow_any_source"] is False  # the demo: trunk-only
    port = free_udp_port()  # one SIPp after the other from the same port: the same Via
    service = refused(rig, INBOUND, 403, port=port)
    unknown = refused(rig, "5559999", 403, port=port)
    random = refused(rig, str(uuid.uuid4().int % 10**9), 403, port=port)
    assert service.startswith("SIP/2.0 403 Forbidden")
    assert normalised(service) == normalised(unknown) == normalised(random)
    # From the trunk's source the same number is a real one (and an unknown one is 404).
    refused(rig, "5559999", 404, source="127.0.0.3")
    counts = rig.admin().call("GET", "/api/admin/sip/refusals")
    assert counts["refused"]["untrusted"] == 3


@pytest.mark.skipif(shutil.which("svwar") is None, reason="sipvicious is not installed")
def test_svwar_with_invite_finds_no_service_number(rig: Rig) -> None:
    host, port = rig.switch
    args = ["svwar", "-m", "INVITE", "-e", "5550095-5550110", "-p", str(port)]
    args += ["-P", str(free_udp_port()), "--maximumtime=3", host]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    out = done.stdout + done.stderr
    assert "5550100" not in out, out
    assert "unknown extension" in out or "found nothing" in out or "No extensions" in out, out


def test_an_asserted_identity_is_shown_only_from_the_trunk(rig: Rig) -> None:
    admin = rig.admin()
    admin.update_settings(allow_any_source=True)  # strangers may call in: this test is about them
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.ready()
    shown = {}
    for name, source in (("stranger", STRANGER), ("trunk", "127.0.0.3")):
        customer = rig.sipp_customer(caller="5551234", source=source, extra_headers=PAI)
        offer = alice.wait_offer()
        shown[name] = offer["caller"]
        alice.answer(offer["call_id"])
        customer.wait_answered()
        alice.wait_talking()
        customer.hang_up()
        assert customer.wait_ended() == "by_customer"
        alice.wait_state(lambda s: s["call"] is None, "the call over")
        alice.set_status("ready")
    # From anyone, the From header's number; from the trunk, the asserted one.
    assert shown == {"stranger": "5551234", "trunk": "5550000"}


def test_a_source_over_its_limit_is_busy_while_the_trunk_still_gets_through(rig: Rig) -> None:
    admin = rig.admin()
    admin.update_settings(allow_any_source=True, max_calls_per_source=2)
    waiting: list[Customer] = []
    for _ in range(2):  # nobody is Ready: both wait in the queue with music
        waiting.append(rig.sipp_customer(source=STRANGER))
    admin.wait_queue(SERVICE_ID, 2)
    busy = refused(rig, INBOUND, 486)
    assert busy.startswith("SIP/2.0 486 Busy Here")
    # The trunk is not limited per source: its call comes in and waits too.
    waiting.append(rig.sipp_customer(source="127.0.0.3"))
    admin.wait_queue(SERVICE_ID, 3)
    counts = admin.call("GET", "/api/admin/sip/refusals")
    assert counts["refused"]["source_limit"] == 1
    assert counts["live_inbound_calls"] == 3
    # One caller leaves: the stranger may call again.
    waiting[0].hang_up()
    waiting[0].wait_ended()
    admin.wait_queue(SERVICE_ID, 2)
    waiting.append(rig.sipp_customer(source=STRANGER))
    admin.wait_queue(SERVICE_ID, 3)


def test_the_total_limit_answers_503_with_retry_after(rig: Rig) -> None:
    admin = rig.admin()
    admin.update_settings(max_calls_total=1)
    rig.sipp_customer()
    admin.wait_queue(SERVICE_ID, 1)
    full = refused(rig, INBOUND, 503, source="127.0.0.3")
    assert re.search(r"(?im)^Retry-After: 10\s*$", full), full
    assert admin.call("GET", "/api/admin/sip/refusals")["refused"]["total_limit"] == 1


def test_a_full_queue_refuses_the_call_and_the_stats_count_it(rig: Rig) -> None:
    admin = rig.admin()
    admin.update_settings(max_queued_per_service=1)
    first = rig.sipp_customer()
    admin.wait_queue(SERVICE_ID, 1)
    busy = refused(rig, INBOUND, 486, source="127.0.0.3")
    assert busy.startswith("SIP/2.0 486")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    report = admin.call("GET", "/api/stats", params={"date": today})
    [support] = [s for s in report["services"] if s["service_id"] == SERVICE_ID]
    assert (support["refused"], support["offered"]) == (1, 1)
    assert report["total"]["refused"] == 1
    assert admin.call("GET", "/api/admin/sip/refusals")["refused"]["queue_full"] == 1
    # No ticket for a refused call: nobody spoke to the caller.
    assert admin.call("GET", "/api/tickets")["items"] == []
    first.hang_up()
    assert first.wait_ended() == "cancelled"  # it hung up while waiting
