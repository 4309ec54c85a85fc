"""Digest as a server must do it: replays refused, nc increasing, stale only for our expired
nonces, and an unknown user indistinguishable from a wrong password."""

from __future__ import annotations

import time

from ringdesk.sip.auth import (
    Challenge,
    Credentials,
    DigestServer,
    Verdict,
    authorization,
    parse_challenge,
    parse_credentials,
)


def _challenge(server: DigestServer, now: float) -> Challenge:
    challenge = parse_challenge(server.challenge(now)[0])
    assert challenge is not None
    return challenge


def _creds(challenge: Challenge, password: str, *, nc: int = 1, user: str = "1001") -> Credentials:
    header = authorization(
        challenge,
        method="REGISTER",
        uri="sip:ringdesk.local",
        username=user,
        password=password,
        cnonce="c0ffee",
        nc=nc,
    )
    creds = parse_credentials(header)
    assert creds is not None
    return creds


def test_a_replayed_authorization_is_refused() -> None:
    server = DigestServer(b"secret", "ringdesk.local")
    creds = _creds(_challenge(server, 1000.0), "phone-1001-pw")
    assert server.verify(creds, "REGISTER", "phone-1001-pw", 1001.0) is Verdict.OK
    # The same header again, as an eavesdropper would send it from anywhere.
    assert server.verify(creds, "REGISTER", "phone-1001-pw", 1002.0) is Verdict.REPLAY


def test_nc_must_increase() -> None:
    server = DigestServer(b"secret", "ringdesk.local")
    challenge = _challenge(server, 1000.0)
    password = "phone-1001-pw"
    assert server.verify(_creds(challenge, password, nc=1), "REGISTER", password, 1001) is (
        Verdict.OK
    )
    assert server.verify(_creds(challenge, password, nc=3), "REGISTER", password, 1002) is (
        Verdict.OK
    )
    assert server.verify(_creds(challenge, password, nc=2), "REGISTER", password, 1003) is (
        Verdict.REPLAY
    )
    assert server.verify(_creds(challenge, password, nc=3), "REGISTER", password, 1004) is (
        Verdict.REPLAY
    )
    assert server.verify(_creds(challenge, password, nc=4), "REGISTER", password, 1005) is (
        Verdict.OK
    )


def test_a_zero_or_malformed_nc_is_bad() -> None:
    server = DigestServer(b"secret", "ringdesk.local")
    creds = _creds(_challenge(server, 1000.0), "phone-1001-pw")
    for nc in ("00000000", "1", "zzzzzzzz"):
        forged = Credentials(**{**_fields(creds), "nc": nc})
        assert server.verify(forged, "REGISTER", "phone-1001-pw", 1001.0) is Verdict.BAD


def _fields(creds: Credentials) -> dict[str, str | None]:
    return {name: getattr(creds, name) for name in Credentials.__slots__}


def test_two_challenges_in_one_second_get_different_nonces() -> None:
    server = DigestServer(b"secret", "ringdesk.local")
    first, second = _challenge(server, 1000.0), _challenge(server, 1000.0)
    assert first.nonce != second.nonce
    assert server.verify(_creds(first, "pw-aaaaaaaaaa"), "REGISTER", "pw-aaaaaaaaaa", 1000) is (
        Verdict.OK
    )
    assert server.verify(_creds(second, "pw-aaaaaaaaaa"), "REGISTER", "pw-aaaaaaaaaa", 1000) is (
        Verdict.OK
    )


