from ringdesk.sip.auth import (
    DigestServer,
    Verdict,
    authorization,
    compute_response,
    parse_challenge,
    parse_credentials,
    pick_challenge,
)


def test_rfc2617_md5_vector() -> None:
    # RFC 2617 section 3.5.
    assert (
        compute_response(
            algorithm="MD5",
            username="Mufasa",
            realm="testrealm@host.com",
            password="Circle Of Life",
            method="GET",
            uri="/dir/index.html",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop="auth",
            nc="00000001",
            cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


RFC7616 = dict(
    username="Mufasa",
    realm="http-auth@example.org",
    password="Circle of Life",
    method="GET",
    uri="/dir/index.html",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    qop="auth",
    nc="00000001",
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
)


def test_rfc7616_vectors_md5_and_sha256() -> None:
    # RFC 7616 section 3.9.1, the example RFC 8760 points SIP at.
    assert compute_response(algorithm="MD5", **RFC7616) == "8ca523f5e9506fed4657c9700eebdbec"
    assert (
        compute_response(algorithm="SHA-256", **RFC7616)
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


def test_challenge_offers_md5_and_sha256() -> None:
    server = DigestServer(b"secret", "ringdesk.local")
    values = server.challenge(1000.0)
    algorithms = [parse_challenge(v).algorithm for v in values]  # type: ignore[union-attr]
    assert sorted(algorithms) == ["MD5", "SHA-256"]
    assert all('qop="auth"' in v and 'realm="ringdesk.local"' in v for v in values)
    assert pick_challenge(values).algorithm == "SHA-256"  # type: ignore[union-attr]


def _answer(server: DigestServer, now: float, password: str, algorithm: str) -> str:
    values = server.challenge(now)
    challenge = next(c for c in map(parse_challenge, values) if c and c.algorithm == algorithm)
    return authorization(
        challenge,
        method="REGISTER",
        uri="sip:127.0.0.1",
        username="1001",
        password=password,
        cnonce="abc",
    )


def test_client_and_server_agree() -> None:
    server = DigestServer(b"secret", "ringdesk.local")
    for algorithm in ("MD5", "SHA-256"):
        header = _answer(server, 1000.0, "phone1001-demo", algorithm)
        creds = parse_credentials(header)
        assert creds is not None and creds.algorithm == algorithm
        assert server.verify(creds, "REGISTER", "phone1001-demo", 1010.0) is Verdict.OK
        assert server.verify(creds, "REGISTER", "wrong", 1010.0) is Verdict.BAD
        assert server.verify(creds, "INVITE", "phone1001-demo", 1010.0) is Verdict.BAD


def test_old_nonce_is_stale_and_foreign_nonce_is_unknown() -> None:
    server = DigestServer(b"secret", "ringdesk.local", nonce_lifetime=300)
    creds = parse_credentials(_answer(server, 1000.0, "phone1001-demo", "MD5"))
    assert creds is not None
    assert server.verify(creds, "REGISTER", "phone1001-demo", 1000.0 + 301) is Verdict.STALE
    other = DigestServer(b"other secret", "ringdesk.local")
    assert other.verify(creds, "REGISTER", "phone1001-demo", 1001.0) is Verdict.UNKNOWN_NONCE
    assert other.nonce_age(creds.nonce, 1001.0) is None
    assert server.challenge(5.0, stale=True)[0].endswith("stale=true")


def test_credentials_parsing_tolerates_quotes_and_commas() -> None:
    creds = parse_credentials(
        'Digest username="10,01", realm="r", nonce="n", uri="sip:a", response="AB", qop=auth, '
        'nc=00000001, cnonce="c\\"x"'
    )
    assert creds is not None
    assert (creds.username, creds.response, creds.cnonce) == ("10,01", "ab", 'c"x')
    assert parse_credentials("Basic abc") is None
    assert parse_credentials('Digest username="x"') is None
    assert (
        parse_credentials(
            'Digest username="x", realm="r", nonce="n", uri="u", '
            'response="r", algorithm=SHA-512-256'
        )
        is None
    )
