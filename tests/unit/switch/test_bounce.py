"""ICMP errors quote our request cut short; the transaction is still found from what is left."""

from __future__ import annotations

from ringdesk.switch.stack import bounced_request

INVITE = (
    "INVITE sip:5551234@trunk.example:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc123;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:5550199@ringdesk.local>;tag=t1\r\n"
    "To: <sip:5551234@trunk.example>\r\n"
    "Call-ID: c1@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "l: 300\r\n"
    "Content-Type: application/sdp\r\n\r\n" + "v=0\r\n" * 50
).encode()


def test_a_cut_quote_is_read_from_its_complete_header_lines() -> None:
    for cut in (len(INVITE), 420, INVITE.index(b"Content-Type") + 5):
        request = bounced_request(INVITE[:cut])
        assert request is not None, cut
        assert request.method == "INVITE" and request.top_via.branch == "z9hG4bKabc123"
        assert request.cseq == (1, "INVITE")


def test_a_quote_without_via_or_not_a_request_is_ignored() -> None:
    assert bounced_request(INVITE[:60]) is None
    assert bounced_request(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n") is None
    assert bounced_request(b"\x00\xff garbage") is None
