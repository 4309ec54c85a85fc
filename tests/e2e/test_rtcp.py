"""RTCP through the switch: a real phone's reports (baresip sends RTCP to our RTP port + 1)
reach the customer's RTCP port (its RTP port + 1, its SDP has no a=rtcp), rewritten so that
they name the stream the customer actually receives. And the switch's RTCP port takes the
customer's reports instead of answering ICMP port unreachable."""

from __future__ import annotations

import contextlib
import socket
import struct
import time

import pytest

from tests.e2e.conftest import INBOUND, Rig
from tests.support.rtp import RtpEndpoint
from tests.support.sipp import Customer

pytestmark = pytest.mark.e2e


def _customer_media(rig: Rig) -> tuple[RtpEndpoint, socket.socket]:
    """The customer's RTP endpoint and a socket on the port above it, for its RTCP."""
    for _ in range(50):
        rtp = RtpEndpoint()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("127.0.0.1", rtp.port + 1))
        except OSError:
            sock.close()
            rtp.close()
            continue
        rig._closers.append(rtp.close)
        rig._closers.append(sock.close)
        return rtp, sock
    raise AssertionError("no free RTP/RTCP port pair on loopback")


def _wait_rtcp(sock: socket.socket, timeout: float) -> tuple[bytes, tuple[str, int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data, source = sock.recvfrom(2048)
        except TimeoutError:
            break
        if len(data) >= 8 and data[0] >> 6 == 2 and 200 <= data[1] <= 204:
            return data, source
    raise AssertionError(f"no RTCP packet at the customer's RTCP port in {timeout} s")


def test_phone_rtcp_reaches_the_customer_rtcp_port(rig: Rig) -> None:
    alice = rig.agent("alice")
    rig.phone("alice")
    alice.ready()
    rtp, rtcp_sock = _customer_media(rig)
    customer = Customer(rig.tmp, rig.switch, INBOUND, rtp_port=rtp.port)
    rig._closers.append(customer.stop)
    customer.start()
    rtp.send_samples(rig.signal("customer"))
    offer = alice.wait_offer()
    alice.answer(offer["call_id"])
    customer.wait_answered()
    rig.aim(customer, rtp)
    alice.wait_talking()
    rtp.wait_matching(rig.signal("alice"))  # bridged, RTP flowing both ways
    switch_media = customer.media()

    # Our own report to the switch's RTCP port: it is bound (no ICMP error on a connected
    # socket's next receive), so phones reporting there are not told the port is closed.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect((switch_media.host, switch_media.port + 1))
        probe.send(struct.pack("!BBHI", 0x80, 201, 1, 0x01020304))
        probe.settimeout(0.5)
        # Nothing comes back, and no ConnectionRefusedError: the port is open.
        with contextlib.suppress(TimeoutError):
            probe.recv(2048)
    finally:
        probe.close()

    data, source = _wait_rtcp(rtcp_sock, timeout=30.0)  # baresip reports every few seconds
    assert source == (switch_media.host, switch_media.port + 1), source
    sender = struct.unpack_from("!I", data, 4)[0]
    received_ssrcs = {p.ssrc for p in rtp.packets}
    assert sender in received_ssrcs, (hex(sender), [hex(s) for s in received_ssrcs])
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
