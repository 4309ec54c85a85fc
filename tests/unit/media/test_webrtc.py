"""The parts of a WebRTC leg (media/ice_lite.py, media/dtls.py, media/webrtc.py): first-byte
demultiplexing, STUN checks with our short-term credentials, fingerprints, a DTLS-SRTP handshake
between two sessions in process, and a WebRtcEndpoint driven by a peer made of the same parts."""

from __future__ import annotations

import asyncio
import datetime
import logging
import struct
from typing import Any

import pylibsrtp
import pytest
from aioice import stun
from cryptography.hazmat.primitives.serialization import Encoding

from ringdesk.media import ice_lite, webrtc
from ringdesk.media.api import RemoteMedia, WebRtcRemote
from ringdesk.media.dtls import Certificate, DtlsError, DtlsSession, fingerprint_matches
from ringdesk.media.ice_lite import IceLite, classify
from ringdesk.media.srtp import PROFILES
from ringdesk.media.webrtc import WebRtcEndpoint, local_setup, we_are_client

BROWSER = ("127.0.0.1", 50000)


def test_classify_by_first_byte() -> None:
    assert classify(b"\x00\x01rest") == ice_lite.STUN
    assert classify(b"\x03") == ice_lite.STUN
    assert classify(b"\x16\xfe\xfd") == ice_lite.DTLS  # handshake record, DTLS 1.2
    assert classify(bytes([63])) == ice_lite.DTLS
    assert classify(b"\x80\x00") == ice_lite.RTP
    assert classify(bytes([191])) == ice_lite.RTP
    for first in (4, 19, 64, 127, 192, 255):
        assert classify(bytes([first])) == ice_lite.OTHER
    assert classify(b"") == ice_lite.OTHER
    assert ice_lite.is_rtcp(b"\x80\xc8" + bytes(6))
    assert not ice_lite.is_rtcp(b"\x80\x00" + bytes(10))


def test_credentials_are_ice_chars_of_the_right_length() -> None:
    ufrag, pwd = ice_lite.new_credentials()
    assert len(ufrag) >= 4 and len(pwd) >= 22
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
    assert set(ufrag) <= allowed and set(pwd) <= allowed
    assert ice_lite.new_credentials() != (ufrag, pwd)


def binding(
    ice: IceLite,
    *,
    username: str | None = None,
    pwd: str | None = None,
    nominate: bool = False,
    fingerprint: bool = True,
) -> stun.Message:
    request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
    request.attributes["USERNAME"] = username or f"{ice.ufrag}:browser"
    request.attributes["PRIORITY"] = 1
    request.attributes["ICE-CONTROLLING"] = 1
    if nominate:
        request.attributes["USE-CANDIDATE"] = None
    request.add_message_integrity((pwd or ice.pwd).encode())
    if not fingerprint:
        del request.attributes["FINGERPRINT"]
    return request


def test_valid_check_is_answered_with_integrity_and_mapped_address() -> None:
    ice = IceLite()
    ice.remote_ufrag = "browser"
    request = binding(ice, nominate=True)
    check = ice.handle(bytes(request), BROWSER)
    assert check.valid and check.nominated and check.response is not None
    response = stun.parse_message(check.response)  # checks its FINGERPRINT
    assert response.message_class == stun.Class.RESPONSE
    assert response.transaction_id == request.transaction_id
    assert response.attributes["XOR-MAPPED-ADDRESS"] == BROWSER
    assert response.check_message_integrity(ice.pwd.encode())
    assert not ice.handle(bytes(binding(ice)), BROWSER).nominated


def test_mapped_ipv4_source_reported_as_ipv4() -> None:
    ice = IceLite()
    check = ice.handle(bytes(binding(ice)), ("::ffff:127.0.0.1", 5000))
    assert check.response is not None
    assert stun.parse_message(check.response).attributes["XOR-MAPPED-ADDRESS"] == (
        "127.0.0.1",
        5000,
    )


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"pwd": "a-wrong-password-of-22+chars"}, "wrong MESSAGE-INTEGRITY"),
        ({"username": "someoneelse:browser"}, "other credentials"),
        ({"username": "UFRAG:intruder"}, "other credentials"),
        ({"fingerprint": False}, "without FINGERPRINT"),
    ],
)
def test_bad_checks_are_dropped(kwargs: dict[str, Any], problem: str) -> None:
    ice = IceLite(ufrag="UFRAG")
    ice.remote_ufrag = "browser"
    check = ice.handle(bytes(binding(ice, **kwargs)), BROWSER)
    assert check.response is None and not check.valid
    assert check.problem is not None and problem in check.problem


