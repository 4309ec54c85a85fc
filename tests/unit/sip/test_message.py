import pytest

from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import (
    Request,
    Response,
    make_response,
    new_branch,
    new_tag,
    parse_message,
)

from .samples import INVITE, REGISTER, RESPONSE


def parse_request(data: bytes) -> Request:
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


def error_of(data: bytes) -> SipParseError:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    return info.value


def test_parses_an_invite() -> None:
    req = parse_request(INVITE)
    assert req.method == "INVITE"
    assert req.uri.user == "5550100"
    assert req.uri.host_port == ("127.0.0.1", 5060)
    assert req.call_id == "call-1@127.0.0.1"
    assert req.cseq == (1, "INVITE")
    assert req.from_addr.tag == "from1"
    assert req.from_addr.display == "Dana"
    assert req.to_addr.tag is None
    assert req.top_via.branch == "z9hG4bK-abc-1"
    assert req.top_via.sent_by == ("127.0.0.1", 5070)
    assert req.body.startswith(b"v=0") and req.body.endswith(b"a=sendrecv\r\n")


def test_round_trip_keeps_meaning() -> None:
    req = parse_request(INVITE)
    again = parse_request(req.to_bytes())
    assert again.uri == req.uri
    assert list(again.headers) == list(req.headers)
    assert again.body == req.body


def test_compact_forms_folding_and_case() -> None:
    data = (
        b"OPTIONS sip:a@b SIP/2.0\r\n"
        b"v: SIP/2.0/UDP h:1;branch=z9hG4bK1\r\n"
        b"f: <sip:x@y>;tag=1\r\n"
        b"t: <sip:a@b>\r\n"
        b"i: cid\r\n"
        b"cSeQ: 7\r\n"
        b"  OPTIONS\r\n"
        b"Subject: hello\r\n\tworld\r\n"
        b"l: 0\r\n\r\n"
    )
    req = parse_request(data)
    assert req.call_id == "cid"
    assert req.cseq == (7, "OPTIONS")
    assert req.headers.get("subject") == "hello world"
    assert req.headers.get("s") == "hello world"


def test_multiple_values_in_one_header_are_split() -> None:
    data = INVITE.replace(
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-abc-1;rport\r\n",
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-abc-1, SIP/2.0/TCP p.example:5060"
        b";branch=z9hG4bKp\r\n",
    )
    req = parse_request(data)
    assert [v.transport for v in req.vias] == ["UDP", "TCP"]
    assert req.vias[1].host == "p.example"


def test_quoted_comma_does_not_split_contact() -> None:
    data = INVITE.replace(
        b"Contact: <sip:5551234@127.0.0.1:5070>",
        b'Contact: "Scully, Dana" <sip:5551234@127.0.0.1:5070>',
    )
    assert parse_request(data).contacts == ['"Scully, Dana" <sip:5551234@127.0.0.1:5070>']


def test_udp_body_is_cut_at_content_length() -> None:
    data = REGISTER.replace(b"Content-Length: 0", b"Content-Length: 3") + b"abcdef"
    assert parse_request(data).body == b"abc"


def test_body_shorter_than_content_length_is_400() -> None:
    err = error_of(REGISTER.replace(b"Content-Length: 0", b"Content-Length: 10") + b"abc")
    assert err.status == 400
    assert err.request is not None  # enough was read to answer it


def test_stream_needs_content_length() -> None:
    data = REGISTER.replace(b"Content-Length: 0\r\n", b"") + b"xyz"
    with pytest.raises(SipParseError):
        parse_message(data, stream=True)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ((b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia"), 505),
        ((b"INVITE sip:5550100@127.0.0.1:5060", b"INVITE tel:+15550100"), 416),
        ((b"Max-Forwards: 70", b"Max-Forwards: 0"), 483),
        ((b"Max-Forwards: 70", b"Max-Forwards: x"), 400),
        ((b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), 400),
        ((b"CSeq: 1 INVITE", b"CSeq: one INVITE"), 400),
        ((b"Call-ID: call-1@127.0.0.1\r\n", b""), 400),
        ((b"To: <sip:5550100@127.0.0.1>", b"To: <sip:5550100@127.0.0.1"), 400),
        ((b"Content-Length: 144", b"Content-Length: -1"), 400),
    ],
)
def test_errors_name_the_response(change: tuple[bytes, bytes], status: int) -> None:
    err = error_of(INVITE.replace(*change))
    assert err.status == status
    assert err.request is not None