def test_stale_only_for_our_expired_nonce_with_the_right_password() -> None:
    server = DigestServer(b"secret", "ringdesk.local", nonce_lifetime=300)
    creds = _creds(_challenge(server, 1000.0), "phone-1001-pw")
    assert server.verify(creds, "REGISTER", "phone-1001-pw", 1301.0) is Verdict.STALE
    assert server.verify(creds, "REGISTER", "wrong-password", 1301.0) is Verdict.BAD
    assert server.verify(creds, "REGISTER", None, 1301.0) is Verdict.BAD
    # Not ours (another secret, as after a restart) or forged: never stale, a fresh challenge.
    other = DigestServer(b"another secret", "ringdesk.local")
    assert other.verify(creds, "REGISTER", "phone-1001-pw", 1001.0) is Verdict.UNKNOWN_NONCE
    forged = Credentials(**{**_fields(creds), "nonce": "3e8.0000.ffff"})
    assert server.verify(forged, "REGISTER", "phone-1001-pw", 1001.0) is Verdict.UNKNOWN_NONCE
    # A nonce from the future is not one we issued either.
    future = _creds(_challenge(server, 2000.0), "phone-1001-pw")
    assert server.verify(future, "REGISTER", "phone-1001-pw", 1000.0) is Verdict.UNKNOWN_NONCE


def test_unknown_user_is_answered_like_a_wrong_password() -> None:
    server = DigestServer(b"secret", "ringdesk.local")
    challenge = _challenge(server, 1000.0)
    wrong = _creds(challenge, "guess-guess", user="1001")
    unknown = _creds(challenge, "guess-guess", user="9999")
    assert server.verify(wrong, "REGISTER", "phone-1001-pw", 1001.0) is Verdict.BAD
    assert server.verify(unknown, "REGISTER", None, 1001.0) is Verdict.BAD
    # Unknown nonces: the same fresh challenge for both.
    other = DigestServer(b"x", "ringdesk.local")
    assert other.verify(wrong, "REGISTER", "phone-1001-pw", 1001.0) is Verdict.UNKNOWN_NONCE
    assert other.verify(unknown, "REGISTER", None, 1001.0) is Verdict.UNKNOWN_NONCE


def test_unknown_user_costs_the_same_hashing() -> None:
    """The timing class: an unknown user is hashed against a decoy, not refused at once."""
    server = DigestServer(b"secret", "ringdesk.local")
    challenge = _challenge(server, 1000.0)
    wrong = _creds(challenge, "guess-guess", user="1001")
    unknown = _creds(challenge, "guess-guess", user="9999")

    def cost(creds: Credentials, password: str | None) -> float:
        start = time.perf_counter()
        for _ in range(1000):
            server.verify(creds, "REGISTER", password, 1001.0)
        return time.perf_counter() - start

    # Interleaved, the best of each: a busy machine slows both sides alike, not one of them.
    known = missing = float("inf")
    for _ in range(9):
        known = min(known, cost(wrong, "phone-1001-pw"))
        missing = min(missing, cost(unknown, None))
    # Refused at once, an unknown user would cost a small fraction of a real check.
    assert 0.5 < missing / known < 2.0


def test_the_nonce_table_is_bounded_and_never_accepts_twice() -> None:
    server = DigestServer(b"secret", "ringdesk.local", max_nonces=10)
    password = "phone-1001-pw"
    early = _creds(_challenge(server, 1000.0), password)
    assert server.verify(early, "REGISTER", password, 1000.0) is Verdict.OK
    for n in range(20):
        creds = _creds(_challenge(server, 1001.0 + n), password)
        assert server.verify(creds, "REGISTER", password, 1001.0 + n) is Verdict.OK
    assert server.tracked <= 11
    # Its entry is gone, so it cannot be checked: not accepted, a fresh challenge instead.
    assert server.verify(early, "REGISTER", password, 1030.0) is Verdict.UNKNOWN_NONCE


def test_expired_entries_leave_the_table() -> None:
    server = DigestServer(b"secret", "ringdesk.local", nonce_lifetime=300)
    password = "phone-1001-pw"
    for n in range(5):
        creds = _creds(_challenge(server, 1000.0 + n), password)
        assert server.verify(creds, "REGISTER", password, 1000.0 + n) is Verdict.OK
    later = _creds(_challenge(server, 2000.0), password)
    assert server.verify(later, "REGISTER", password, 2000.0) is Verdict.OK
    assert server.tracked == 1