def test_junk_and_responses_are_not_answered() -> None:
    ice = IceLite()
    assert ice.handle(b"\x00\x01\x00\x00" + bytes(10), BROWSER).problem is not None
    response = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE)
    check = ice.handle(bytes(response), BROWSER)
    assert check.response is None and check.problem is None
    indication = stun.Message(stun.Method.BINDING, stun.Class.INDICATION)  # consent keepalive
    assert ice.handle(bytes(indication), BROWSER).response is None


def test_fingerprint_compare() -> None:
    cert = Certificate.generate()
    der = cert.cert.public_bytes(Encoding.DER)
    assert fingerprint_matches(der, [("sha-256", cert.fingerprint)])
    assert fingerprint_matches(der, [("SHA-256", cert.fingerprint.lower())])
    assert len(cert.fingerprint.split(":")) == 32
    other = Certificate.generate()
    assert not fingerprint_matches(der, [("sha-256", other.fingerprint)])
    assert not cert.expiring() and cert.expiring(datetime.timedelta(days=31))
    assert not fingerprint_matches(der, [("md5", cert.fingerprint)])  # unknown hash: no match
    assert fingerprint_matches(der, [("sha-256", other.fingerprint), ("sha-256", cert.fingerprint)])


def handshake(client_expects: str, server_expects: str) -> tuple[DtlsSession, DtlsSession]:
    a, b = Certificate.generate(), Certificate.generate()
    to_client: list[bytes] = []
    to_server: list[bytes] = []
    client = DtlsSession(
        a,
        client=True,
        fingerprints=[("sha-256", client_expects or b.fingerprint)],
        send=to_server.append,
    )
    server = DtlsSession(
        b,
        client=False,
        fingerprints=[("sha-256", server_expects or a.fingerprint)],
        send=to_client.append,
    )
    client.start()
    for _ in range(10):
        while to_server:
            server.feed(to_server.pop(0))
        while to_client:
            client.feed(to_client.pop(0))
    return client, server


def test_dtls_srtp_keys_pair_up() -> None:
    client, server = handshake("", "")
    assert client.keys is not None and server.keys is not None
    assert client.keys.suite == server.keys.suite == "AEAD_AES_128_GCM"
    assert client.keys.send_key == server.keys.receive_key
    assert client.keys.receive_key == server.keys.send_key
    assert client.keys.send_key != client.keys.receive_key
    assert len(client.keys.send_key) == 16 + 12
    assert client.timeout() is None


def test_dtls_refuses_a_certificate_not_matching_the_fingerprint() -> None:
    wrong = Certificate.generate().fingerprint
    with pytest.raises(DtlsError, match="does not match its a=fingerprint"):
        handshake("", wrong)  # the server checks the client's certificate


def test_dtls_client_side_check_too() -> None:
    wrong = Certificate.generate().fingerprint
    with pytest.raises(DtlsError, match="does not match its a=fingerprint"):
        handshake(wrong, "")


def test_dtls_retransmits_a_lost_flight() -> None:
    sent: list[bytes] = []
    client = DtlsSession(Certificate.generate(), client=True, fingerprints=[], send=sent.append)
    client.start()
    assert len(sent) == 1 and sent[0][0] == 22  # ClientHello
    due = client.timeout()
    assert due is not None and 0 < due <= 1.0
    import time

    time.sleep(due + 0.05)
    client.handle_timeout()
    assert len(sent) == 2 and sent[1][0] == 22


def test_setup_roles() -> None:
    assert local_setup(None) == "actpass"
    assert local_setup("actpass") == "active"
    assert local_setup("active") == "passive"
    assert local_setup("passive") == "active"
    with pytest.raises(ValueError):
        local_setup("holdconn")
    assert we_are_client("active", "actpass")
    assert we_are_client("actpass", "passive")
    assert not we_are_client("actpass", "active")
    assert not we_are_client("passive", "active")


