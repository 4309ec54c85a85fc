"""A WebRTC leg's media endpoint: ICE-lite, DTLS-SRTP and rtcp-mux on the leg's one UDP socket.

A browser (an agent's phone in the page) is a leg like any other to the relay: packets in are
decrypted to plain RTP, what the relay or playback sends it is protected on the way out, and in
between nothing changes (PCMU/PCMA pass without transcoding). What differs is the edge, all on
the one port our SDP names (RFC 7983 demultiplexing by the first byte, media/ice_lite.py):

- STUN: we are an ICE-lite agent. We answer the browser's Binding requests carrying our
  credentials; each one proves its source address. The nominated one (or, until a nomination,
  the first valid one) is where DTLS and, later, our media go. Datagrams from an address that
  never passed a check are dropped.
- DTLS: one handshake (media/dtls.py) in the role the SDP's a=setup gives us, with OpenSSL's
  retransmission timer on the event loop. The browser's certificate must match its
  a=fingerprint; then the SRTP keys are exported into an SrtpLeg (media/srtp.py).
- RTP and RTCP: only after the handshake (until then nothing is sent, so no plain RTP ever
  leaves a WebRTC leg), on the same port (rtcp-mux), through the Endpoint's relay code.

A leg fails, once, with one log line and `failure` set, on: no valid STUN check within
ICE_TIMEOUT of knowing the peer, no finished handshake within DTLS_TIMEOUT of the first check, a
certificate not matching the fingerprint, any other handshake error. A failed leg drops every
datagram (no traceback, no line per packet); `on_state` (optional) hears "connected" or "failed".

How the switch uses it (SDP attributes: ringdesk.sip.sdp.WebRtcAttributes / webrtc_peer):

    endpoint = await media.open_webrtc_endpoint(leg_id)   # api.Media; one socket, rtcp-mux
    # We offer:  local = endpoint.local_webrtc()                       (a=setup:actpass)
    # We answer: local = endpoint.local_webrtc(peer.setup)             (actpass -> active)
    sdp.build_sdp(..., webrtc=sdp.WebRtcAttributes(local.ice_ufrag, local.ice_pwd,
                  local.fingerprint, local.setup, candidates=((address, local.port),), mid=...))
    # The peer's SDP (offer or answer), once negotiated with sdp.negotiate(..., webrtc=True):
    endpoint.set_remote(RemoteMedia("0.0.0.0", 9, payload_type, telephone_event_pt,
                        webrtc=WebRtcRemote(p.ice_ufrag, p.ice_pwd, p.fingerprints, p.setup)))

`set_remote` may come before or after the browser's first STUN or DTLS datagram (a browser
answering our offer starts at once): early DTLS datagrams wait in a short queue until the
fingerprint is known. A later set_remote with other credentials or fingerprints (an ICE
restart, a new certificate) is not supported: it is logged and the leg keeps its first ones.
`reset()` starts the endpoint over for a new browser session on the same call (the switch's
switch/reattach.py, after a reload): new credentials, a new handshake, the bridge kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from ringdesk.media.api import RemoteMedia, SrtpKeys, WebRtcLocal, WebRtcRemote
from ringdesk.media.dtls import Certificate, DtlsError, DtlsSession
from ringdesk.media.endpoint import Endpoint
from ringdesk.media.ice_lite import DTLS, RTP, STUN, IceLite, classify, is_rtcp
from ringdesk.media.srtp import SrtpLeg

log = logging.getLogger(__name__)

ICE_TIMEOUT = 15.0  # seconds from knowing the peer to its first valid STUN check
DTLS_TIMEOUT = 15.0  # seconds from the first valid check to a finished handshake
MAX_EARLY_DTLS = 16  # DTLS datagrams kept while the peer's fingerprint is not known yet
MAX_CHECKED = 8  # source addresses that passed a STUN check we remember

NEW, CHECKING, CONNECTED, FAILED = "new", "checking", "connected", "failed"


def local_setup(peer_setup: str | None) -> str:
    """Our a=setup: actpass in our offer (None); in an answer the opposite of the offer's role,
    and active to an actpass offer (RFC 5763 section 5: the answerer should be active)."""
    if peer_setup is None:
        return "actpass"
    if peer_setup == "active":
        return "passive"
    if peer_setup in ("passive", "actpass"):
        return "active"
    raise ValueError(f"a=setup:{peer_setup} cannot be answered")


def we_are_client(ours: str, theirs: str) -> bool:
    """Whether we start the handshake (the DTLS client), from both sides' a=setup."""
    if theirs == "active":
        return False
    if theirs == "passive":
        return True
    if theirs == "actpass" and ours == "active":
        return True  # we answered its actpass offer with active
    raise ValueError(f"a=setup {ours!r} (ours) and {theirs!r} (theirs) do not fit")


