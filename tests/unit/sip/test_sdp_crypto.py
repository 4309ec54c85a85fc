"""SDES (RFC 4568): a=crypto lines read, chosen, answered and written; what we cannot do is
left out, and an SRTP offer with nothing left is a 488."""

from __future__ import annotations

import base64

import pytest

from ringdesk.sip.sdp import (
    CRYPTO_SUITES,
    Crypto,
    SdpError,
    answer_crypto,
    answer_remote,
    build_sdp,
    crypto_value,
    negotiate,
    offer_crypto,
    parse_crypto,
    parse_sdp,
)

KEY30 = base64.b64encode(bytes(range(30))).decode()
KEY28 = base64.b64encode(bytes(range(28))).decode()
KEY44 = base64.b64encode(bytes(range(44))).decode()


def offer(proto: str, *crypto: str, port: int = 4000) -> bytes:
    lines = [
        "v=0",
        "o=phone 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=audio {port} {proto} 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        *(f"a=crypto:{c}" for c in crypto),
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_crypto_line_is_read_with_its_tag_suite_and_key() -> None:
    crypto = parse_crypto(f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|2^31")
    assert crypto == Crypto(1, "AES_CM_128_HMAC_SHA1_80", bytes(range(30)))
    assert parse_crypto(f"7 AES_CM_128_HMAC_SHA1_32 inline:{KEY30}") == Crypto(
        7, "AES_CM_128_HMAC_SHA1_32", bytes(range(30))
    )
    assert parse_crypto(f"2 AEAD_AES_128_GCM inline:{KEY28}") is not None
    assert parse_crypto(f"3 AEAD_AES_256_GCM inline:{KEY44}") is not None
    # A decimal lifetime and the harmless session parameters are fine.
    assert parse_crypto(f"4 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|1048576 WSH=64 KDR=0")


@pytest.mark.parametrize(
    "value",
    [
        f"1 AES_256_CM_HMAC_SHA1_80 inline:{KEY44}",  # a suite libsrtp (here) has no profile for
        f"1 F8_128_HMAC_SHA1_80 inline:{KEY30}",  # unknown to us
        f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY28}",  # key of the wrong length
        "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64",
        f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|2^31|1:4",  # an MKI
        f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|1:4",  # an MKI without lifetime
        f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30};inline:{KEY30}",  # two keys
        f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|2^10",  # a lifetime shorter than a call
        f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|2^x",
        f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30} UNENCRYPTED_SRTP",  # session parameters
        f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30} KDR=10",
        f"1 AES_CM_128_HMAC_SHA1_80 uri:https://keys.example/{KEY30}",  # not inline
        f"1234567890 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}",  # a tag of 10 digits
        f"x AES_CM_128_HMAC_SHA1_80 inline:{KEY30}",
        "1 AES_CM_128_HMAC_SHA1_80",
        "",
    ],
)
def test_what_we_cannot_do_is_not_a_usable_line(value: str) -> None:
    assert parse_crypto(value) is None


def test_an_srtp_offer_gets_its_first_usable_line_and_a_fresh_key_of_ours() -> None:
    sdp = offer(
        "RTP/SAVP",
        f"1 AES_256_CM_HMAC_SHA1_80 inline:{KEY44}",
        f"2 AES_CM_128_HMAC_SHA1_32 inline:{KEY30}",
        f"3 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}",
    )
    neg = negotiate(parse_sdp(sdp), ["PCMU"])
    assert neg.profile == "RTP/SAVP"
    assert neg.crypto == Crypto(2, "AES_CM_128_HMAC_SHA1_32", bytes(range(30)))
    ours = answer_crypto(neg.crypto)
    assert (ours.tag, ours.suite) == (2, "AES_CM_128_HMAC_SHA1_32")
    assert len(ours.key) == 30 and ours.key != neg.crypto.key
    assert answer_crypto(neg.crypto).key != ours.key  # fresh every time
    # A re-offer of the same suite keeps our key; another suite gets a new one of its size.
    assert answer_crypto(neg.crypto, ours).key == ours.key
    gcm = answer_crypto(Crypto(5, "AEAD_AES_128_GCM", bytes(28)), ours)
    assert gcm.tag == 5 and len(gcm.key) == 28


