"""SDES offer/answer in the switch (RFC 4568): an SRTP offer is answered in kind with our own
key, what we cannot do gets 488, a plain offer stays plain, and our own offers follow the
--srtp-phones / --srtp-trunk policy. The media is the in-memory FakeMedia: these tests check
the keys the switch hands it (tests/unit/media/test_srtp.py checks what the relay does)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringdesk.core.telephony import (
    Bridge,
    CallArrived,
    LegAnswered,
    LegFailed,
    RingAgent,
    StartQueueMusic,
)
from ringdesk.media.api import SrtpKeys
from ringdesk.sip.message import Request, make_response
from ringdesk.sip.sdp import Crypto, parse_crypto, parse_sdp
from ringdesk.switch import Switch
from ringdesk.switch.srtp import SrtpOffer

from .harness import Events, FakeDirectory, FakeMedia, Peer, sdp
from .test_switch import Rig, register

THEIR_KEY = secrets.token_bytes(30)
B64 = base64.b64encode(THEIR_KEY).decode()


def srtp_sdp(port: int, *crypto: str, proto: str = "RTP/SAVP") -> str:
    plain = sdp(port)
    lines = "".join(f"a=crypto:{c}\r\n" for c in crypto)
    return plain.replace("RTP/AVP", proto).replace("a=ptime:20\r\n", lines + "a=ptime:20\r\n")


def crypto_of(body: bytes) -> tuple[str, list[Crypto]]:
    m = parse_sdp(body).audio()
    assert m is not None
    lines = [parse_crypto(v) for v in m.crypto]
    assert None not in lines, m.crypto
    return m.proto, [c for c in lines if c is not None]


async def make_rig(tmp_path: Path, policy: SrtpOffer) -> AsyncIterator[Rig]:
    media = FakeMedia()
    directory = FakeDirectory(tmp_path)
    events = Events()
    switch = Switch(
        "127.0.0.1",
        0,
        directory=directory,
        sink=events,
        data_dir=tmp_path,
        media=media,
        srtp=policy,
    )
    await switch.start()
    try:
        yield Rig(switch, media, directory, events, ("127.0.0.1", switch.local_port))
    finally:
        await switch.stop()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for r in make_rig(tmp_path, SrtpOffer()):  # the defaults: SRTP offered over TLS
        yield r


@pytest.fixture
async def always(tmp_path: Path) -> AsyncIterator[Rig]:
    async for r in make_rig(tmp_path, SrtpOffer(phones="always", trunk="always")):
        yield r


async def call_in(rig: Rig, customer: Peer, call_id: str, body: str) -> CallArrived:
    customer.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id=call_id, body=body)
    await customer.expect_response(100)
    arrived = await rig.events.wait_for(CallArrived)
    assert isinstance(arrived, CallArrived)
    return arrived


async def test_an_srtp_offer_is_answered_with_its_tag_and_our_own_fresh_key(rig: Rig) -> None:
    customer = await rig.peer()
    body = srtp_sdp(
        30000,
        f"1 AES_256_CM_HMAC_SHA1_80 inline:{base64.b64encode(bytes(44)).decode()}",
        f"2 AES_CM_128_HMAC_SHA1_80 inline:{B64}|2^31",
    )
    arrived = await call_in(rig, customer, "srtp-in", body)
    rig.switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
    early = await customer.expect_response(183)
    proto, (ours,) = crypto_of(early.body)
    assert proto == "RTP/SAVP"
    assert (ours.tag, ours.suite) == (2, "AES_CM_128_HMAC_SHA1_80")
    assert ours.key != THEIR_KEY and len(ours.key) == 30
    remote = rig.media.endpoints[arrived.leg_id].remote
    assert remote is not None
    assert remote.srtp == SrtpKeys("AES_CM_128_HMAC_SHA1_80", ours.key, THEIR_KEY)

    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await customer.expect_response(200)
    assert crypto_of(ok.body) == ("RTP/SAVP", [ours])  # the same key in the 183 and the 200

    # A re-INVITE with a new key of theirs: we keep ours, the media takes their new one.
    new_key = secrets.token_bytes(30)
    customer.request(
        "ACK", f"sip:5550100@{rig.addr[0]}", call_id="srtp-in", to=ok.headers.get("to")
    )
    customer.request(
        "INVITE",
        f"sip:5550100@{rig.addr[0]}",
        call_id="srtp-in",
        cseq=2,
        to=ok.headers.get("to"),
        body=srtp_sdp(
            30000, f"5 AES_CM_128_HMAC_SHA1_80 inline:{base64.b64encode(new_key).decode()}"
        ),
    )
    again = await customer.expect_response(200)
    _, (kept,) = crypto_of(again.body)
    assert (kept.tag, kept.key) == (5, ours.key)
    remote = rig.media.endpoints[arrived.leg_id].remote
    assert remote is not None and remote.srtp == SrtpKeys(
        "AES_CM_128_HMAC_SHA1_80", ours.key, new_key
    )
    customer.close()


@pytest.mark.parametrize(
    "body",
    [
        srtp_sdp(30000, f"1 AES_256_CM_HMAC_SHA1_80 inline:{B64}"),
        srtp_sdp(30000, f"1 AES_CM_128_HMAC_SHA1_80 inline:{B64}|2^31|1:4"),  # MKI
        srtp_sdp(30000),  # no a=crypto: DTLS-SRTP or MIKEY keying
    ],
)
async def test_an_srtp_offer_we_cannot_do_is_refused_with_488(rig: Rig, body: str) -> None:
    customer = await rig.peer()
    customer.request("INVITE", f"sip:5550100@{rig.addr[0]}", call_id="srtp-488", body=body)
    refused = await customer.expect_response(488)
    assert refused.reason.startswith(("no SRTP crypto suite", "SRTP offer without"))
    assert not rig.media.endpoints  # no call was set up
    customer.close()


async def test_a_plain_offer_stays_plain(rig: Rig) -> None:
    customer = await rig.peer()
    arrived = await call_in(rig, customer, "plain-in", sdp(30000))
    rig.switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
    early = await customer.expect_response(183)
    assert crypto_of(early.body) == ("RTP/AVP", [])
    remote = rig.media.endpoints[arrived.leg_id].remote
    assert remote is not None and remote.srtp is None
    customer.close()


async def ring_phone(rig: Rig, phone: Peer) -> Request:
    rig.switch.execute(RingAgent("c1", "agent-leg", 2, "1001", auto_answer=True))
    return await phone.expect_request("INVITE")


def answer(phone: Peer, invite: Request, body: str) -> None:
    phone.send(
        make_response(
            invite,
            200,
            to_tag="agenttag",
            headers=[
                ("Contact", f"<sip:agent@127.0.0.1:{phone.port}>"),
                ("Content-Type", "application/sdp"),
            ],
            body=body.encode(),
        )
    )


async def test_a_phone_over_udp_gets_a_plain_offer_by_default(rig: Rig) -> None:
    phone = await rig.peer()
    await register(rig, phone)
    invite = await ring_phone(rig, phone)
    assert crypto_of(invite.body) == ("RTP/AVP", [])
    phone.close()


async def test_with_srtp_always_the_phone_gets_an_srtp_offer_and_its_answer_keys_the_leg(
    always: Rig,
) -> None:
    rig = always
    phone = await rig.peer()
    await register(rig, phone)
    invite = await ring_phone(rig, phone)
    proto, offered = crypto_of(invite.body)
    assert proto == "RTP/SAVP"
    assert [(c.tag, c.suite) for c in offered] == [
        (1, "AES_CM_128_HMAC_SHA1_80"),
        (2, "AES_CM_128_HMAC_SHA1_32"),
    ]
    answer(phone, invite, srtp_sdp(31000, f"2 AES_CM_128_HMAC_SHA1_32 inline:{B64}"))
    assert await rig.events.wait_for(LegAnswered) == LegAnswered("agent-leg")
    remote = rig.media.endpoints["agent-leg"].remote
    assert remote is not None and remote.port == 31000
    assert remote.srtp == SrtpKeys("AES_CM_128_HMAC_SHA1_32", offered[1].key, THEIR_KEY)
    phone.close()


async def test_a_plain_answer_to_our_srtp_offer_is_hung_up_rather_than_given_plain_audio(
    always: Rig,
) -> None:
    rig = always
    phone = await rig.peer()
    await register(rig, phone)
    invite = await ring_phone(rig, phone)
    answer(phone, invite, sdp(31000))  # RTP/AVP: it ignored our crypto
    await phone.expect_request("ACK")
    await phone.expect_request("BYE")  # not a silent call until the media timeout
    failed = await rig.events.wait_for(LegFailed)
    assert isinstance(failed, LegFailed) and "unusable SDP" in failed.detail
    assert not [e for e in rig.events.items if isinstance(e, LegAnswered)]
    remote = rig.media.endpoints.get("agent-leg")
    assert remote is None or remote.remote is None or remote.remote.srtp is not None
    phone.close()


async def test_a_phone_that_refuses_our_srtp_offer_with_488_is_offered_plain_rtp_once(
    always: Rig,
) -> None:
    rig = always
    phone = await rig.peer()
    await register(rig, phone)
    invite = await ring_phone(rig, phone)
    assert crypto_of(invite.body)[0] == "RTP/SAVP"
    phone.send(make_response(invite, 488, to_tag="refuser"))
    await phone.expect_request("ACK")
    again = await phone.expect_request("INVITE")
    assert crypto_of(again.body) == ("RTP/AVP", [])
    assert again.cseq == (invite.cseq[0] + 1, "INVITE")
    assert again.call_id == invite.call_id and again.from_addr.tag == invite.from_addr.tag
    assert again.headers.get("via") != invite.headers.get("via")  # a new transaction
    answer(phone, again, sdp(31000))
    assert await rig.events.wait_for(LegAnswered) == LegAnswered("agent-leg")
    remote = rig.media.endpoints["agent-leg"].remote
    assert remote is not None and (remote.port, remote.srtp) == (31000, None)
    phone.close()


async def test_a_second_488_fails_the_leg(always: Rig) -> None:
    rig = always
    phone = await rig.peer()
    await register(rig, phone)
    invite = await ring_phone(rig, phone)
    phone.send(make_response(invite, 488, to_tag="refuser"))
    again = await phone.expect_request("INVITE")
    phone.send(make_response(again, 488, to_tag="refuser2"))
    failed = await rig.events.wait_for(LegFailed)
    assert isinstance(failed, LegFailed) and failed.leg_id == "agent-leg"
    phone.close()


async def test_a_customer_invite_without_sdp_gets_our_srtp_offer_with_trunk_always(
    always: Rig,
) -> None:
    rig = always
    customer = await rig.peer()
    arrived = await call_in(rig, customer, "late-offer", "")
    rig.switch.execute(Bridge(arrived.call_id, arrived.leg_id, arrived.leg_id))
    ok = await customer.expect_response(200)
    proto, offered = crypto_of(ok.body)
    assert proto == "RTP/SAVP" and len(offered) == 2
    customer.request(
        "ACK",
        f"sip:5550100@{rig.addr[0]}",
        call_id="late-offer",
        to=ok.headers.get("to"),
        body=srtp_sdp(30000, f"1 AES_CM_128_HMAC_SHA1_80 inline:{B64}"),
    )
    endpoint = rig.media.endpoints[arrived.leg_id]
    for _ in range(200):
        if endpoint.remote is not None:
            break
        await customer.quiet(0.01)
    assert endpoint.remote is not None
    assert endpoint.remote.srtp == SrtpKeys("AES_CM_128_HMAC_SHA1_80", offered[0].key, THEIR_KEY)
    customer.close()


async def test_the_contacts_of_a_fork_are_offered_the_same_keys(always: Rig) -> None:
    """One media endpoint serves every branch, so one key protects what it sends whichever
    phone answers; the winner's answer keys the leg."""
    rig = always
    desk, soft = await rig.peer(), await rig.peer()
    await register(rig, desk)
    await register(rig, soft)
    rig.switch.execute(RingAgent("c1", "agent-leg", 2, "1001"))
    to_desk, to_soft = await desk.expect_request("INVITE"), await soft.expect_request("INVITE")
    assert to_desk.call_id != to_soft.call_id
    desk_offer, soft_offer = crypto_of(to_desk.body), crypto_of(to_soft.body)
    assert desk_offer == soft_offer and desk_offer[0] == "RTP/SAVP"
    answer(soft, to_soft, srtp_sdp(31002, f"1 AES_CM_128_HMAC_SHA1_80 inline:{B64}"))
    assert await rig.events.wait_for(LegAnswered) == LegAnswered("agent-leg")
    remote = rig.media.endpoints["agent-leg"].remote
    assert remote is not None and remote.port == 31002
    assert remote.srtp == SrtpKeys("AES_CM_128_HMAC_SHA1_80", desk_offer[1][0].key, THEIR_KEY)
    desk.close()
    soft.close()
