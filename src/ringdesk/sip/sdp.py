"""SDP (RFC 4566) for audio calls and the offer/answer rules we need (RFC 3264).

We only ever carry one audio stream of G.711 (PCMU 0 / PCMA 8, 20 ms) plus RFC 4733
telephone-event, so the model is that and nothing more; other m= lines are answered with port 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

STATIC_CODECS = {0: "PCMU", 8: "PCMA"}
CODEC_PT = {"PCMU": 0, "PCMA": 8}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_MIRROR = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


class SdpError(ValueError):
    """The SDP cannot be read or nothing in it fits: answer 488 Not Acceptable Here."""

    status = 488


@dataclass(slots=True)
class MediaDescription:
    kind: str
    port: int
    proto: str
    formats: list[str]
    connection: str | None = None
    direction: str = "sendrecv"
    rtpmap: dict[int, tuple[str, int]] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    ptime: int | None = None
    rtcp_port: int | None = None  # a=rtcp (RFC 3605): RTCP not on the RTP port + 1
    rtcp_address: str | None = None


@dataclass(slots=True)
class SessionDescription:
    origin_session: str
    origin_version: int
    connection: str | None
    media: list[MediaDescription]
    direction: str = "sendrecv"  # session-level attribute, overridden per m=

    def audio(self) -> MediaDescription | None:
        for m in self.media:
            if m.kind == "audio" and m.port != 0:
                return m
        return None


def parse_sdp(body: bytes) -> SessionDescription:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SdpError("SDP is not UTF-8") from None
    origin_session, origin_version = "0", 0
    connection: str | None = None
    session_direction = "sendrecv"
    media: list[MediaDescription] = []
    seen_v = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError("bad SDP line")
        kind, value = line[0], line[2:]
        current = media[-1] if media else None
        if kind == "v":
            seen_v = True
        elif kind == "o":
            parts = value.split()
            if len(parts) != 6 or not parts[2].isdigit():
                raise SdpError("bad o= line")
            origin_session, origin_version = parts[1], int(parts[2])
        elif kind == "c":
            parts = value.split()
            if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
                raise SdpError("bad c= line")
            address = parts[2].split("/")[0]
            if current is None:
                connection = address
            else:
                current.connection = address
        elif kind == "m":
            parts = value.split()
            if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
                raise SdpError("bad m= line")
            port = int(parts[1].split("/")[0])
            if port > 65535:
                raise SdpError("bad m= port")
            media.append(MediaDescription(parts[0], port, parts[2], parts[3:]))
        elif kind == "a":
            _attribute(value, current, media)
            if current is None and value in DIRECTIONS:
                session_direction = value
    if not seen_v:
        raise SdpError("missing v= line")
    sdp = SessionDescription(origin_session, origin_version, connection, media, session_direction)
    for m in media:
        if m.connection is None:
            m.connection = connection
        if m.direction == "sendrecv" and session_direction != "sendrecv":
            m.direction = session_direction
    return sdp


def _attribute(value: str, current: MediaDescription | None, media: list[MediaDescription]) -> None:
    if current is None:
        return
    name, _, arg = value.partition(":")
    if name in DIRECTIONS and not arg:
        current.direction = name
    elif name == "rtpmap":
        pt_text, _, enc = arg.partition(" ")
        enc_parts = enc.strip().split("/")
        if not pt_text.isdigit() or len(enc_parts) < 2 or not enc_parts[1].isdigit():
            raise SdpError("bad rtpmap")
        current.rtpmap[int(pt_text)] = (enc_parts[0], int(enc_parts[1]))
    elif name == "fmtp":
        pt_text, _, params = arg.partition(" ")
        if pt_text.isdigit():
            current.fmtp[int(pt_text)] = params.strip()
    elif name == "ptime" and arg.strip().isdigit():
        current.ptime = int(arg.strip())
    elif name == "rtcp":
        _rtcp_attribute(arg, current)


def _rtcp_attribute(arg: str, current: MediaDescription) -> None:
    """`a=rtcp:<port> [IN IP4|IP6 <address>]`; a malformed one is ignored (RTP + 1 then)."""
    parts = arg.split()
    if not parts or not parts[0].isdigit() or not 0 < int(parts[0]) < 65536:
        return
    if len(parts) == 4 and parts[1] == "IN" and parts[2] in ("IP4", "IP6"):
        current.rtcp_address = parts[3]
    elif len(parts) != 1:
        return
    current.rtcp_port = int(parts[0])


def codec_name(m: MediaDescription, pt: int) -> str | None:
    if pt in m.rtpmap:
        return m.rtpmap[pt][0].upper()
    return STATIC_CODECS.get(pt)


def telephone_event_pt(m: MediaDescription) -> int | None:
    for fmt in m.formats:
        if fmt.isdigit():
            name = m.rtpmap.get(int(fmt))
            if name and name[0].lower() == "telephone-event" and name[1] == 8000:
                return int(fmt)
    return None


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the answerer chose: the remote's address, the codec, telephone-event, direction."""

    host: str
    port: int
    payload_type: int
    telephone_event_pt: int | None
    remote_direction: str
    answer_direction: str
    rtcp_port: int | None = None  # from a=rtcp; None: the RTP port + 1
    rtcp_host: str | None = None


