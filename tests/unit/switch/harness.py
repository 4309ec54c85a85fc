"""A Switch on loopback with an in-memory directory and media, and a tiny UDP SIP peer."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ringdesk.core.telephony import TelephonyEvent
from ringdesk.media.api import RemoteMedia
from ringdesk.sip.auth import authorization, parse_challenge
from ringdesk.sip.message import Request, Response, parse_message
from ringdesk.switch.limits import CallLimits
from ringdesk.switch.lookup import InboundRoute, MediaSettings, TrunkSettings

WAIT = 10.0  # generous: a loaded 2-core machine


@dataclass
class FakeEndpoint:
    leg_id: str
    port: int
    remote: RemoteMedia | None = None
    received: int = 0  # a test moves these to play a phone that sends (or stopped sending)
    rtcp_in: int = 0

    def set_remote(self, remote: RemoteMedia) -> None:
        self.remote = remote


@dataclass
class FakeMedia:
    """Records what the switch asks of the media server."""

    endpoints: dict[str, FakeEndpoint] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    on_done: dict[str, Callable[[], None]] = field(default_factory=dict)
    digit_listeners: dict[str, Callable[[str], None] | None] = field(default_factory=dict)
    next_port: int = 40000

    async def open_endpoint(self, leg_id: str) -> FakeEndpoint:
        self.next_port += 2
        ep = FakeEndpoint(leg_id, self.next_port)
        self.endpoints[leg_id] = ep
        return ep

    async def wait_call(self, call: tuple[str, ...], timeout: float = 2.0) -> None:
        """Wait until the switch has asked for `call` (prompts are resolved in a task)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while call not in self.calls:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the switch never asked for {call}: {self.calls}")
            await asyncio.sleep(0.005)

    def bridge(self, leg_a: str, leg_b: str) -> None:
        self.calls.append(("bridge", leg_a, leg_b))

    def unbridge(self, leg_id: str) -> None:
        self.calls.append(("unbridge", leg_id))

    def play(
        self,
        leg_id: str,
        sound: Path,
        *,
        loop: bool = False,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.calls.append(("play", leg_id, Path(sound).name, str(loop)))
        if on_done is not None:
            self.on_done[leg_id] = on_done

    def stop_play(self, leg_id: str) -> None:
        self.calls.append(("stop_play", leg_id))

    def listen_digits(self, leg_id: str, on_digit: Callable[[str], None] | None) -> None:
        self.calls.append(("listen", leg_id, str(on_digit is not None)))
        self.digit_listeners[leg_id] = on_digit

    def start_recording(self, leg_a: str, leg_b: str, path: Path) -> None:
        self.calls.append(("record", leg_a, leg_b))

    def record_leg(self, leg_id: str, path: Path) -> None:
        self.calls.append(("record_leg", leg_id, path.name))

    def stop_recording(self, leg_id: str) -> float:
        self.calls.append(("stop_recording", leg_id))
        return 3.0

    def close_endpoint(self, leg_id: str) -> None:
        self.calls.append(("close", leg_id))

    async def close(self) -> None:
        self.calls.append(("closed",))


class FakeDirectory:
    def __init__(self, sounds_dir: Path) -> None:
        self.passwords = {"1001": "phone1001-demo", "1002": "phone1002-demo"}
        self.routes = {
            "5550100": InboundRoute(1, True),
            "5550111": InboundRoute(2, False),
        }
        # Calls from any source: these tests are about calls; test_inbound_trust.py is not.
        self.trunk_settings = TrunkSettings(host="127.0.0.1", port=5080, allow_any_source=True)
        self.trunk_list: tuple[TrunkSettings, ...] | None = None
        self.call_limits = CallLimits()
        sounds = {}
        for name in ("hold_music", "queue_music", "force_disconnect", "overflow"):
            path = sounds_dir / f"{name}.wav"
            path.write_bytes(b"RIFF")
            sounds[name] = path
        # As if an admin had uploaded them: played as they are, never spoken (playback.py).
        self.media_settings = MediaSettings(sounds=sounds, uploads=frozenset(sounds))

    def sip_domain(self) -> str:
        return "ringdesk.local"

    def phone_password(self, cti_id: str) -> str | None:
        return self.passwords.get(cti_id)

    def inbound_route(self, called_number: str) -> InboundRoute | None:
        return self.routes.get(called_number)

    def trunk(self) -> TrunkSettings:
        return self.trunk_settings

    def trunks(self) -> tuple[TrunkSettings, ...]:
        if self.trunk_list is not None:
            return self.trunk_list
        return (self.trunk_settings,) if self.trunk_settings.host else ()

    def limits(self) -> CallLimits:
        return self.call_limits

    def media(self) -> MediaSettings:
        return self.media_settings


class Events:
    """The switch's sink: collects events and lets a test wait for one."""

    def __init__(self) -> None:
        self.items: list[TelephonyEvent] = []
        self._cond = asyncio.Condition()

    def __call__(self, event: TelephonyEvent) -> None:
        self.items.append(event)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def wait_for(self, kind: type, timeout: float = WAIT) -> TelephonyEvent:
        async def find() -> TelephonyEvent:
            async with self._cond:
                while True:
                    for item in self.items:
                        if isinstance(item, kind):
                            self.items.remove(item)
                            return item
                    await self._cond.wait()

        return await asyncio.wait_for(find(), timeout)


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[bytes]) -> None:
        self.queue = queue

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait(data)