# ---- a WebRtcEndpoint against a peer made of the same parts --------------------------------


class Wire(asyncio.DatagramTransport):
    """Our endpoint's transport: what it sends is kept for the peer."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.sent.append((bytes(data), addr))

    def take(self) -> list[bytes]:
        out = [d for d, _ in self.sent]
        self.sent.clear()
        return out


def rtp(seq: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0xABCD) + bytes([0x55]) * 160


async def test_endpoint_stun_dtls_then_srtp_both_ways() -> None:
    ours = WebRtcEndpoint("leg", 30000, Certificate.generate())
    wire = Wire()
    ours.connection_made(wire)
    local = ours.local_webrtc("actpass")  # the browser offered: we answer active (client)
    assert local.setup == "active" and local.fingerprint[0] == "sha-256"
    browser_cert = Certificate.generate()
    browser = DtlsSession(
        browser_cert,
        client=False,
        fingerprints=[local.fingerprint],
        send=lambda d: ours.datagram_received(d, BROWSER),
    )
    ours.set_remote(
        RemoteMedia(
            "0.0.0.0",
            9,
            0,
            webrtc=WebRtcRemote(
                "browser",
                "browser-password-22chars",
                (("sha-256", browser_cert.fingerprint),),
                "actpass",
            ),
        )
    )
    # DTLS or RTP from an address that passed no STUN check is ignored.
    ours.datagram_received(b"\x16\xfe\xfd" + bytes(20), BROWSER)
    assert wire.sent == [] and ours.state == "new"
    ice = IceLite(ours.ice.ufrag, ours.ice.pwd)
    ours.datagram_received(bytes(binding(ice, nominate=True)), BROWSER)
    assert ours.selected == BROWSER and ours.state == "checking"
    for _ in range(10):
        packets = wire.take()
        if not packets:
            break
        for data in packets:
            if classify(data) == ice_lite.DTLS:
                browser.feed(data)
    assert ours.state == "connected" and browser.keys is not None
    assert ours.address == BROWSER and ours.rtcp_address == BROWSER
    # The browser's SRTP is decrypted (counted as media); what we send is protected.
    send = pylibsrtp.Session(
        pylibsrtp.Policy(
            key=browser.keys.send_key,
            ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
            srtp_profile=PROFILES[browser.keys.suite],
        )
    )
    ours.datagram_received(send.protect(rtp(1)), BROWSER)
    assert ours.received == 1
    ours.datagram_received(rtp(2), BROWSER)  # plain RTP: fails authentication, dropped
    assert ours.received == 1 and ours.srtp_rejected == 1
    receive = pylibsrtp.Session(
        pylibsrtp.Policy(
            key=browser.keys.receive_key,
            ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
            srtp_profile=PROFILES[browser.keys.suite],
        )
    )
    ours.send_frame(bytes([0xFF]) * 160, 0, 1.0, True)
    ((data, addr),) = wire.sent
    assert addr == BROWSER
    assert receive.unprotect(data)[12:] == bytes([0xFF]) * 160
    # A re-INVITE with the same SDP (hold and back, say) keeps the leg as it is; one with
    # another fingerprint (no ICE restart on a WebRTC leg) is logged and ignored.
    remote = RemoteMedia("192.0.2.7", 4000, 8, webrtc=ours.peer)
    ours.set_remote(remote)
    assert ours.state == "connected" and ours.address == BROWSER and ours.payload_type == 8
    other = WebRtcRemote("browser", "browser-password-22chars", (("sha-256", "00:11"),), "actpass")
    ours.set_remote(RemoteMedia("0.0.0.0", 9, 0, webrtc=other))
    assert ours.peer is not None and ours.peer.fingerprints[0][1] == browser_cert.fingerprint
    ours.datagram_received(send.protect(rtp(3)), BROWSER)
    assert ours.received == 2 and ours.address == BROWSER
    # RTCP on the same port (rtcp-mux) is SRTCP, unprotected and counted.
    report = struct.pack("!BBHI", 0x80, 201, 1, 0xABCD)
    ours.datagram_received(send.protect_rtcp(report), BROWSER)
    assert ours.rtcp_in == 1


async def test_endpoint_sends_nothing_before_dtls_and_fails_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ringdesk.media")
    states: list[str] = []
    ours = WebRtcEndpoint("leg", 30000, Certificate.generate(), on_state=states.append)
    wire = Wire()
    ours.connection_made(wire)
    ours.local_webrtc(None)  # we offer actpass; the browser answers passive: we are the client
    ours.set_remote(
        RemoteMedia(
            "192.0.2.9",
            4000,
            0,
            webrtc=WebRtcRemote(
                "browser", "browser-password-22chars", (("sha-256", "00:11"),), "passive"
            ),
        )
    )
    ours.send_frame(bytes(160), 0, 1.0, True)
    assert wire.sent == []  # no address until DTLS is up, whatever the SDP said
    ours.fail("test reason")
    ours.fail("again")
    ours.datagram_received(bytes(binding(IceLite(ours.ice.ufrag, ours.ice.pwd))), BROWSER)
    assert wire.sent == [] and ours.failure == "test reason" and states == ["failed"]
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1


async def test_endpoint_no_stun_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webrtc, "ICE_TIMEOUT", 0.05)
    ours = WebRtcEndpoint("leg", 30000, Certificate.generate())
    ours.connection_made(Wire())
    ours.local_webrtc("actpass")
    ours.set_remote(
        RemoteMedia(
            "0.0.0.0",
            9,
            0,
            webrtc=WebRtcRemote("b", "browser-password-22chars", (("sha-256", "00"),), "actpass"),
        )
    )
    await asyncio.sleep(0.2)
    assert ours.state == "failed" and ours.failure is not None and "STUN" in ours.failure


async def test_endpoint_dtls_retransmits_then_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webrtc, "DTLS_TIMEOUT", 1.6)
    ours = WebRtcEndpoint("leg", 30000, Certificate.generate())
    wire = Wire()
    ours.connection_made(wire)
    ours.local_webrtc("actpass")  # we are the DTLS client; the peer never answers
    ours.set_remote(
        RemoteMedia(
            "0.0.0.0",
            9,
            0,
            webrtc=WebRtcRemote("b", "browser-password-22chars", (("sha-256", "00"),), "actpass"),
        )
    )
    ice = IceLite(ours.ice.ufrag, ours.ice.pwd)
    ours.datagram_received(bytes(binding(ice, username=f"{ice.ufrag}:b")), BROWSER)
    assert ours.state == "checking"
    await asyncio.sleep(1.9)
    hellos = [d for d, _ in wire.sent if classify(d) == ice_lite.DTLS]
    assert len(hellos) == 2  # the ClientHello and its retransmission after 1 s
    assert ours.state == "failed" and ours.failure is not None and "DTLS" in ours.failure


async def test_media_server_opens_a_webrtc_endpoint_on_one_port() -> None:
    from ringdesk.media.server import MediaServer
    from tests.support.rtp import free_udp_port

    low = free_udp_port(even=True)
    media = MediaServer("127.0.0.1", port_range=(low, low + 4))
    first = await media.open_webrtc_endpoint("a")
    second = await media.open_webrtc_endpoint("b")
    try:
        assert isinstance(first, WebRtcEndpoint) and first.transport is not None
        assert first.rtcp_transport is first.transport  # rtcp-mux: no socket on port + 1
        assert first.certificate is second.certificate  # one identity per media server
        assert first.ice.ufrag != second.ice.ufrag and first.ice.pwd != second.ice.pwd
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[bytes] = loop.create_future()

        class Browser(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                if not answered.done():
                    answered.set_result(data)

        transport, _ = await loop.create_datagram_endpoint(
            Browser, remote_addr=("127.0.0.1", first.port)
        )
        try:
            ice = IceLite(first.ice.ufrag, first.ice.pwd)
            transport.sendto(bytes(binding(ice)))
            response = stun.parse_message(await asyncio.wait_for(answered, 5))
            assert response.check_message_integrity(first.ice.pwd.encode())
            assert first.stun_answered == 1 and first.selected is not None
        finally:
            transport.close()
    finally:
        await media.close()