def test_savpf_is_srtp_too() -> None:
    neg = negotiate(
        parse_sdp(offer("RTP/SAVPF", f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}")), ["PCMU"]
    )
    assert neg.profile == "RTP/SAVPF" and neg.crypto is not None


def test_an_srtp_offer_with_only_unsupported_suites_is_488() -> None:
    sdp = offer("RTP/SAVP", f"1 AES_256_CM_HMAC_SHA1_80 inline:{KEY44}", "2 NULL_HMAC inline:x")
    with pytest.raises(SdpError, match="no SRTP crypto suite") as err:
        negotiate(parse_sdp(sdp), ["PCMU"])
    assert err.value.status == 488
    with pytest.raises(SdpError, match="without a=crypto"):
        negotiate(parse_sdp(offer("RTP/SAVP")), ["PCMU"])  # DTLS-SRTP or MIKEY keying


def test_a_plain_offer_stays_plain_even_with_crypto_lines() -> None:
    neg = negotiate(
        parse_sdp(offer("RTP/AVP", f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}")), ["PCMU"]
    )
    assert neg.profile == "RTP/AVP" and neg.crypto is None


def test_our_answer_and_offer_are_written_and_read_back() -> None:
    ours = offer_crypto()
    assert [(c.tag, c.suite) for c in ours] == [
        (1, "AES_CM_128_HMAC_SHA1_80"),
        (2, "AES_CM_128_HMAC_SHA1_32"),
    ]
    assert len({c.key for c in ours}) == 2
    assert all(len(c.key) == CRYPTO_SUITES[c.suite] for c in ours)
    body = build_sdp(
        address="127.0.0.1",
        port=30000,
        session_id="1",
        version=1,
        payload_types=[0],
        profile="RTP/SAVP",
        crypto=ours,
    )
    text = body.decode()
    assert "m=audio 30000 RTP/SAVP 0 101\r\n" in text
    assert f"a=crypto:{crypto_value(ours[0])}\r\n" in text
    m = parse_sdp(body).audio()
    assert m is not None
    assert [parse_crypto(v) for v in m.crypto] == ours
    # Without crypto the SDP is the plain one it always was.
    plain = build_sdp(
        address="127.0.0.1", port=30000, session_id="1", version=1, payload_types=[0]
    ).decode()
    assert "RTP/AVP" in plain and "crypto" not in plain


def test_the_answer_to_our_srtp_offer_must_take_one_of_our_lines() -> None:
    ours = offer_crypto()
    theirs = f"2 AES_CM_128_HMAC_SHA1_32 inline:{KEY30}"
    neg = answer_remote(parse_sdp(offer("RTP/SAVP", theirs)), [0, 8], ours)
    assert neg.crypto == Crypto(2, "AES_CM_128_HMAC_SHA1_32", bytes(range(30)))
    assert neg.profile == "RTP/SAVP"
    refused = [
        offer("RTP/AVP"),  # plain answer to an SRTP offer: a downgrade
        offer("RTP/SAVP"),  # no crypto at all
        offer("RTP/SAVP", f"3 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}"),  # a tag we never sent
        offer("RTP/SAVP", f"1 AES_CM_128_HMAC_SHA1_32 inline:{KEY30}"),  # tag 1 is _80
    ]
    for body in refused:
        with pytest.raises(SdpError):
            answer_remote(parse_sdp(body), [0, 8], ours)
    # And an SRTP answer to a plain offer is refused too; a plain one is what it was.
    with pytest.raises(SdpError, match="plain RTP offer"):
        answer_remote(parse_sdp(offer("RTP/SAVP", theirs)), [0, 8])
    assert answer_remote(parse_sdp(offer("RTP/AVP")), [0, 8]).crypto is None