class WebRtcEndpoint(Endpoint):
    """A leg's endpoint for a browser (ringdesk.media.api.MediaEndpoint)."""

    def __init__(
        self,
        leg_id: str,
        port: int,
        certificate: Certificate,
        *,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(leg_id, port)
        self.certificate = certificate
        self.ice = IceLite()
        self.on_state = on_state
        self.state = NEW
        self.failure: str | None = None
        self.peer: WebRtcRemote | None = None
        self.setup: str | None = None  # ours, as last put in our SDP
        self.dtls: DtlsSession | None = None
        self.checked: list[tuple[str, int]] = []  # sources that passed a STUN check
        self.selected: tuple[str, int] | None = None  # where DTLS and our media go
        self._selected_host, self._selected_port = "", -1  # `selected` once connected
        self.stun_answered = 0
        self.stun_dropped = 0
        self._early: list[bytes] = []
        self._dtls_timer: asyncio.TimerHandle | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._dropped_logged = False

    def reset(self) -> None:
        """Start over with a new browser (the agent's page reloaded, or its socket was lost and
        a new page session answers a new INVITE): new ICE credentials, no peer, no DTLS, no
        SRTP keys; the port, our certificate and the relay's bridge to the partner stay, so
        the call's other side is joined again as soon as the new handshake is done."""
        self._cancel_timers()
        self.ice = IceLite()
        self.state = NEW
        self.failure = None
        self.peer = None
        self.setup = None
        self.dtls = None
        self.srtp = None
        self.address = None
        self.checked = []
        self.selected = None
        self._selected_host, self._selected_port = "", -1
        self._early = []
        self._dropped_logged = False

    # --- our SDP ------------------------------------------------------------------------------

    def local_webrtc(self, peer_setup: str | None = None) -> WebRtcLocal:
        """Our attributes for an offer (peer_setup None) or for the answer to the peer's offer
        whose a=setup is `peer_setup`."""
        self.setup = local_setup(peer_setup)
        return WebRtcLocal(
            ice_ufrag=self.ice.ufrag,
            ice_pwd=self.ice.pwd,
            fingerprint=(self.certificate.algorithm, self.certificate.fingerprint),
            setup=self.setup,
            port=self.port,
        )

    # --- the peer's SDP -----------------------------------------------------------------------

    def set_remote(self, remote: RemoteMedia) -> None:
        peer = remote.webrtc
        if peer is None:
            raise ValueError("a WebRTC endpoint needs the peer's ICE and DTLS parameters")
        # The SDP's address means nothing here (STUN checks choose it) and the keys come from
        # DTLS: the Endpoint sees no address (latch) and our own SRTP state.
        super().set_remote(
            dataclasses.replace(
                remote, host="0.0.0.0", port=9, srtp=None, rtcp_port=None, rtcp_host=None
            )
        )
        self._mux_rtcp()
        if self.peer is not None:
            if (peer.ice_ufrag, peer.ice_pwd, peer.fingerprints) != (
                self.peer.ice_ufrag,
                self.peer.ice_pwd,
                self.peer.fingerprints,
            ):
                log.warning(
                    "leg %s: new ICE credentials or fingerprint in SDP ignored "
                    "(no ICE restart on a WebRTC leg)",
                    self.leg_id,
                )
            return
        self.peer = peer
        self.ice.remote_ufrag = peer.ice_ufrag
        ours = self.setup or local_setup(peer.setup)
        try:
            client = we_are_client(ours, peer.setup)
        except ValueError as exc:
            self.fail(str(exc))
            return
        self.setup = ours
        self.dtls = DtlsSession(
            self.certificate, client=client, fingerprints=peer.fingerprints, send=self._send_dtls
        )
        if self.state == NEW:
            self._arm_deadline(ICE_TIMEOUT, "no ICE connectivity check (STUN) from the peer")
        if self.selected is not None:
            self._start_dtls()

    def _set_srtp(self, keys: SrtpKeys | None) -> None:
        """Keys come from the handshake only (see _connected)."""

    def _mux_rtcp(self) -> None:
        # rtcp-mux: RTCP to this leg leaves on the RTP socket, to the RTP address.
        self.rtcp_transport = self.transport
        self.rtcp_address = self.address
        self._rtcp_latch = False

    # --- failure ------------------------------------------------------------------------------

    def fail(self, reason: str) -> None:
        """Refuse this leg's media: one log line, every later datagram dropped."""
        if self.state == FAILED:
            return
        self.state = FAILED
        self.failure = reason
        self.srtp = None
        self.address = None
        self._cancel_timers()
        log.warning("leg %s: WebRTC media refused: %s", self.leg_id, reason)
        if self.on_state is not None:
            self.on_state(FAILED)

    def _cancel_timers(self) -> None:
        for timer in (self._dtls_timer, self._deadline):
            if timer is not None:
                timer.cancel()
        self._dtls_timer = self._deadline = None

    def _arm_deadline(self, seconds: float, reason: str) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = asyncio.get_running_loop().call_later(seconds, self.fail, reason)

    # --- DTLS ---------------------------------------------------------------------------------

    def _send_dtls(self, data: bytes) -> None:
        if self.selected is None or self.transport is None:
            return
        try:
            self.transport.sendto(data, self.selected)
        except (OSError, ValueError) as exc:
            self.send_failed(exc)

    def _start_dtls(self) -> None:
        dtls = self.dtls
        if dtls is None or self.state != NEW:
            return
        self.state = CHECKING
        self._arm_deadline(DTLS_TIMEOUT, f"DTLS handshake not finished in {DTLS_TIMEOUT:g} s")
        early, self._early = self._early, []
        try:
            if dtls.client:
                dtls.start()
            for datagram in early:
                if dtls.done:
                    break
                dtls.feed(datagram)
        except DtlsError as exc:
            self.fail(str(exc))
            return
        self._after_dtls_step()

    def _on_dtls(self, data: bytes) -> None:
        dtls = self.dtls
        if dtls is None or self.state == NEW:
            if len(self._early) < MAX_EARLY_DTLS:
                self._early.append(data)
            return
        try:
            dtls.feed(data)
        except DtlsError as exc:
            self.fail(str(exc))
            return
        self._after_dtls_step()

    def _after_dtls_step(self) -> None:
        dtls = self.dtls
        if dtls is None or self.state == FAILED:
            return
        if dtls.keys is not None and self.state != CONNECTED:
            self._connected(dtls.keys)
            return
        if self._dtls_timer is not None:
            self._dtls_timer.cancel()
            self._dtls_timer = None
        due = dtls.timeout()
        if due is not None:
            self._dtls_timer = asyncio.get_running_loop().call_later(
                max(due, 0.01), self._retransmit
            )

    def _retransmit(self) -> None:
        self._dtls_timer = None
        if self.dtls is None or self.state != CHECKING:
            return
        try:
            self.dtls.handle_timeout()
        except DtlsError as exc:
            self.fail(str(exc))
            return
        self._after_dtls_step()

    def _connected(self, keys: SrtpKeys) -> None:
        self._cancel_timers()
        self.srtp = SrtpLeg(self.leg_id, keys)
        self.state = CONNECTED
        self.address = self.selected
        self._note_selected()
        self._heard = True
        self._latch = False
        self._mux_rtcp()
        log.info(
            "leg %s: DTLS-SRTP up with %s:%s (%s, we are the DTLS %s)",
            self.leg_id,
            *(self.selected or ("?", "?")),
            keys.suite,
            "client" if self.dtls is not None and self.dtls.client else "server",
        )
        if self.on_state is not None:
            self.on_state(CONNECTED)

    # --- the socket ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.rtcp_transport = self.transport

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.rtcp_transport = None
        self._cancel_timers()

    def _on_stun(self, data: bytes, addr: tuple[str, int]) -> None:
        check = self.ice.handle(data, addr)
        if check.response is None:
            if check.problem is not None:
                self.stun_dropped += 1
                if not self._dropped_logged:
                    self._dropped_logged = True
                    log.info(
                        "leg %s: STUN from %s:%s dropped (%s); more are only counted",
                        self.leg_id,
                        addr[0],
                        addr[1],
                        check.problem,
                    )
            return
        source = (addr[0], addr[1])
        if self.transport is not None:
            try:
                self.transport.sendto(check.response, source)
            except (OSError, ValueError) as exc:
                self.send_failed(exc)
                return
        self.stun_answered += 1
        if source not in self.checked:
            self.checked.append(source)
            del self.checked[:-MAX_CHECKED]
        if self.selected is None or (check.nominated and source != self.selected):
            self.selected = source
            if self.state == CONNECTED:
                self.address = source  # the browser moved its media (nominated another pair)
                self._note_selected()
                self._mux_rtcp()
        if self.state == NEW and self.dtls is not None:
            self._start_dtls()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        # The hot path first: SRTP from the address our media goes to, once connected.
        if (
            self.srtp is not None
            and data
            and 127 < data[0] < 192
            and addr[1] == self._selected_port
            and addr[0] == self._selected_host
        ):
            if is_rtcp(data):
                self.on_rtcp(data, addr)
            else:
                Endpoint.datagram_received(self, data, addr)
            return
        if self.state == FAILED:
            return
        kind = classify(data)
        if kind == STUN:
            self._on_stun(data, addr)
            return
        if (addr[0], addr[1]) not in self.checked:
            return  # only a source that passed a STUN check may talk DTLS or media to us
        if kind == DTLS:
            self._on_dtls(data)
        elif kind == RTP and self.state == CONNECTED:
            if is_rtcp(data):
                self.on_rtcp(data, addr)
            else:
                super().datagram_received(data, addr)

    def _note_selected(self) -> None:
        if self.selected is not None:
            self._selected_host, self._selected_port = self.selected

    def _follow(self, addr: tuple[str, int]) -> None:
        super()._follow(addr)
        self._mux_rtcp()
