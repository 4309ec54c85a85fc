"""`ringdesk demo caller` and `ringdesk demo trunk`: one small SIP user agent over UDP, built on
our own sip/ (messages, SDP, dialogs) and media/ (RTP, G.711, WAV) packages.

It places a customer's call into the demo service (caller), answers the calls the switch sends
to the demo trunk (trunk: Dial up), or both at once, from one address and port (the demo trunk's
127.0.0.1:5080 by default, which the demo trusts). It plays a WAV or a generated test signal,
echoes with `echo`, and prints what happens to the call.
"""

from __future__ import annotations

import asyncio
import math
import random
import struct
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ringdesk.media import g711
from ringdesk.media.sounds import read_wav, to_frames
from ringdesk.sip.dialog import Dialog
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import (
    Headers,
    Request,
    Response,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
)
from ringdesk.sip.sdp import SdpError, answer_remote, build_sdp, negotiate, parse_sdp
from ringdesk.sip.uri import parse_name_addr, parse_uri

RATE = 8000
PAYLOAD_TYPES = (0, 8)  # PCMU, PCMA
T1 = 0.5
KEYS = "0123456789*#ABCD"  # RFC 4733 events 0-15


def voice_signal(seconds: float = 4.0) -> array[int]:
    """A voice-like test signal: syllables of a few harmonics on a gliding pitch, with pauses."""
    out = array("h")
    step = 0.0
    for n in range(int(seconds * RATE)):
        t = n / RATE
        syllable = t % 0.5
        if syllable > 0.35:
            out.append(0)
            continue
        pitch = 160.0 + 60.0 * math.sin(2 * math.pi * 0.7 * t)
        step += 2 * math.pi * pitch / RATE
        envelope = math.sin(math.pi * syllable / 0.35)
        value = sum(math.sin(k * step) / k for k in (1, 2, 3, 4))
        out.append(int(6000 * envelope * value))
    return out


def load_frames(wav: Path | None, payload_type: int) -> tuple[bytes, ...]:
    samples = read_wav(wav.read_bytes()) if wav is not None else voice_signal()
    return to_frames(samples, payload_type)


def _loud(payload: bytes, payload_type: int) -> bool:
    """Whether a G.711 frame is more than silence (RMS above about -40 dBFS)."""
    pcm = array("h", g711.decode(payload, payload_type))
    return bool(pcm) and math.sqrt(sum(x * x for x in pcm) / len(pcm)) > 300


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    return host, int(port) if port else default_port


@dataclass
class Call:
    """One call of the agent: the dialog once it exists, the media, what to say."""

    call_id: str
    label: str
    peer: tuple[str, int]
    invite: Request | None = None
    dialog: Dialog | None = None
    rtp: asyncio.DatagramTransport | None = None
    remote_rtp: tuple[str, int] | None = None
    payload_type: int = 0
    event_pt: int | None = None  # telephone-event (RFC 4733) when the far end takes it
    keys: list[str] = field(default_factory=list)  # DTMF digits still to send
    key_seen: int = -1  # the timestamp of the last key event we reported
    early: bool = False  # a 183 with SDP: the queue's music before an answer
    answered: bool = False
    ended: bool = False
    pending_2xx: Response | None = None
    heard: int = 0  # 20 ms audio frames received once answered
    heard_loud: int = 0  # of those, frames that are not silence
    sender: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class _Rtp(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Callable[[bytes, tuple[str, int]], None]) -> None:
        self.on_packet = on_packet

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_packet(data, addr)


