"""SDP (RFC 4566) for audio calls and the offer/answer rules we need (RFC 3264).

We only ever carry one audio stream of G.711 (PCMU 0 / PCMA 8, 20 ms) plus RFC 4733
telephone-event, so the model is that and nothing more; other m= lines are answered with port 0.
The stream may be SRTP (RTP/SAVP, RTP/SAVPF) keyed by SDES (RFC 4568 a=crypto): see the
"SDES" section below; or, for a browser, WebRTC's UDP/TLS/RTP/SAVPF (ICE, DTLS-SRTP keys,
rtcp-mux): see the "WebRTC" section, used only where the caller asks for it (webrtc=True).
"""

from __future__ import annotations

import base64
import binascii
import secrets
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
    crypto: list[str] = field(default_factory=list)  # a=crypto values as written (RFC 4568)
    # WebRTC (RFC 8839 ICE, RFC 8122/5763 DTLS, RFC 5761 rtcp-mux, RFC 9143 mid); session-level
    # ICE and DTLS attributes are copied here when the m= line has none of its own.
    ice_ufrag: str | None = None
    ice_pwd: str | None = field(default=None, repr=False)
    fingerprints: list[tuple[str, str]] = field(default_factory=list)  # (hash, value)
    setup: str | None = None
    rtcp_mux: bool = False
    mid: str | None = None
    candidates: list[str] = field(default_factory=list)  # a=candidate values as written


@dataclass(slots=True)
class SessionDescription:
    origin_session: str
    origin_version: int
    connection: str | None
    media: list[MediaDescription]
    direction: str = "sendrecv"  # session-level attribute, overridden per m=
    ice_lite: bool = False  # a=ice-lite (session level)
    bundle: list[str] = field(default_factory=list)  # mids of a=group:BUNDLE

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
    session = MediaDescription("session", 0, "", [])  # session-level ICE/DTLS attributes
    ice_lite = False
    bundle: list[str] = []
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
            if current is None:
                if value in DIRECTIONS:
                    session_direction = value
                elif value == "ice-lite":
                    ice_lite = True
                elif value.startswith("group:BUNDLE"):
                    bundle = value[len("group:BUNDLE") :].split()
                else:
                    _webrtc_attribute(value, session)
    if not seen_v:
        raise SdpError("missing v= line")
    sdp = SessionDescription(
        origin_session, origin_version, connection, media, session_direction, ice_lite, bundle
    )
    for m in media:
        if m.connection is None:
            m.connection = connection
        if m.ice_ufrag is None and m.ice_pwd is None:
            m.ice_ufrag, m.ice_pwd = session.ice_ufrag, session.ice_pwd
        if not m.fingerprints:
            m.fingerprints = list(session.fingerprints)
        if m.setup is None:
            m.setup = session.setup
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
    elif name == "crypto":
        current.crypto.append(arg)
    else:
        _webrtc_attribute(value, current)


def _webrtc_attribute(value: str, current: MediaDescription) -> None:
    """ICE, DTLS and mux attributes; malformed ones are left out (webrtc_peer then says what is
    missing)."""
    name, _, arg = value.partition(":")
    arg = arg.strip()
    if name == "ice-ufrag" and arg:
        current.ice_ufrag = arg
    elif name == "ice-pwd" and arg:
        current.ice_pwd = arg
    elif name == "fingerprint":
        parts = arg.split()
        if len(parts) == 2:
            current.fingerprints.append((parts[0].lower(), parts[1].upper()))
    elif name == "setup" and arg:
        current.setup = arg.lower()
    elif name == "rtcp-mux" and not arg:
        current.rtcp_mux = True
    elif name == "mid" and arg:
        current.mid = arg
    elif name == "candidate" and arg:
        current.candidates.append(arg)


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
    profile: str = "RTP/AVP"  # the m= line's transport: RTP/AVP(F), or RTP/SAVP(F) for SRTP
    crypto: Crypto | None = None  # SRTP: the peer's a=crypto we use (its sending key)
    webrtc: WebRtcPeer | None = None  # UDP/TLS/RTP/SAVPF: the peer's ICE and DTLS parameters