def negotiate(offer: SessionDescription, codecs: Sequence[str]) -> Negotiated:
    """Pick the first codec of the offer (the offerer's preference) that our settings allow."""
    m = offer.audio()
    if m is None or m.proto.upper() not in ("RTP/AVP", "RTP/AVPF"):
        raise SdpError("no usable audio stream")
    if not m.connection:
        raise SdpError("no connection address")
    allowed = {c.upper() for c in codecs}
    chosen: int | None = None
    for fmt in m.formats:
        if not fmt.isdigit():
            continue
        name = codec_name(m, int(fmt))
        if name in allowed and name in CODEC_PT and m.rtpmap.get(int(fmt), (name, 8000))[1] == 8000:
            chosen = int(fmt)
            break
    if chosen is None:
        raise SdpError("no common codec")
    return Negotiated(
        host=m.connection,
        port=m.port,
        payload_type=chosen,
        telephone_event_pt=telephone_event_pt(m),
        remote_direction=m.direction,
        answer_direction=_MIRROR[m.direction],
        rtcp_port=m.rtcp_port,
        rtcp_host=m.rtcp_address,
    )


def answer_remote(answer: SessionDescription, offered: Sequence[int]) -> Negotiated:
    """Read the answer to our offer: the codec it chose must be one we offered."""
    m = answer.audio()
    if m is None or not m.connection:
        raise SdpError("answer has no audio stream")
    for fmt in m.formats:
        if fmt.isdigit() and int(fmt) in offered and codec_name(m, int(fmt)) in CODEC_PT:
            return Negotiated(
                host=m.connection,
                port=m.port,
                payload_type=int(fmt),
                telephone_event_pt=telephone_event_pt(m),
                remote_direction=m.direction,
                answer_direction=m.direction,
                rtcp_port=m.rtcp_port,
                rtcp_host=m.rtcp_address,
            )
    raise SdpError("answer chose no codec we offered")


def build_sdp(
    *,
    address: str,
    port: int,
    session_id: str,
    version: int,
    payload_types: Sequence[int],
    telephone_event: int | None = 101,
    direction: str = "sendrecv",
) -> bytes:
    """One audio stream, G.711 at 20 ms, with telephone-event when given."""
    ip = "IP6" if ":" in address else "IP4"
    fmts = [str(pt) for pt in payload_types]
    if telephone_event is not None:
        fmts.append(str(telephone_event))
    lines = [
        "v=0",
        f"o=ringdesk {session_id} {version} IN {ip} {address}",
        "s=ringdesk",
        f"c=IN {ip} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(fmts)}",
    ]
    for pt in payload_types:
        lines.append(f"a=rtpmap:{pt} {STATIC_CODECS[pt]}/8000")
    if telephone_event is not None:
        lines.append(f"a=rtpmap:{telephone_event} telephone-event/8000")
        lines.append(f"a=fmtp:{telephone_event} 0-16")
    lines.append("a=ptime:20")
    lines.append(f"a={direction}")
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_payload_types(codecs: Sequence[str]) -> list[int]:
    pts = [CODEC_PT[c.upper()] for c in codecs if c.upper() in CODEC_PT]
    if not pts:
        raise SdpError("no G.711 codec enabled in the settings")
    return pts