class Peer:
    """A minimal SIP UA over UDP: sends text templates, receives parsed messages."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.switch: tuple[str, int] = ("127.0.0.1", 0)
        self.tag = secrets.token_hex(4)
        self.host = host  # our socket's address ('::1' for an IPv6 peer)

    @property
    def uri_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    async def open(self, switch: tuple[str, int]) -> Peer:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Proto(self.queue), local_addr=(self.host, 0)
        )
        self.port = self.transport.get_extra_info("sockname")[1]
        self.switch = switch
        return self

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def send_raw(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data, self.switch)

    def send(self, msg: Request | Response) -> None:
        self.send_raw(msg.to_bytes())

    def request(
        self,
        method: str,
        ruri: str,
        *,
        call_id: str,
        cseq: int = 1,
        to: str | None = None,
        extra: str = "",
        body: str = "",
        branch: str | None = None,
    ) -> bytes:
        branch = branch or "z9hG4bK" + secrets.token_hex(6)
        text = (
            f"{method} {ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {self.uri_host}:{self.port};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:5551234@{self.uri_host}:{self.port}>;tag={self.tag}\r\n"
            f"To: {to or '<' + ruri + '>'}\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"Contact: <sip:peer@{self.uri_host}:{self.port}>\r\n"
            f"{extra}"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
        )
        data = text.encode()
        self.send_raw(data)
        return data

    async def receive(self, timeout: float = WAIT) -> Request | Response:
        data = await asyncio.wait_for(self.queue.get(), timeout)
        return parse_message(data)

    async def expect_response(self, status: int, timeout: float = WAIT) -> Response:
        """The next response with this status, skipping provisional ones and requests."""

        async def find() -> Response:
            while True:
                msg = await self.receive(timeout)
                if isinstance(msg, Response) and msg.status == status:
                    return msg
                if isinstance(msg, Response) and msg.status >= 200:
                    raise AssertionError(f"expected {status}, got {msg.status} {msg.reason}")

        return await asyncio.wait_for(find(), timeout)

    async def expect_request(self, method: str, timeout: float = WAIT) -> Request:
        async def find() -> Request:
            while True:
                msg = await self.receive(timeout)
                if isinstance(msg, Request) and msg.method == method:
                    return msg

        return await asyncio.wait_for(find(), timeout)

    async def quiet(self, seconds: float = 0.3) -> list[bytes]:
        """Whatever arrives in the next moment (a test that nothing should)."""
        await asyncio.sleep(seconds)
        got = []
        while not self.queue.empty():
            got.append(self.queue.get_nowait())
        return got


def sdp(port: int, direction: str = "sendrecv", host: str = "127.0.0.1") -> str:
    ip = "IP6" if ":" in host else "IP4"
    return (
        f"v=0\r\no=peer 1 1 IN {ip} {host}\r\ns=-\r\nc=IN {ip} {host}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        f"a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na={direction}\r\n"
    )


def answer_auth(challenge_resp: Response, user: str, password: str, ruri: str) -> str:
    challenge = next(
        c
        for c in map(parse_challenge, challenge_resp.headers.get_all("www-authenticate"))
        if c is not None and c.algorithm == "SHA-256"
    )
    value = authorization(
        challenge, method="REGISTER", uri=ruri, username=user, password=password, cnonce="xyz"
    )
    return f"Authorization: {value}\r\n"


async def until(check: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait (polling every 20 ms) until `check()` is true; fail after `timeout` s."""
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")
