"""Outbound registration to a trunk: digest on 401 and 407, refresh before expiry, back-off."""

from __future__ import annotations

from ringdesk.sip.auth import compute_response, parse_credentials
from ringdesk.sip.message import make_response
from ringdesk.switch.lookup import TrunkSettings
from ringdesk.switch.trunk_registration import RegState, TrunkRegistration

VIA = "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtest"
TRUNK = TrunkSettings(
    host="127.0.0.1",
    port=5090,
    username="acct",
    auth_username="auth-acct",
    password="s3cret",
    register=True,
    register_expires=120,
)


def _challenge(code: int, realm: str = "provider") -> list[tuple[str, str]]:
    name = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
    return [(name, f'Digest realm="{realm}", nonce="abc123", qop="auth", algorithm=MD5')]


def test_register_answers_the_challenge_then_refreshes_before_expiry() -> None:
    reg = TrunkRegistration(TRUNK, contact="<sip:ringdesk@127.0.0.1:5060>")
    now = 1000.0
    assert reg.due(now) and not reg.ready(now)
    first = reg.request(now, VIA)
    assert first.method == "REGISTER" and first.headers.get("expires") == "120"
    assert first.headers.get("authorization") is None
    for code, header in ((401, "authorization"), (407, "proxy-authorization")):
        challenge = make_response(first, code, to_tag="t", headers=_challenge(code))
        retry = reg.on_response(challenge, first, now, VIA)
        assert retry is not None and retry.cseq[0] > first.cseq[0]
        assert retry.call_id == first.call_id
        creds = parse_credentials(retry.headers.get(header) or "")
        assert creds is not None and creds.username == "auth-acct"
        expected = compute_response(
            algorithm="MD5",
            username="auth-acct",
            realm="provider",
            password="s3cret",
            method="REGISTER",
            uri=str(retry.uri),
            nonce="abc123",
            qop="auth",
            nc=creds.nc or "",
            cnonce=creds.cnonce or "",
        )
        assert creds.response == expected
        reg = TrunkRegistration(TRUNK, contact="<sip:ringdesk@127.0.0.1:5060>")
        first = reg.request(now, VIA)
    challenge = make_response(first, 401, to_tag="t", headers=_challenge(401))
    retry = reg.on_response(challenge, first, now, VIA)
    assert retry is not None
    ok = make_response(retry, 200, headers=[("Contact", "<sip:x@1.2.3.4>;expires=60")])
    assert reg.on_response(ok, retry, now, VIA) is None
    assert reg.state is RegState.REGISTERED and reg.ready(now + 59) and not reg.ready(now + 61)
    assert not reg.due(now + 50) and reg.due(now + 54)  # refreshed with 10% of 60 s left


def test_a_refusal_backs_off_doubling_and_a_second_challenge_fails() -> None:
    reg = TrunkRegistration(TRUNK, contact="<sip:ringdesk@127.0.0.1:5060>")
    now = 0.0
    first = reg.request(now, VIA)
    retry = reg.on_response(
        make_response(first, 401, to_tag="t", headers=_challenge(401)), first, now, VIA
    )
    assert retry is not None
    again = make_response(retry, 401, to_tag="t", headers=_challenge(401))
    assert reg.on_response(again, retry, now, VIA) is None
    assert reg.state is RegState.FAILED and reg.last_error == "401 Unauthorized"
    assert not reg.ready(now) and not reg.due(29.0) and reg.due(30.0)
    reg.request(30.0, VIA)
    reg.fail(30.0, "no response")
    assert not reg.due(89.0) and reg.due(90.0)  # 60 s after the second failure
    for _ in range(10):
        reg.fail(100.0, "no response")
    assert reg.next_at == 700.0  # capped at 600 s


def test_a_challenge_for_another_realm_is_not_answered() -> None:
    trunk = TrunkSettings(host="h", username="u", password="p", register=True, realm="mine")
    reg = TrunkRegistration(trunk, contact="<sip:ringdesk@127.0.0.1>")
    first = reg.request(0.0, VIA)
    resp = make_response(first, 401, to_tag="t", headers=_challenge(401, realm="theirs"))
    assert reg.on_response(resp, first, 0.0, VIA) is None
    assert reg.state is RegState.FAILED
