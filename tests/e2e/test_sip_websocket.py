"""SIP over secure WebSocket (RFC 7118), the browser phone's signalling, from a Python
`websockets` client against a real `ringdesk serve --https`: a ticket from the REST API opens
/api/sip once; a REGISTER over it for the agent's own CTI ID binds a `wss` contact and the
engine's phone_registered follows it; another agent's CTI ID is 403; closing the socket
removes the binding at once; a socket without a ticket, or with a used one, is refused; an
INVITE from it is 403, a frame over 64 KiB closes it (1009), a silent one closes after the
idle time, and one whose web session ends closes (1008) and takes its binding along."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from tests.support.server import RunningServer, start_server
from tests.ui.desk import api, wait_until

IDLE = 3
SIP = [Subprotocol("sip")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # A short idle time, so a silent socket's closing is seen within the test.
    running = start_server(
        tmp_path_factory.mktemp("wss"),
        serve_args=["--https"],
        env={"RINGDESK_SIP_CONN_IDLE": str(IDLE)},
    )
    try:
        yield running
    finally:
        running.stop()


def _allow_browser(server: RunningServer, name: str) -> None:
    with api(server, "admin") as http:
        rows = {r["name"].split()[0].lower(): r for r in http.get("/api/admin/cti/agents").json()}
        row = rows[name]
        body = {"cti_id": row["cti_id"], "cti_number": row["cti_number"]}
        saved = http.put(
            f"/api/admin/cti/agents/{row['user_id']}",
            json={**body, "browser_phone_allowed": True},
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["browser_phone_allowed"] is True


def _ticket(http: httpx.Client) -> dict[str, Any]:
    chosen = http.put("/api/cti/phone", json={"phone": "browser"})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["phone"] == "browser"
    answer = http.post("/api/cti/sip-ticket")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _url(server: RunningServer, ticket: str | None) -> str:
    query = f"?ticket={ticket}" if ticket is not None else ""
    return f"wss://127.0.0.1:{server.http_port}/api/sip{query}"


def _tls(server: RunningServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.tls_cert))


def _register(cti_id: str, domain: str, expires: int = 600) -> str:
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    contact = f"sip:{uuid.uuid4().hex[:8]}@{uuid.uuid4().hex[:10]}.invalid;transport=ws"
    return (
        f"REGISTER sip:{domain} SIP/2.0\r\n"
        f"Via: SIP/2.0/WSS {uuid.uuid4().hex[:10]}.invalid;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        f"To: <sip:{cti_id}@{domain}>\r\n"
        f"From: <sip:{cti_id}@{domain}>;tag={uuid.uuid4().hex[:8]}\r\n"
        f"Call-ID: {uuid.uuid4().hex}\r\n"
        "CSeq: 1 REGISTER\r\n"
        f"Contact: <{contact}>;expires={expires}\r\n"
        "Content-Length: 0\r\n\r\n"
    )


def _status(frame: str | bytes) -> int:
    text = frame if isinstance(frame, str) else frame.decode()
    assert text.startswith("SIP/2.0 "), text[:80]
    return int(text.split(" ", 2)[1])


def _registered(http: httpx.Client) -> bool:
    return bool(http.get("/api/cti/state").json()["phone_registered"])


def _contacts(server: RunningServer, name: str) -> list[str]:
    with api(server, "admin") as http:
        for row in http.get("/api/admin/cti/agents").json():
            if row["name"].split()[0].lower() == name:
                return list(row["phone_contacts"])
    raise AssertionError(name)


def test_register_over_wss_for_the_own_cti_id_only(server: RunningServer) -> None:
    _allow_browser(server, "alice")
    with api(server, "alice") as http:
        assert not _registered(http)
        ticket = _ticket(http)
        assert ticket["path"] == "/api/sip" and ticket["cti_id"] == "1001"

        async def session() -> None:
            async with websockets.connect(
                _url(server, ticket["ticket"]), subprotocols=SIP, ssl=_tls(server)
            ) as ws:
                assert ws.subprotocol == "sip"
                # Another agent's CTI ID over this socket: 403, nothing bound.
                await ws.send(_register("1002", ticket["sip_domain"]))
                assert _status(await asyncio.wait_for(ws.recv(), 10)) == 403
                assert not [c for c in _contacts(server, "bob") if c.startswith("wss ")]
                # Its own: 200 at once, no digest asked (the socket is the credential).
                await ws.send(_register("1001", ticket["sip_domain"]))
                assert _status(await asyncio.wait_for(ws.recv(), 10)) == 200
                contacts = _contacts(server, "alice")
                assert any(c.startswith("wss 127.0.0.1:") for c in contacts), contacts
                await asyncio.to_thread(
                    wait_until, lambda: _registered(http), timeout=10, what="registered"
                )
                # The admin sees the socket among the SIP connections.
                assert _browser_sockets(server) == 1
            # Closed: the binding goes at once, and with it the engine's phone_registered.

        asyncio.run(session())
        wait_until(lambda: not _registered(http), timeout=3, what="unregistered on close")
        assert not [c for c in _contacts(server, "alice") if c.startswith("wss ")]
        wait_until(lambda: _browser_sockets(server) == 0, timeout=3, what="socket count 0")


def _browser_sockets(server: RunningServer) -> int:
    with api(server, "admin") as http:
        return int(http.get("/api/admin/sip/connections").json()["browser_phones"])


def test_a_socket_without_a_valid_ticket_is_refused(server: RunningServer) -> None:
    _allow_browser(server, "alice")
    with api(server, "alice") as http:
        ticket = _ticket(http)["ticket"]

        async def attempts() -> list[int]:
            refused: list[int] = []
            for url in (_url(server, None), _url(server, "forged-" + "x" * 20)):
                with pytest.raises(InvalidStatus) as info:
                    await websockets.connect(url, subprotocols=SIP, ssl=_tls(server))
                refused.append(info.value.response.status_code)
            async with websockets.connect(_url(server, ticket), subprotocols=SIP, ssl=_tls(server)):
                pass  # the ticket's one use
            with pytest.raises(InvalidStatus) as again:
                await websockets.connect(_url(server, ticket), subprotocols=SIP, ssl=_tls(server))
            refused.append(again.value.response.status_code)
            # A valid ticket without the sip subprotocol is refused too (and spent).
            other = _ticket(http)["ticket"]
            with pytest.raises(InvalidStatus) as plain:
                await websockets.connect(_url(server, other), ssl=_tls(server))
            refused.append(plain.value.response.status_code)
            return refused

        assert asyncio.run(attempts()) == [403, 403, 403, 403]


def test_the_ticket_needs_the_browser_phone(server: RunningServer) -> None:
    # The demo allows every agent the browser phone: the admin takes it away from carol.
    with api(server, "admin") as http:
        row = next(r for r in http.get("/api/admin/cti/agents").json() if r["cti_id"] == "1003")
        body = {"cti_id": "1003", "cti_number": row["cti_number"], "browser_phone_allowed": False}
        assert http.put(f"/api/admin/cti/agents/{row['user_id']}", json=body).status_code == 200
    with api(server, "carol") as http:
        refused = http.put("/api/cti/phone", json={"phone": "browser"})
        assert refused.status_code == 403
        assert refused.json()["code"] == "browser_phone_not_allowed"
        ticket = http.post("/api/cti/sip-ticket")
        assert ticket.status_code == 409
        assert ticket.json()["code"] == "not_browser_phone"


def _invite(domain: str) -> str:
    branch = "z9hG4bK" + uuid.uuid4().hex[:12]
    body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    return (
        f"INVITE sip:5550100@{domain} SIP/2.0\r\n"
        f"Via: SIP/2.0/WSS {uuid.uuid4().hex[:10]}.invalid;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        f"To: <sip:5550100@{domain}>\r\n"
        f"From: <sip:1001@{domain}>;tag={uuid.uuid4().hex[:8]}\r\n"
        f"Call-ID: {uuid.uuid4().hex}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:x@{uuid.uuid4().hex[:10]}.invalid;transport=ws>\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )


def test_the_socket_places_no_calls_takes_no_huge_frame_and_closes_when_idle(
    server: RunningServer,
) -> None:
    _allow_browser(server, "alice")
    with api(server, "alice") as http:

        async def session() -> tuple[int, int | None, float]:
            ticket = _ticket(http)
            async with websockets.connect(
                _url(server, ticket["ticket"]), subprotocols=SIP, ssl=_tls(server)
            ) as ws:
                # An INVITE from the browser (toward the trunk, say): 403, no call.
                await ws.send(_invite(ticket["sip_domain"]))
                answers = []
                while True:
                    status = _status(await asyncio.wait_for(ws.recv(), 10))
                    if status >= 200:
                        break
                    answers.append(status)
                invite = status
                # A frame over 64 KiB: the socket is closed with 1009.
                await ws.send("OPTIONS " + "x" * 70_000)
                with pytest.raises(websockets.ConnectionClosed) as big:
                    await asyncio.wait_for(ws.recv(), 10)
                too_big = big.value.rcvd.code if big.value.rcvd else None
            # A silent socket without a binding: closed by the server after the idle time.
            ticket = _ticket(http)
            async with websockets.connect(
                _url(server, ticket["ticket"]), subprotocols=SIP, ssl=_tls(server)
            ) as ws:
                opened = asyncio.get_running_loop().time()
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), IDLE + 10)
                idle = asyncio.get_running_loop().time() - opened
            return invite, too_big, idle

        invite, too_big, idle = asyncio.run(session())
        assert invite == 403
        assert too_big == 1009
        assert IDLE - 0.5 <= idle < IDLE + 6, idle


def test_the_socket_closes_when_its_session_ends(server: RunningServer) -> None:
    _allow_browser(server, "alice")
    token = server.login("alice", "alice-demo")
    with server.client(token) as http:
        ticket = _ticket(http)

        async def session() -> float:
            async with websockets.connect(
                _url(server, ticket["ticket"]), subprotocols=SIP, ssl=_tls(server)
            ) as ws:
                await ws.send(_register("1001", ticket["sip_domain"]))
                assert _status(await asyncio.wait_for(ws.recv(), 10)) == 200
                await asyncio.to_thread(http.post, "/api/auth/logout")
                ended = asyncio.get_running_loop().time()
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:  # nothing else comes; the close does
                        await asyncio.wait_for(ws.recv(), 15)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
                return asyncio.get_running_loop().time() - ended

        assert asyncio.run(session()) < 7
    with api(server, "alice") as other:
        wait_until(
            lambda: not other.get("/api/cti/state").json()["phone_registered"],
            timeout=3,
            what="unregistered with the session",
        )
