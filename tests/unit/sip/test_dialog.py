import itertools

from ringdesk.sip.dialog import Dialog, Retransmit2xx
from ringdesk.sip.message import Request, make_response, parse_message
from ringdesk.sip.transaction import T1, T2

from .samples import INVITE


def invite() -> Request:
    data = INVITE.replace(
        b"Max-Forwards: 70\r\n",
        b"Max-Forwards: 70\r\nRecord-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\n",
    )
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


def test_uas_dialog_and_in_dialog_request() -> None:
    req = invite()
    dialog = Dialog.as_uas(req, "ourtag")
    assert dialog.key == ("call-1@127.0.0.1", "ourtag", "from1")
    assert str(dialog.remote_target) == "sip:5551234@127.0.0.1:5070"
    assert dialog.route_set == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    assert dialog.next_remote_target_addr() == ("p1.example", 5060)
    bye = dialog.new_request("BYE", via="SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKb")
    assert bye.uri == dialog.remote_target
    assert bye.from_addr.tag == "ourtag" and bye.to_addr.tag == "from1"
    assert bye.cseq == (1, "BYE")
    assert bye.headers.get_all("route") == dialog.route_set
    again = dialog.new_request("INVITE", via="SIP/2.0/UDP h;branch=z9hG4bKc")
    assert again.cseq == (2, "INVITE")


def test_uac_dialog_reverses_route_set_and_acks_with_invite_cseq() -> None:
    req = invite()
    ok = make_response(
        req,
        200,
        to_tag="theirs",
        headers=[
            ("Record-Route", "<sip:p1.example;lr>"),
            ("Record-Route", "<sip:p2.example;lr>"),
            ("Contact", "<sip:callee@10.0.0.9:5062>"),
        ],
    )
    dialog = Dialog.as_uac(req, ok)
    assert dialog.route_set == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert str(dialog.remote_target) == "sip:callee@10.0.0.9:5062"
    ack = dialog.ack(1, via="SIP/2.0/UDP h;branch=z9hG4bKack")
    assert ack.cseq == (1, "ACK")
    assert ack.to_addr.tag == "theirs"
    assert dialog.local_seq == 1  # the ACK does not use up a CSeq number


def test_remote_cseq_must_grow() -> None:
    req = invite()
    dialog = Dialog.as_uas(req, "t")
    later = parse_message(INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: 5 INVITE"))
    earlier = parse_message(INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: 0 INVITE"))
    assert isinstance(later, Request) and isinstance(earlier, Request)
    assert dialog.check_remote_seq(later)
    assert not dialog.check_remote_seq(earlier)


def test_2xx_retransmission_schedule_until_ack() -> None:
    ok = make_response(invite(), 200, to_tag="t")
    r = Retransmit2xx(ok, now=0.0)
    sent = []
    while (at := r.next_timer()) is not None and at < 20:
        if r.handle_timer(at):
            sent.append(at)
    assert sent[:5] == [T1, 1.5, 3.5, 7.5, 11.5]
    assert max(b - a for a, b in itertools.pairwise(sent)) == T2
    ack = parse_message(
        INVITE.replace(b"INVITE sip", b"ACK sip").replace(b"CSeq: 1 INVITE", b"CSeq: 1 ACK")
    )
    assert isinstance(ack, Request)
    assert r.ack(ack)
    assert r.next_timer() is None


def test_2xx_retransmission_gives_up_after_64_t1() -> None:
    r = Retransmit2xx(make_response(invite(), 200, to_tag="t"), now=0.0)
    while (at := r.next_timer()) is not None:
        r.handle_timer(at)
    assert r.gave_up
