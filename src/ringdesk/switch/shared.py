"""What every part of the B2BUA shares: the legs and the indexes that find them, the SIP stack,
the registrar, the media server, the engine's sink and the directory; and the small plumbing
over them (reporting to the engine, tasks, our Contact and SDP). One SwitchState per Switch,
passed to each part (inbound.py, outbound.py, media_actions.py, direction.py, teardown.py)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import ssl
from collections import deque
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, cast

from ringdesk.core.telephony import PhoneRegistered, TelephonyEvent
from ringdesk.media.api import Media, RemoteMedia, SrtpKeys, WebRtcMediaEndpoint, WebRtcRemote
from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import Request, Response
from ringdesk.sip.registrar import Registrar
from ringdesk.sip.sdp import (
    CRYPTO_SUITES,
    WEBRTC_PROFILES,
    Negotiated,
    SdpError,
    WebRtcAttributes,
    answer_crypto,
    answer_remote,
    build_sdp,
    offer_crypto,
    parse_sdp,
)
from ringdesk.sip.uri import parse_name_addr
from ringdesk.switch.lookup import EventSink, SwitchDirectory

from .addresses import Addresses, ip, uri_host
from .gate import Gate
from .legs import AnyLeg, Branch, IncomingLeg, Leg
from .limits import CallCounts
from .persist import BindingsJournal
from .resolver import TrunkResolver
from .srtp import SrtpOffer
from .stack import RequestHandler, SipStack

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE"
SDP_TYPE = "application/sdp"
CONTACT_USER = "ringdesk"  # the user part of our Contact (a trunk may send calls to it)
RING_LIMIT = 180.0  # seconds an outgoing leg may ring before we give up on it
FORGET_AFTER = 40.0  # seconds an ended leg's dialog still answers late retransmissions


class SwitchState:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        handler: RequestHandler,
        directory: SwitchDirectory,
        sink: EventSink,
        data_dir: Path,
        media: Media | None,
        gate: Gate | None = None,
        srtp: SrtpOffer | None = None,
        tls: ssl.SSLContext | None = None,
        tls_port: int = 0,
        addresses: Addresses | None = None,
        media_addresses: Addresses | None = None,
        min_expires: int = 60,
    ) -> None:
        self.host = host
        # What we advertise to each peer in Contact and Via (addresses) and in SDP
        # (media_addresses): addresses.py.
        self.addresses = addresses or Addresses(host)
        self.media_addresses = media_addresses or Addresses(host)
        self.srtp = srtp or SrtpOffer()  # when our own offers are SRTP (srtp.py)
        self.gate = gate
        self.directory = directory
        self.sink = sink
        self.data_dir = Path(data_dir)
        self.media: Media | None = media
        self.stack = SipStack(host, port, handler, gate, tls=tls, tls_port=tls_port)
        self.stack.advertise = self.addresses.advertise
        self.registrar = Registrar(on_change=self._registration_changed, min_expires=min_expires)
        # The trunk may be a host name: resolved for our socket's address families ('::'
        # serves both: a provider with only IPv4 addresses is reached from a dual-stack bind).
        self.resolver = TrunkResolver(
            socket.AF_UNSPEC if host == "::" else socket.AF_INET6 if ":" in host else socket.AF_INET
        )
        self.legs: dict[str, AnyLeg] = {}
        self.by_dialog: dict[tuple[str, str], AnyLeg] = {}  # (SIP Call-ID, our tag)
        self.by_invite: dict[tuple[str, str], IncomingLeg] = {}  # (SIP Call-ID, their From tag)
        self.callers: dict[str, str] = {}  # call id -> the customer's number, for phones
        self.inbound_counts = CallCounts()  # live customer legs by source; refusals by reason
        # call id -> the customer's codec: offered first to the other legs, so the relay
        # seldom has to transcode.
        self.call_codecs: dict[str, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._warned_phones: set[str] = set()  # checked once: can it reach what we advertise?
        self._ended: deque[tuple[float, Leg]] = deque()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = False
        self._bindings_journal: BindingsJournal | None = None

    @property
    def media_host(self) -> str:
        """Our SIP address for nobody in particular (Call-ID, Call-Info), as a URI host."""
        return uri_host(self.addresses.for_peer(None))

    def sip_host_for(self, peer: str | None) -> str:
        """Our address in Contact and Via toward `peer`, bracketed if IPv6 (RFC 5118)."""
        return uri_host(self.addresses.for_peer(peer))

    def media_address_for(self, leg: Leg) -> str:
        """Our SDP address toward `leg`: chosen for where its media goes (its SDP's address),
        else for its signaling peer."""
        target = leg.peer[0]
        remote = getattr(leg.endpoint, "remote", None)
        if isinstance(remote, RemoteMedia):
            address = ip(remote.host)
            if address is not None and not address.is_unspecified:
                target = remote.host
        return self.media_addresses.advertise(target)

    def media_serves(self, host: str) -> bool:
        """Whether our RTP sockets can reach an SDP address (its family is bound)."""
        return ip(host) is None or self.media_addresses.serves(host)

    def check_family(self, neg: Negotiated, what: str) -> Negotiated:
        """`neg`, or SdpError (answered 488 Not Acceptable Here, logged once) when its
        address family is one our RTP sockets do not have."""
        if self.media_serves(neg.host):
            return neg
        family = "IPv6" if ":" in neg.host else "IPv4"
        log.warning(
            "%s: its SDP asks for %s media (%s) and RTP is bound to %s only: 488",
            what,
            family,
            neg.host,
            self.media_addresses.bound,
        )
        raise SdpError(f"{family} media not served here")

    # ---- registrations ----------------------------------------------------------------------

    def _registration_changed(self, cti_id: str, registered: bool) -> None:
        if registered:
            self._check_reachable(cti_id)
        self.emit(PhoneRegistered(cti_id, registered))

    def _check_reachable(self, cti_id: str) -> None:
        """Warn when a phone registers from a public address and what we advertise to it is
        not one it can reach (addresses.unreachable), once per phone."""
        if cti_id in self._warned_phones:
            return
        for binding in self.registrar.bindings_of(cti_id):
            source = binding.source[0]
            self._warned_phones.add(cti_id)
            self.addresses.check(source, self.addresses.for_peer(source), f"phone {cti_id}")
            return

    @property
    def bindings_file(self) -> Path:
        return self.data_dir / "sip-registrations.json"

    @property
    def bindings_journal(self) -> BindingsJournal:
        if self._bindings_journal is None:
            self._bindings_journal = BindingsJournal(
                self.bindings_file, self.registrar.all_bindings, self.stack.now
            )
        return self._bindings_journal

    def save_bindings(self) -> None:
        """A binding changed: the file is rewritten on the loop's next turn (persist.py), once
        for every change until then (10,000 phones registering, one write per burst)."""
        self.bindings_journal.mark()

    # ---- the engine and the loop ------------------------------------------------------------

    def emit(self, event: TelephonyEvent) -> None:
        # Straight to the sink: the runtime queues every report and decides it on a later tick
        # (one deferral, there), so the engine is never re-entered while the switch acts.
        try:
            self.sink(event)
        except Exception:
            log.exception("event delivery failed")

    def later(self, fn: Callable[[], None]) -> None:
        def run() -> None:
            try:
                fn()
            except Exception:
                log.exception("event delivery failed")

        assert self.loop is not None
        self.loop.call_soon(run)

    def spawn(
        self, coro: Coroutine[Any, Any, None], on_error: Callable[[], None] | None = None
    ) -> None:
        """Run `coro` as a task; if it fails, log it and call `on_error`."""

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("call task failed")
                if on_error is not None:
                    on_error()

        task = asyncio.get_running_loop().create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ---- ended legs -------------------------------------------------------------------------

    def keep_findable(self, leg: Leg) -> None:
        """An ended leg's dialog still matches late retransmissions (BYE, 2xx) for a while."""
        if self.started:
            self._ended.append((self.stack.now() + FORGET_AFTER, leg))

    def forget_ended(self, now: float) -> None:
        """Forget the legs that ended long enough ago."""
        while self._ended and self._ended[0][0] <= now:
            self._forget(self._ended.popleft()[1])

    def _forget(self, leg: Leg) -> None:
        self.by_dialog.pop((leg.sip_call_id, leg.local_tag), None)
        if isinstance(leg, IncomingLeg):
            self.by_invite.pop((leg.sip_call_id, leg.invite.from_addr.tag or ""), None)
            self.callers.pop(leg.call_id, None)
            self.call_codecs.pop(leg.call_id, None)

    # ---- Contact, SDP and sounds ------------------------------------------------------------

    def contact(self, tp: str, *, sips: bool = False, peer: str | None = None) -> str:
        """Our Contact on `tp`. Over TLS: the TLS port, as `sip:...;transport=tls` (hop-by-hop
        TLS, docs/decisions.md "TLS"), or as a `sips:` URI when the dialog's Request-URI is one
        (RFC 3261 8.1.1.8 and 12.1.1; RFC 5630: no transport=tls with sips)."""
        port = self.stack.port_for(tp)
        host = self.sip_host_for(peer)
        if sips and tp == "tls":
            return f"<sips:{CONTACT_USER}@{host}:{port}>"
        suffix = f";transport={tp}" if tp in ("tcp", "tls") else ""
        if tp in ("ws", "wss"):
            suffix = ";transport=ws"  # RFC 7118 5.2: "ws" names both
        return f"<sip:{CONTACT_USER}@{host}:{port}{suffix}>"

    def leg_contact(self, leg: Leg) -> str:
        """Our Contact in `leg`'s dialog: sips: when its INVITE's Request-URI was (the
        customer's INVITE for an incoming leg, ours for an outgoing one)."""
        return self.contact(leg.tp, sips=leg.invite.uri.scheme == "sips", peer=leg.peer[0])

    def local_sdp(self, leg: Leg) -> bytes:
        assert leg.endpoint is not None
        leg.sdp_version += 1
        if leg.webrtc:
            return self._webrtc_sdp(leg)
        if leg.profile is None:
            self._first_offer(leg)
        return build_sdp(
            address=self.media_address_for(leg),
            port=leg.endpoint.port,
            session_id=leg.session_id,
            version=leg.sdp_version,
            payload_types=leg.payload_types,
            telephone_event=leg.te_pt,
            direction=leg.direction,
            profile=leg.profile or "RTP/AVP",
            crypto=leg.crypto,
        )

    def set_remote(self, leg: Leg, neg: Negotiated, *, answer: bool = False) -> None:
        """Point the leg's media at what the peer's SDP says: its offer (we answer in kind,
        see _srtp_keys) or, with `answer`, its answer to our offer."""
        peer = neg.webrtc
        keys = None if peer is not None else self._srtp_keys(leg, neg, answer=answer)
        if leg.endpoint is not None:
            leg.endpoint.set_remote(
                RemoteMedia(
                    neg.host,
                    neg.port,
                    neg.payload_type,
                    neg.telephone_event_pt,
                    rtcp_port=neg.rtcp_port,
                    rtcp_host=neg.rtcp_host,
                    srtp=keys,
                    webrtc=None
                    if peer is None
                    else WebRtcRemote(peer.ice_ufrag, peer.ice_pwd, peer.fingerprints, peer.setup),
                )
            )

    def _webrtc_sdp(self, leg: Leg) -> bytes:
        """Our offer to a browser leg (we only ever offer to one: the browser phone is rung,
        it never calls in): ICE-lite credentials, our DTLS fingerprint, a=setup:actpass and our
        one host candidate, the port carrying RTP, RTCP, STUN and DTLS."""
        local = cast(WebRtcMediaEndpoint, leg.endpoint).local_webrtc()  # _send_invite opened one
        address = self.media_address_for(leg)
        leg.profile, leg.crypto = WEBRTC_PROFILES[0], []
        return build_sdp(
            address=address,
            port=local.port,
            session_id=leg.session_id,
            version=leg.sdp_version,
            payload_types=leg.payload_types,
            telephone_event=leg.te_pt,
            direction=leg.direction,
            webrtc=WebRtcAttributes(
                local.ice_ufrag,
                local.ice_pwd,
                local.fingerprint,
                local.setup,
                candidates=((address, local.port),),
            ),
        )

    def answer_problem(self, leg: Leg, msg: Request | Response) -> str | None:
        """Why the SDP answer in `msg` to our offer cannot carry this leg's audio (no codec or
        SRTP line of ours taken, an address family our RTP is not bound to), or None."""
        try:
            neg = answer_remote(
                parse_sdp(msg.body), leg.payload_types, leg.crypto, webrtc=leg.webrtc
            )
        except SdpError as exc:
            return str(exc)
        if not self.media_serves(neg.host):
            family = "IPv6" if ":" in neg.host else "IPv4"
            return f"{family} media ({neg.host}) and RTP is bound to {self.media_addresses.bound}"
        return None

    def take_answer(self, leg: Leg, msg: Request | Response) -> None:
        try:
            neg = answer_remote(
                parse_sdp(msg.body), leg.payload_types, leg.crypto, webrtc=leg.webrtc
            )
            self.check_family(neg, f"leg {leg.leg_id}")
        except SdpError as exc:
            log.warning("leg %s: unusable SDP answer (%s)", leg.leg_id, exc)
            if leg.crypto:
                self._refuse_media(leg)
            return
        leg.payload_types = [neg.payload_type]
        leg.te_pt = neg.telephone_event_pt
        self.set_remote(leg, neg, answer=True)

    # ---- SRTP (SDES, RFC 4568; the policy for our own offers is srtp.py's) ------------------

    def _first_offer(self, leg: Leg) -> None:
        """Our offer on a leg no SDP of its peer has decided yet: SRTP or not by the policy.
        The branches of a fork share one media endpoint, so they offer the same keys."""
        if not self.srtp.wants(leg):
            leg.profile, leg.crypto = "RTP/AVP", []
            return
        leg.profile = "RTP/SAVP"
        if isinstance(leg, Branch):
            shared = next((b.crypto for b in leg.fork.branches if b.crypto), None)
            if shared is not None:
                leg.crypto = list(shared)
                return
        leg.crypto = offer_crypto()

    def _srtp_keys(self, leg: Leg, neg: Negotiated, *, answer: bool) -> SrtpKeys | None:
        """The leg's SRTP keys after the peer's SDP, and our a=crypto for it from now on. An
        offer is answered in kind: its profile, and for SRTP its chosen tag and suite with our
        own key (kept across re-INVITEs while the suite stays). An answer to our offer names
        one of our lines by tag (sdp.answered_crypto checked it)."""
        theirs = neg.crypto
        if not answer:
            leg.profile = neg.profile
        if theirs is None:
            leg.crypto = []
            return None
        if answer:
            ours = next(c for c in leg.crypto if c.tag == theirs.tag)
        else:
            ours = answer_crypto(theirs, leg.crypto[0] if leg.crypto else None)
        leg.crypto = [ours]
        return SrtpKeys(theirs.suite, send_key=ours.key, receive_key=theirs.key)

    def _refuse_media(self, leg: Leg) -> None:
        """We offered SRTP and the answer took none of it: the leg gets no audio rather than
        plain audio. Its endpoint waits for SRTP under a key nobody has, so nothing from the
        leg authenticates, no address is learned and nothing is sent (the media timeout ends
        the call)."""
        if leg.endpoint is None or leg.endpoint.received:
            return  # media already runs under keys an earlier answer set
        suite = leg.crypto[0].suite
        nobody = secrets.token_bytes(CRYPTO_SUITES[suite])
        pt = leg.payload_types[0] if leg.payload_types else 0
        keys = SrtpKeys(suite, send_key=leg.crypto[0].key, receive_key=nobody)
        leg.endpoint.set_remote(RemoteMedia("0.0.0.0", 0, pt, None, srtp=keys))


def ignore_response(_resp: Response) -> None:
    return None


def ignore_timeout() -> None:
    return None


def combine_directions(ours: str, theirs: str) -> str:
    """Our answer's direction: what we want, limited by what the offer allows."""
    send = ours in ("sendrecv", "sendonly") and theirs in ("sendrecv", "recvonly")
    recv = ours in ("sendrecv", "recvonly") and theirs in ("sendrecv", "sendonly")
    return {(True, True): "sendrecv", (True, False): "sendonly", (False, True): "recvonly"}.get(
        (send, recv), "inactive"
    )


def caller_number(req: Request, *, from_trunk: bool) -> str:
    """The caller's number. From the trunk: its P-Asserted-Identity (RFC 3325), or else its
    Remote-Party-ID (the older draft some carriers still send), or else From. From anyone else
    only From: an identity is asserted by a trusted network, and anyone may write the header."""
    if from_trunk:
        for name in ("p-asserted-identity", "remote-party-id"):
            asserted = req.headers.get(name)
            if not asserted:
                continue
            try:
                user = parse_name_addr(asserted).uri.user
            except SipParseError:
                continue
            if user:
                return user
    return req.from_addr.uri.user or ""