class DemoPhone(asyncio.DatagramProtocol):
    """The user agent; `say` prints a line (the CLI passes print)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        say: Callable[[str], None],
        wav: Path | None = None,
        echo: bool = False,
        answer_calls: bool = True,
        hang_up_after: float | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.say = say
        self.wav = wav
        self.echo = echo
        self.answer_calls = answer_calls
        self.hang_up_after = hang_up_after
        self.transport: asyncio.DatagramTransport | None = None
        self.calls: dict[str, Call] = {}

    # -- plumbing

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.host, self.port)
        )
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    def close(self) -> None:
        for call in self.calls.values():
            self._stop_media(call)
        if self.transport is not None:
            self.transport.close()

    def _send(self, message: Request | Response, addr: tuple[str, int]) -> None:
        if self.transport is not None:
            self.transport.sendto(message.to_bytes(), addr)

    def _via(self, branch: str | None = None) -> str:
        return f"SIP/2.0/UDP {self.host}:{self.port};branch={branch or new_branch()};rport"

    def _contact(self, user: str) -> str:
        return f"<sip:{user}@{self.host}:{self.port}>"

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip():
            return  # keep-alive
        try:
            message = parse_message(data)
        except SipParseError:
            return
        if isinstance(message, Request):
            self._on_request(message, addr)
        else:
            self._on_response(message)

    # -- media

    async def _open_media(self, call: Call) -> int:
        loop = asyncio.get_running_loop()

        def packet(data: bytes, addr: tuple[str, int]) -> None:
            if len(data) < 12 or data[0] >> 6 != 2:
                return
            if call.event_pt is not None and data[1] & 0x7F == call.event_pt and len(data) >= 16:
                self._key_event(call, data)
                return
            if call.remote_rtp is None:
                call.remote_rtp = addr
            if call.answered and data[1] & 0x7F in (0, 8):
                call.heard += 1
                if _loud(data[12:], data[1] & 0x7F):
                    call.heard_loud += 1
            if self.echo and call.rtp is not None and call.answered:
                call.rtp.sendto(data, call.remote_rtp)

        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Rtp(packet), local_addr=(self.host, 0)
        )
        call.rtp = transport
        port: int = transport.get_extra_info("sockname")[1]
        return port

    def _start_sending(self, call: Call) -> None:
        if call.sender is None and not self.echo:
            call.sender = asyncio.get_running_loop().create_task(self._send_audio(call))

    def _key_event(self, call: Call, data: bytes) -> None:
        """Print a DTMF key the far end sent, once per event (its end packets repeat)."""
        ts = struct.unpack_from("!I", data, 4)[0]
        event, flags = data[12], data[13]
        if flags & 0x80 and ts != call.key_seen and event < len(KEYS):
            call.key_seen = ts
            self.say(f"{call.label}: key {KEYS[event]}")

    def send_keys(self, call: Call, keys: str) -> None:
        """DTMF as RFC 4733 events in the RTP stream (when the far end offered them)."""
        call.keys.extend(k for k in keys.upper() if k in KEYS)

    async def _send_audio(self, call: Call) -> None:
        frames = load_frames(self.wav, call.payload_type)
        ssrc, seq, ts = random.getrandbits(32), random.getrandbits(16), random.getrandbits(32)
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        key_tick = 0  # 20 ms ticks into the key being sent
        while not call.ended:
            if call.rtp is not None and call.remote_rtp is not None:
                if call.keys and call.event_pt is not None and call.answered:
                    # 100 ms of the key at one timestamp, then its end packet three times.
                    key_tick += 1
                    end = key_tick >= 5
                    event = struct.pack(
                        "!BBH", KEYS.index(call.keys[0]), (0x80 if end else 0) | 10, 160 * key_tick
                    )
                    first = 0x80 if key_tick == 1 else 0
                    event_ts = (ts - 160 * (key_tick - 1)) & 0xFFFFFFFF
                    for _ in range(3 if end else 1):
                        header = struct.pack(
                            "!BBHII", 0x80, first | call.event_pt, seq, event_ts, ssrc
                        )
                        call.rtp.sendto(header + event, call.remote_rtp)
                        if end:
                            seq = (seq + 1) & 0xFFFF
                    if end:
                        self.say(f"sent key {call.keys.pop(0)}")
                        key_tick = 0
                        seq = (seq - 1) & 0xFFFF
                else:
                    header = struct.pack("!BBHII", 0x80, call.payload_type, seq, ts, ssrc)
                    call.rtp.sendto(header + frames[n % len(frames)], call.remote_rtp)
            n += 1
            seq = (seq + 1) & 0xFFFF
            ts = (ts + 160) & 0xFFFFFFFF
            await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))

    def _stop_media(self, call: Call) -> None:
        if call.answered and not call.ended:
            # What a newcomer without speakers on this command wants to know: did audio come?
            self.say(
                f"{call.label}: heard {call.heard * 0.02:.1f} s of audio from the far end, "
                f"{call.heard_loud * 0.02:.1f} s of it not silence"
            )
        call.ended = True
        if call.sender is not None:
            call.sender.cancel()
        if call.rtp is not None:
            call.rtp.close()
        call.done.set()

    # -- placing a call (the customer)

    async def call(self, number: str, server: tuple[str, int], caller: str) -> Call:
        """Send the INVITE; the returned call's `done` is set when it ends."""
        call = Call(call_id=new_call_id(self.host), label=number, peer=server)
        self.calls[call.call_id] = call
        media_port = await self._open_media(call)
        body = build_sdp(
            address=self.host,
            port=media_port,
            session_id=str(random.getrandbits(31)),
            version=1,
            payload_types=PAYLOAD_TYPES,
        )
        h = Headers()
        h.add("via", self._via())
        h.add("max-forwards", "70")
        h.add("from", str(parse_name_addr(f"<sip:{caller}@{self.host}>").with_tag(new_tag())))
        h.add("to", f"<sip:{number}@{server[0]}>")
        h.add("call-id", call.call_id)
        h.add("cseq", "1 INVITE")
        h.add("contact", self._contact(caller))
        h.add("content-type", "application/sdp")
        invite = Request(
            headers=h,
            body=body,
            method="INVITE",
            uri=parse_uri(f"sip:{number}@{server[0]}:{server[1]}"),
        )
        call.invite = invite
        self.say(f"calling {number} at {server[0]}:{server[1]} from {caller}")
        asyncio.get_running_loop().create_task(self._retransmit_invite(call, invite))
        return call

    async def _retransmit_invite(self, call: Call, invite: Request) -> None:
        interval = T1
        for _ in range(7):  # until any response (RFC 3261 17.1.1.2, timer A)
            if call.ended or call.pending_2xx is not None:
                return
            self._send(invite, call.peer)
            await asyncio.sleep(interval)
            interval *= 2
        if not call.ended and call.pending_2xx is None:
            self.say("no answer from the server: is `ringdesk serve` running?")
            self._stop_media(call)

    def _on_response(self, response: Response) -> None:
        call = self.calls.get(response.call_id)
        if call is None or call.invite is None:
            return
        number, method = response.cseq
        if method != "INVITE":
            return
        call.pending_2xx = call.pending_2xx or response  # a response: stop retransmitting
        if response.status < 200:
            if response.status == 180:
                self.say("ringing")
            elif response.status == 183 and response.body and not call.early:
                call.early = True
                self._take_answer(call, response)
                self.say("in queue: hearing music")
            return
        if response.status >= 300:
            self._ack_failure(call, response)
            if not call.ended:
                hint = (
                    " (calls are taken from the trunk's address only: the demo's is"
                    " 127.0.0.1:5080, others go in CTI Settings, Other trunk sources)"
                    if response.status == 403
                    else ""
                )
                self.say(f"refused: {response.status} {response.reason}{hint}")
                self._stop_media(call)
            return
        if call.dialog is None:
            call.dialog = Dialog.as_uac(call.invite, response, target_fallback=True)
        self._send(call.dialog.ack(number, via=self._via()), call.peer)
        if not call.answered and not call.ended:
            call.answered = True
            if response.body:
                self._take_answer(call, response)
            self.say("answered by an agent")
            self._start_sending(call)
            if self.hang_up_after is not None:
                asyncio.get_running_loop().call_later(self.hang_up_after, self.hang_up, call)

    def _take_answer(self, call: Call, response: Response) -> None:
        try:
            answer = answer_remote(parse_sdp(response.body), PAYLOAD_TYPES)
        except SdpError:
            return
        call.payload_type = answer.payload_type
        call.event_pt = answer.telephone_event_pt
        call.remote_rtp = (answer.host, answer.port)
        self._start_sending(call)

    def _ack_failure(self, call: Call, response: Response) -> None:
        assert call.invite is not None
        h = Headers()
        h.add("via", call.invite.headers.get("via") or "")
        h.add("max-forwards", "70")
        h.add("from", call.invite.headers.get("from") or "")
        h.add("to", response.headers.get("to") or "")
        h.add("call-id", call.call_id)
        h.add("cseq", f"{call.invite.cseq[0]} ACK")
        self._send(Request(headers=h, body=b"", method="ACK", uri=call.invite.uri), call.peer)

    def hang_up(self, call: Call) -> None:
        """BYE when answered, CANCEL before; the call ends here."""
        if call.ended:
            return
        if call.dialog is not None:
            self._send(call.dialog.new_request("BYE", via=self._via()), call.peer)
            self.say("hung up" if call.invite is not None else f"{call.label}: hung up")
        elif call.invite is not None:
            h = Headers()
            h.add("via", call.invite.headers.get("via") or "")
            h.add("max-forwards", "70")
            for name in ("from", "to", "call-id"):
                h.add(name, call.invite.headers.get(name) or "")
            h.add("cseq", f"{call.invite.cseq[0]} CANCEL")
            self._send(
                Request(headers=h, body=b"", method="CANCEL", uri=call.invite.uri), call.peer
            )
            self.say("cancelled before an answer")
        self._stop_media(call)

    def hang_up_all(self) -> None:
        for call in list(self.calls.values()):
            self.hang_up(call)

    # -- calls that reach us (the trunk)

    def _on_request(self, req: Request, addr: tuple[str, int]) -> None:
        call = self.calls.get(req.call_id)
        if req.method == "INVITE" and call is None:
            asyncio.get_running_loop().create_task(self._answer(req, addr))
        elif req.method == "INVITE" and call is not None and call.pending_2xx is not None:
            if call.dialog is not None and req.to_tag is None:
                self._send(call.pending_2xx, addr)  # a retransmitted INVITE
            else:
                self._reinvite(call, req, addr)
        elif req.method == "ACK":
            if call is not None and call.invite is None:
                call.answered = True
        elif req.method == "BYE":
            self._send(make_response(req, 200), addr)
            if call is not None and not call.ended:
                self.say(f"{call.label}: the far end hung up")
                self._stop_media(call)
        elif req.method == "CANCEL":
            self._send(make_response(req, 200), addr)
            if call is not None and not call.ended and call.invite is None:
                self.say(f"{call.label}: cancelled by the caller")
                self._stop_media(call)
        elif req.method in ("OPTIONS", "NOTIFY", "INFO", "UPDATE"):
            self._send(make_response(req, 200), addr)
        else:
            self._send(
                make_response(req, 405, headers=(("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"),)),
                addr,
            )

    def _reinvite(self, call: Call, req: Request, addr: tuple[str, int]) -> None:
        """Hold and resume: answer with our media as it is."""
        if call.dialog is None or call.rtp is None:
            self._send(make_response(req, 481), addr)
            return
        port = call.rtp.get_extra_info("sockname")[1]
        body = build_sdp(
            address=self.host,
            port=port,
            session_id="1",
            version=random.getrandbits(16) + 2,
            payload_types=(call.payload_type,),
        )
        if req.body:
            try:
                offer = negotiate(parse_sdp(req.body), ("PCMU", "PCMA"))
                call.remote_rtp = (offer.host, offer.port)
            except SdpError:
                pass
        ok = make_response(
            req,
            200,
            headers=(("Contact", self._contact("trunk")), ("Content-Type", "application/sdp")),
            body=body,
        )
        self._send(ok, addr)

    async def _answer(self, req: Request, addr: tuple[str, int]) -> None:
        to = req.uri.user or "?"
        frm = req.from_addr.uri.user or "?"
        label = f"call {frm} -> {to}"
        if not self.answer_calls:
            self._send(make_response(req, 486), addr)
            return
        call = Call(call_id=req.call_id, label=label, peer=addr)
        self.calls[req.call_id] = call
        self._send(make_response(req, 100), addr)
        try:
            offer = negotiate(parse_sdp(req.body), ("PCMU", "PCMA"))
        except SdpError as exc:
            self._send(make_response(req, 488), addr)
            self.say(f"{label}: refused, {exc}")
            self._stop_media(call)
            return
        call.payload_type = offer.payload_type
        call.event_pt = offer.telephone_event_pt
        call.remote_rtp = (offer.host, offer.port)
        port = await self._open_media(call)
        tag = new_tag()
        call.dialog = Dialog.as_uas(req, tag)
        body = build_sdp(
            address=self.host,
            port=port,
            session_id=str(random.getrandbits(31)),
            version=1,
            payload_types=(offer.payload_type,),
            telephone_event=offer.telephone_event_pt,
        )
        ok = make_response(
            req,
            200,
            to_tag=tag,
            headers=(("Contact", self._contact(to)), ("Content-Type", "application/sdp")),
            body=body,
        )
        call.pending_2xx = ok
        self.say(f"{label}: answered")
        self._start_sending(call)
        if self.hang_up_after is not None:
            asyncio.get_running_loop().call_later(self.hang_up_after, self.hang_up, call)
        interval = T1
        for _ in range(7):  # the 2xx again until the ACK (RFC 3261 13.3.1.4)
            self._send(ok, addr)
            await asyncio.sleep(interval)
            interval = min(2 * interval, 4.0)
            if call.answered or call.ended:
                return
