"""Two provider trunks as users buy them, both real SIPp peers: the first requires REGISTER
with digest and answers the INVITE with 407 and then 503; the call fails over to the second,
which answers. Checked on the wire: both digests (verified by SIPp), the Proxy-Authorization on
the re-INVITE, each trunk's caller-ID form and number format."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from ringdesk.sip.auth import compute_response, parse_credentials
from ringdesk.sip.message import Request, parse_message
from tests.e2e.conftest import SERVICE_ID, Rig
from tests.support.sipp import Sipp

pytestmark = pytest.mark.e2e

USER, PASSWORD = "acct-7", "pr0vider-pass"


def _parse(text: str) -> Request:
    msg = parse_message(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())
    assert isinstance(msg, Request)
    return msg


def _trunk(rig: Rig, **body: Any) -> dict[str, Any]:
    created: dict[str, Any] = rig.admin().call("POST", "/api/admin/trunks", json=body, expect=201)
    return created


def test_registered_trunk_challenges_then_refuses_and_the_call_fails_over(rig: Rig) -> None:
    admin = rig.admin()
    plan = {"country_code": "49"}
    admin.call("PATCH", f"/api/admin/services/{SERVICE_ID}", json={"dial_plan": plan})
    admin.call(
        "POST",
        f"/api/admin/services/{SERVICE_ID}/calling-numbers",
        json={"number": "+49305550199", "label": "Berlin"},
        expect=201,
    )
    first = Sipp(
        "trunk_register_auth_refuse.xml",
        rig.tmp,
        calls=2,
        replace={"__USER__": USER, "__PASSWORD__": PASSWORD},
        name=f"trunk-register-{uuid.uuid4().hex[:6]}",
    )
    second, rtp = rig.trunk("answer")  # the legacy settings trunk: overridden by the table
    try:
        first.start()
        a = _trunk(
            rig,
            name="provider-a",
            host="127.0.0.1",
            port=first.port,
            username=USER,
            password=PASSWORD,
            register=True,
            priority=1,
            identity_header="pai",
            number_format="e164",
        )
        b = _trunk(
            rig,
            name="provider-b",
            host="127.0.0.1",
            port=second.port,
            priority=2,
            identity_header="rpid",
            from_domain="cust.provider.test",
            number_format="e164_plain",
            country_code="49",
        )
        first.wait_log(r"^register-auth ok", timeout=15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = {t["name"]: t for t in admin.call("GET", "/api/admin/trunks")}
            if rows["provider-a"]["registration"] == "registered":
                break
            time.sleep(0.2)
        assert rows["provider-a"]["registration"] == "registered", rows
        assert rows["provider-b"]["registration"] == "off"
        assert f'username="{USER}"' in first.wait_log(r"^register-authorization .*")[0]

        alice = rig.agent("alice")
        rig.phone("alice")
        alice.cti_login()
        alice.wait_state(lambda s: s["phone_registered"] is True, "phone_registered")
        body = {"service_id": SERVICE_ID, "number": "030 1234567", "calling_number": "+49305550199"}
        alice.call("POST", "/api/calls/dial", json=body)

        # Trunk a: E.164 with +, P-Asserted-Identity; the 407 answered with a right digest.
        assert first.wait_log(r"^invite1 .* ruser=(\S+)")[1] == "+49301234567"
        creds = parse_credentials(first.wait_log(r"^invite2 proxy-authorization (.*)")[1].strip())
        assert creds is not None and creds.username == USER
        expected = compute_response(
            algorithm="MD5",
            username=USER,
            realm="provider.test",
            password=PASSWORD,
            method="INVITE",
            uri=creds.uri,
            nonce=creds.nonce,
            qop=None,
            nc="",
            cnonce="",
        )
        assert creds.response == expected and creds.uri == "sip:+49301234567@127.0.0.1:" + str(
            first.port
        )
        first.wait_log(r"^refused 503")
        invites = [_parse(t) for t in first.received_requests("INVITE")]
        assert len(invites) == 2
        assert invites[1].cseq[0] == invites[0].cseq[0] + 1
        assert invites[1].headers.get("via") != invites[0].headers.get("via")
        assert invites[0].headers.get("p-asserted-identity") == "<sip:+49305550199@127.0.0.1>"
        assert invites[0].headers.get("proxy-authorization") is None

        # Trunk b: E.164 without +, From at the configured domain, Remote-Party-ID.
        moved = _parse(second.wait_invite())
        assert moved.uri.user == "49301234567"
        assert str(moved.from_addr.uri) == "sip:49305550199@cust.provider.test"
        rpid = moved.headers.get("remote-party-id") or ""
        assert re.match(r"<sip:49305550199@cust\.provider\.test>;party=calling", rpid), rpid
        assert moved.headers.get("p-asserted-identity") is None
        assert moved.headers.get("proxy-authorization") is None
        call = alice.wait_talking()
        assert call["customer_number"] == "+49301234567"
        match, _ = rtp.wait_matching(rig.signal("alice"))
        assert match.matched_loud >= 25
        alice.call_action(call["id"], "end")
        second.sipp.wait_log(r"^ended \S+ by_switch")
        first.expect_success(timeout=20)
        assert "trunk provider-a failed (503 Service Unavailable): trying trunk provider-b" in (
            rig.server.log_tail(400)
        )
        for trunk in (a, b):
            admin.call("DELETE", f"/api/admin/trunks/{trunk['id']}", expect=204)
    finally:
        first.stop()