def test_require_of_unknown_extension_is_420_with_unsupported() -> None:
    err = error_of(INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: 70\r\nRequire: 100rel"))
    assert err.status == 420
    assert err.extra_headers == (("Unsupported", "100rel"),)


def test_missing_via_cannot_be_answered() -> None:
    err = error_of(
        INVITE.replace(b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-abc-1;rport\r\n", b"")
    )
    assert err.status == 400
    assert err.request is None


def test_garbage_is_400() -> None:
    assert error_of(b"\x00\xff\xfe garbage").status == 400
    assert error_of(b"hello world").status == 400


def test_response_parses() -> None:
    msg = parse_message(RESPONSE)
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (180, "Ringing")
    assert msg.to_addr.tag == "b"


def test_make_response_copies_headers_and_adds_tag() -> None:
    req = parse_request(INVITE)
    resp = make_response(req, 486, to_tag="t1", headers=[("Retry-After", "30")])
    assert (resp.status, resp.reason) == (486, "Busy Here")
    assert resp.headers.get("via") == req.headers.get("via")
    assert resp.call_id == req.call_id
    assert resp.cseq == (1, "INVITE")
    assert resp.to_addr.tag == "t1"
    assert resp.headers.get("retry-after") == "30"
    parsed = parse_message(resp.to_bytes())
    assert isinstance(parsed, Response) and parsed.to_addr.tag == "t1"
    # No tag on 100 Trying (RFC 3261 8.2.6.2).
    assert make_response(req, 100, to_tag="t1").to_addr.tag is None


def test_branches_and_tags_are_well_formed_and_unique() -> None:
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100
    assert all(b.startswith("z9hG4bK") and len(b) > 7 + 8 for b in branches)
    assert len({new_tag() for _ in range(100)}) == 100


def test_a_line_without_colon_is_400_that_can_still_be_answered() -> None:
    err = error_of(REGISTER.replace(b"Expires: 3600\r\n", b"this is not a header\r\n"))
    assert (err.status, err.reason) == (400, "Bad header line")
    assert err.request is not None and err.request.call_id == "reg-1@127.0.0.1"


def test_rfc5118_ipv6_forms() -> None:
    """RFC 5118's IPv6 forms: bracketed hosts with and without ports, in the Request-URI,
    Via (with an IPv6 received), Contact and Record-Route; IPv4-mapped ones too."""
    from ringdesk.sip.message import parse_message
    from ringdesk.sip.uri import parse_name_addr, parse_uri, parse_via

    for text, host, port in (
        ("sip:[2001:db8::10]:5060", "[2001:db8::10]", 5060),
        ("sip:[2001:db8::10]", "[2001:db8::10]", None),
        ("sip:user@[2001:db8::10];transport=tcp", "[2001:db8::10]", None),
        ("sip:[2001:db8:0:0:1:0:0:1]", "[2001:db8:0:0:1:0:0:1]", None),
        ("sip:[::ffff:192.0.2.1]:5070", "[::ffff:192.0.2.1]", 5070),
    ):
        uri = parse_uri(text)
        assert (uri.host, uri.port) == (host, port)
        assert str(uri) == text
    msg = parse_message(
        b"INVITE sip:user@[2001:db8::10] SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111;received=2001:db8::9:255\r\n"
        b"Record-Route: <sip:[2001:db8::9:1];lr>\r\n"
        b"Max-Forwards: 70\r\n"
        b"To: <sip:user@[2001:db8::10]>\r\n"
        b"From: <sip:caller@[2001:db8::9:1]>;tag=81x2\r\n"
        b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
        b"CSeq: 8612 INVITE\r\n"
        b"Contact: <sip:caller@[2001:db8::9:1]:6050>\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    via = parse_via(msg.headers.get("via") or "")
    assert (via.host, via.port) == ("[2001:db8::9:1]", 6050)
    assert via.params["received"] == "2001:db8::9:255"
    contact = parse_name_addr(msg.headers.get("contact") or "")
    assert (contact.uri.host, contact.uri.port) == ("[2001:db8::9:1]", 6050)
    route = parse_name_addr(msg.headers.get("record-route") or "")
    assert route.uri.host == "[2001:db8::9:1]" and "lr" in route.uri.params