def negotiate(
    offer: SessionDescription, codecs: Sequence[str], *, webrtc: bool = False
) -> Negotiated:
    """Pick the first codec of the offer (the offerer's preference) that our settings allow;
    an SRTP offer also gets the first of its a=crypto lines we can do (else 488). With
    `webrtc` (a browser leg) the offer must be UDP/TLS/RTP/SAVPF with ICE and DTLS parameters
    and nothing else will do; without it such an offer is refused."""
    m = offer.audio()
    if m is None or m.proto.upper() not in _profiles(webrtc):
        raise SdpError(
            "a WebRTC leg needs UDP/TLS/RTP/SAVPF audio" if webrtc else "no usable audio stream"
        )
    crypto = None if webrtc else offered_crypto(m)
    peer = webrtc_peer(m, offer=True) if webrtc else None
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
        profile=m.proto.upper(),
        crypto=crypto,
        webrtc=peer,
    )


def _profiles(webrtc: bool) -> tuple[str, ...]:
    return WEBRTC_PROFILES if webrtc else PLAIN_PROFILES + SECURE_PROFILES


def answer_remote(
    answer: SessionDescription,
    offered: Sequence[int],
    crypto: Sequence[Crypto] = (),
    *,
    webrtc: bool = False,
) -> Negotiated:
    """Read the answer to our offer: the codec it chose must be one we offered; when we
    offered SRTP (`crypto`, our a=crypto lines), it must have taken one of them; when we
    offered WebRTC (`webrtc`), it must be UDP/TLS/RTP/SAVPF with ICE and DTLS parameters."""
    m = answer.audio()
    if m is None or not m.connection:
        raise SdpError("answer has no audio stream")
    peer = None
    if webrtc:
        if m.proto.upper() not in WEBRTC_PROFILES:
            raise SdpError("answer to our WebRTC offer is not UDP/TLS/RTP/SAVPF")
        peer = webrtc_peer(m, offer=False)
        theirs = None
    elif m.proto.upper() in WEBRTC_PROFILES:
        raise SdpError("WebRTC answer to an offer that was not")
    else:
        theirs = answered_crypto(m, crypto)
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
                profile=m.proto.upper(),
                crypto=theirs,
                webrtc=peer,
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
    profile: str = "RTP/AVP",
    crypto: Sequence[Crypto] = (),
    webrtc: WebRtcAttributes | None = None,
) -> bytes:
    """One audio stream, G.711 at 20 ms, with telephone-event when given; with `crypto`, our
    a=crypto lines (an SRTP `profile`); with `webrtc`, UDP/TLS/RTP/SAVPF and our ICE-lite and
    DTLS attributes (whatever `profile` says)."""
    ip = "IP6" if ":" in address else "IP4"
    if webrtc is not None:
        profile = WEBRTC_PROFILES[0]
    fmts = [str(pt) for pt in payload_types]
    if telephone_event is not None:
        fmts.append(str(telephone_event))
    lines = [
        "v=0",
        f"o=ringdesk {session_id} {version} IN {ip} {address}",
        "s=ringdesk",
        f"c=IN {ip} {address}",
        "t=0 0",
    ]
    if webrtc is not None:
        lines.append("a=ice-lite")
        if webrtc.mid is not None:
            lines.append(f"a=group:BUNDLE {webrtc.mid}")
    lines.append(f"m=audio {port} {profile} {' '.join(fmts)}")
    if webrtc is not None:
        lines.extend(webrtc_lines(webrtc))
    for pt in payload_types:
        lines.append(f"a=rtpmap:{pt} {STATIC_CODECS[pt]}/8000")
    if telephone_event is not None:
        lines.append(f"a=rtpmap:{telephone_event} telephone-event/8000")
        lines.append(f"a=fmtp:{telephone_event} 0-16")
    lines.extend(f"a=crypto:{crypto_value(c)}" for c in crypto)
    lines.append("a=ptime:20")
    lines.append(f"a={direction}")
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_payload_types(codecs: Sequence[str]) -> list[int]:
    pts = [CODEC_PT[c.upper()] for c in codecs if c.upper() in CODEC_PT]
    if not pts:
        raise SdpError("no G.711 codec enabled in the settings")
    return pts


# ---- SDES: SRTP keys in a=crypto (RFC 4568) ------------------------------------------------
#
# a=crypto:<tag> <suite> inline:<base64 of master key || salt>[|<lifetime>][|<MKI>:<length>]
#     [<session parameters>]
# Each side writes the key it will send with; the answerer picks one of the offer's lines (by
# tag) and answers it with its own fresh key. What we cannot do is left out of the choice: an
# unknown suite, a key of the wrong length, an MKI (libsrtp through pylibsrtp has no MKI), more
# than one key, a lifetime too short for a call (we never re-key), and any session parameter but
# the harmless WSH and KDR=0. An SRTP offer with nothing left is refused (488).

