"""RFC 3261 section 17 timers, driven with explicit `now` values."""

from ringdesk.sip.message import Request, Response, make_response, parse_message
from ringdesk.sip.transaction import (
    T1,
    T2,
    T4,
    ClientInvite,
    ClientNonInvite,
    ServerInvite,
    ServerNonInvite,
    State,
    TransactionTable,
    build_cancel,
)

from .samples import INVITE, REGISTER

DEST = ("127.0.0.1", 5070)


def req(data: bytes = INVITE) -> Request:
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


def resp(request: Request, status: int) -> Response:
    return make_response(request, status, to_tag="remote")


def run_until(txn: ClientInvite | ClientNonInvite | ServerInvite, until: float) -> list[float]:
    """Fire every timer up to `until`; returns the times something was (re)sent."""
    sent: list[float] = []
    while (at := txn.next_timer()) is not None and at <= until:
        txn.handle_timer(at)
        if txn.take():
            sent.append(at)
    return sent


def test_client_invite_timer_a_doubles_and_b_times_out() -> None:
    txn = ClientInvite(req(), DEST, now=0.0)
    assert [m.method for m in txn.take()] == ["INVITE"]  # type: ignore[union-attr]
    sent = run_until(txn, 100.0)
    # Retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 and timer B at 64*T1 = 32 s.
    assert sent == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert txn.terminated and txn.timed_out


def test_client_invite_provisional_stops_retransmission() -> None:
    invite = req()
    txn = ClientInvite(invite, DEST, now=0.0)
    txn.take()
    assert txn.receive(resp(invite, 180), 0.2) is not None
    assert txn.state is State.PROCEEDING
    assert txn.next_timer() is None  # neither A nor B in Proceeding


def test_client_invite_acks_non_2xx_and_absorbs_retransmission() -> None:
    invite = req()
    txn = ClientInvite(invite, DEST, now=0.0)
    txn.take()
    final = resp(invite, 486)
    assert txn.receive(final, 1.0) is final
    ack = txn.take()
    assert len(ack) == 1 and isinstance(ack[0], Request) and ack[0].method == "ACK"
    assert ack[0].cseq == (1, "ACK")
    assert ack[0].top_via.branch == invite.top_via.branch  # same transaction
    assert ack[0].to_addr.tag == "remote"
    # The retransmitted 486 is ACKed again, not passed up.
    assert txn.receive(final, 2.0) is None
    assert len(txn.take()) == 1
    txn.handle_timer(1.0 + 32)  # timer D
    assert txn.terminated and not txn.timed_out


def test_client_invite_2xx_passes_up_including_retransmissions() -> None:
    invite = req()
    txn = ClientInvite(invite, DEST, now=0.0)
    ok = resp(invite, 200)
    assert txn.receive(ok, 0.1) is ok
    assert txn.receive(ok, 0.6) is ok  # the TU (dialog) re-ACKs it
    assert txn.take() == [invite]  # no ACK from the transaction for a 2xx
    txn.handle_timer(0.1 + 64 * T1)
    assert txn.terminated


def test_client_non_invite_timer_e_caps_at_t2_and_f_times_out() -> None:
    txn = ClientNonInvite(req(REGISTER), DEST, now=0.0)
    txn.take()
    sent = run_until(txn, 40.0)
    gaps = [b - a for a, b in zip([0.0, *sent], sent, strict=False)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(gaps) == T2
    assert txn.terminated and txn.timed_out


def test_client_non_invite_completed_waits_timer_k() -> None:
    register = req(REGISTER)
    txn = ClientNonInvite(register, DEST, now=0.0)
    assert txn.receive(resp(register, 200), 0.3) is not None
    assert txn.receive(resp(register, 200), 0.4) is None  # absorbed
    assert txn.next_timer() == 0.3 + T4
    txn.handle_timer(0.3 + T4)
    assert txn.terminated


def test_server_invite_retransmits_final_until_ack() -> None:
    invite = req()
    txn = ServerInvite(invite, DEST, now=0.0)
    txn.respond(resp(invite, 100), 0.0)
    txn.receive(invite, 0.3)  # retransmitted INVITE: the 100 goes again
    assert [m.status for m in txn.take()] == [100, 100]  # type: ignore[union-attr]
    txn.respond(resp(invite, 480), 1.0)
    txn.take()
    assert run_until(txn, 3.0) == [1.5, 2.5]  # timer G
    ack = parse_message(
        INVITE.replace(b"INVITE sip", b"ACK sip").replace(b"CSeq: 1 INVITE", b"CSeq: 1 ACK")
    )
    assert isinstance(ack, Request)
    txn.receive(ack, 3.0)
    assert txn.state is State.CONFIRMED
    assert txn.next_timer() == 3.0 + T4  # timer I
    txn.handle_timer(3.0 + T4)
    assert txn.terminated and not txn.timed_out


def test_server_invite_timer_h_without_ack() -> None:
    invite = req()
    txn = ServerInvite(invite, DEST, now=0.0)
    txn.respond(resp(invite, 603), 0.0)
    run_until(txn, 100.0)
    assert txn.terminated and txn.timed_out


def test_server_invite_2xx_goes_to_accepted_and_absorbs_retransmissions() -> None:
    invite = req()
    txn = ServerInvite(invite, DEST, now=0.0)
    txn.respond(resp(invite, 200), 0.0)
    txn.take()
    txn.receive(invite, 0.5)
    assert txn.take() == []  # the dialog layer retransmits the 2xx, not the transaction
    assert txn.state is State.ACCEPTED
    txn.handle_timer(64 * T1)  # timer L
    assert txn.terminated


def test_server_non_invite_absorbs_until_timer_j() -> None:
    register = req(REGISTER)
    txn = ServerNonInvite(register, DEST, now=0.0)
    txn.receive(register, 0.1)
    assert txn.take() == []  # Trying: nothing to resend yet
    txn.respond(resp(register, 200), 0.2)
    txn.receive(register, 0.7)
    assert [m.status for m in txn.take()] == [200, 200]  # type: ignore[union-attr]
    assert txn.next_timer() == 0.2 + 64 * T1
    reliable = ServerNonInvite(register, DEST, now=0.0, reliable=True)
    reliable.respond(resp(register, 200), 0.0)
    assert reliable.next_timer() == 0.0  # timer J is zero over TCP


def test_cancel_matches_its_invite_and_merged_requests_are_detected() -> None:
    table = TransactionTable()
    invite = req()
    txn = ServerInvite(invite, DEST, now=0.0)
    table.add_server(txn)
    assert table.find_server(invite) is txn
    cancel = build_cancel(invite)
    assert table.find_invite_for_cancel(cancel) is txn
    assert table.find_server(cancel) is None  # CANCEL is a transaction of its own
    # The same request reaching us by another path: new branch, same From tag/Call-ID/CSeq.
    forked = req(INVITE.replace(b"z9hG4bK-abc-1", b"z9hG4bK-other"))
    assert table.is_merged(forked)
    assert not table.is_merged(invite)
    table.remove(txn)
    assert not table.is_merged(forked)


def test_loop_is_detected_by_our_own_branch() -> None:
    table = TransactionTable()
    ours = req(INVITE.replace(b"z9hG4bK-abc-1", b"z9hG4bKours"))
    table.add_client(ClientInvite(ours, DEST, now=0.0))
    looped = req(
        INVITE.replace(
            b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-abc-1;rport\r\n",
            b"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKtrunk\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKours\r\n",
        )
    )
    assert table.is_loop(looped)
    assert not table.is_loop(req())