PLAIN_PROFILES = ("RTP/AVP", "RTP/AVPF")
SECURE_PROFILES = ("RTP/SAVP", "RTP/SAVPF")
# Suite -> bytes of master key + master salt (RFC 4568 6.2, RFC 7714 12).
CRYPTO_SUITES = {
    "AES_CM_128_HMAC_SHA1_80": 30,
    "AES_CM_128_HMAC_SHA1_32": 30,
    "AEAD_AES_128_GCM": 28,
    "AEAD_AES_256_GCM": 44,
}
OFFERED_SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")  # what we offer, in order
MIN_LIFETIME = 2**20  # packets: about 5.8 hours of 20 ms audio on one key


@dataclass(frozen=True, slots=True)
class Crypto:
    """One a=crypto line we can do: its tag, suite and key (master key || master salt)."""

    tag: int
    suite: str
    key: bytes = field(repr=False)


def parse_crypto(value: str) -> Crypto | None:
    """An a=crypto value (after "crypto:"); None when it is malformed or not one we can do."""
    parts = value.split()
    if len(parts) < 3 or not parts[0].isdigit() or len(parts[0]) > 9:
        return None
    tag, suite, key_params = int(parts[0]), parts[1].upper(), parts[2]
    size = CRYPTO_SUITES.get(suite)
    if size is None or ";" in key_params or not key_params.lower().startswith("inline:"):
        return None
    if not all(_harmless_session_parameter(p) for p in parts[3:]):
        return None
    fields = key_params[len("inline:") :].split("|")
    if len(fields) > 3:
        return None
    try:
        key = base64.b64decode(fields[0], validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(key) != size:
        return None
    for extra in fields[1:]:
        if ":" in extra:  # MKI:length
            return None
        lifetime = _lifetime(extra)
        if lifetime is None or lifetime < MIN_LIFETIME:
            return None
    return Crypto(tag, suite, key)


def _harmless_session_parameter(param: str) -> bool:
    name, _, arg = param.partition("=")
    if name == "WSH":
        return arg.isdigit()
    return name == "KDR" and arg == "0"


def _lifetime(text: str) -> int | None:
    if text.startswith("2^") and text[2:].isdigit() and int(text[2:]) <= 64:
        return 1 << int(text[2:])
    if text.isdigit():
        return int(text)
    return None


def crypto_value(crypto: Crypto) -> str:
    """The a=crypto value for one of our lines (no lifetime: the suite's maximum; no MKI)."""
    key = base64.b64encode(crypto.key).decode("ascii")
    return f"{crypto.tag} {crypto.suite} inline:{key}"


def new_crypto(tag: int, suite: str) -> Crypto:
    """Our own line for `suite` under `tag`, with a fresh random key."""
    return Crypto(tag, suite, secrets.token_bytes(CRYPTO_SUITES[suite]))


def offer_crypto() -> list[Crypto]:
    """Our a=crypto lines for an SRTP offer: one per suite we offer, tags 1, 2, ..."""
    return [new_crypto(tag, suite) for tag, suite in enumerate(OFFERED_SUITES, start=1)]


def answer_crypto(theirs: Crypto, ours: Crypto | None = None) -> Crypto:
    """Our line answering the offer's chosen `theirs`: its tag and suite, our key (`ours`'s
    kept when the suite is the same, as in a re-INVITE, else a fresh one)."""
    if ours is not None and ours.suite == theirs.suite:
        return Crypto(theirs.tag, ours.suite, ours.key)
    return new_crypto(theirs.tag, theirs.suite)


def offered_crypto(m: MediaDescription) -> Crypto | None:
    """For an offer: None for plain RTP; for SRTP the first line (the offerer's preference) we
    can do, or SdpError (488) when there is none."""
    if m.proto.upper() not in SECURE_PROFILES:
        return None  # a=crypto outside an SRTP profile is not SDES (RFC 4568 section 5)
    for value in m.crypto:
        crypto = parse_crypto(value)
        if crypto is not None:
            return crypto
    if not m.crypto:
        raise SdpError("SRTP offer without a=crypto (only SDES keying is supported)")
    raise SdpError("no SRTP crypto suite we support")


def answered_crypto(m: MediaDescription, offered: Sequence[Crypto]) -> Crypto | None:
    """For an answer to our offer: the peer's line, whose tag and suite must be one we offered;
    None for plain RTP, which only a plain offer may get."""
    secure = m.proto.upper() in SECURE_PROFILES
    if not offered:
        if secure:
            raise SdpError("SRTP answer to a plain RTP offer")
        return None
    if not secure:
        raise SdpError("plain RTP answer to our SRTP offer")
    ours = {c.tag: c.suite for c in offered}
    for value in m.crypto:
        crypto = parse_crypto(value)
        if crypto is not None and ours.get(crypto.tag) == crypto.suite:
            return crypto
    raise SdpError("SRTP answer without a crypto line we offered")


# ---- WebRTC: ICE-lite, DTLS-SRTP, rtcp-mux (RFC 8839, RFC 5763, RFC 8842, RFC 5761) --------
#
# A browser's audio is m=audio <port> UDP/TLS/RTP/SAVPF with a=ice-ufrag/a=ice-pwd (its ICE
# credentials), a=fingerprint (its DTLS certificate's hash), a=setup (who starts the handshake),
# a=rtcp-mux (RTP and RTCP on one port: browsers require it) and a=mid in a BUNDLE group. Its
# c= and m= port say little (0.0.0.0 and 9 before candidates are known): the media address is
# what its STUN checks come from. We are ICE-lite: our SDP has a=ice-lite and one host
# candidate, our RTP address.

WEBRTC_PROFILES = ("UDP/TLS/RTP/SAVPF",)
SETUP_VALUES = ("actpass", "active", "passive")


@dataclass(frozen=True, slots=True)
class WebRtcPeer:
    """The peer's WebRTC parameters from its audio m= line (ringdesk.media.api.WebRtcRemote
    takes the first four as they are)."""

    ice_ufrag: str
    ice_pwd: str = field(repr=False)
    fingerprints: tuple[tuple[str, str], ...]
    setup: str
    mid: str | None = None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebRtcAttributes:
    """Our WebRTC attributes for build_sdp (from ringdesk.media.api.WebRtcLocal, plus the
    candidates' addresses and the mid, which in an answer must be the offer's)."""

    ice_ufrag: str
    ice_pwd: str = field(repr=False)
    fingerprint: tuple[str, str]  # (hash function, value)
    setup: str
    candidates: tuple[tuple[str, int], ...] = ()  # our host candidates (address, port)
    mid: str | None = "0"


def webrtc_peer(m: MediaDescription, *, offer: bool) -> WebRtcPeer:
    """The peer's ICE and DTLS parameters, or SdpError (488) naming what is missing or wrong."""
    if not m.ice_ufrag or not m.ice_pwd:
        raise SdpError("WebRTC SDP without a=ice-ufrag and a=ice-pwd")
    if not m.fingerprints:
        raise SdpError("WebRTC SDP without a=fingerprint")
    if not any(alg in FINGERPRINT_HASHES for alg, _ in m.fingerprints):
        raise SdpError("WebRTC SDP with no a=fingerprint hash we know")
    setup = m.setup or ("actpass" if offer else "active")  # RFC 4145 defaults
    if setup not in SETUP_VALUES or (not offer and setup == "actpass"):
        raise SdpError(f"a=setup:{setup} is not usable here")
    if not m.rtcp_mux:
        raise SdpError("WebRTC SDP without a=rtcp-mux (RTCP must share the RTP port)")
    return WebRtcPeer(
        ice_ufrag=m.ice_ufrag,
        ice_pwd=m.ice_pwd,
        fingerprints=tuple(m.fingerprints),
        setup=setup,
        mid=m.mid,
        candidates=tuple(m.candidates),
    )


FINGERPRINT_HASHES = ("sha-1", "sha-256", "sha-384", "sha-512")


def candidate_line(host: str, port: int, foundation: int = 1) -> str:
    """One host candidate for RTP (component 1, UDP, the host type preference 126, RFC 8445
    5.1.2): a=candidate value."""
    priority = (126 << 24) | (65535 << 8) | 255
    return f"{foundation} 1 udp {priority} {host} {port} typ host"


def webrtc_lines(attributes: WebRtcAttributes) -> list[str]:
    """Our media-level WebRTC attribute lines (the session-level a=ice-lite and BUNDLE group are
    build_sdp's)."""
    lines = []
    if attributes.mid is not None:
        lines.append(f"a=mid:{attributes.mid}")
    lines += [
        f"a=ice-ufrag:{attributes.ice_ufrag}",
        f"a=ice-pwd:{attributes.ice_pwd}",
        f"a=fingerprint:{attributes.fingerprint[0]} {attributes.fingerprint[1]}",
        f"a=setup:{attributes.setup}",
        "a=rtcp-mux",
    ]
    for foundation, (host, port) in enumerate(attributes.candidates, start=1):
        lines.append(f"a=candidate:{candidate_line(host, port, foundation)}")
    if attributes.candidates:
        lines.append("a=end-of-candidates")
    return lines
