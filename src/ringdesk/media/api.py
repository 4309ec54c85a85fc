"""The media interface the SIP switch uses. ringdesk.media.server.MediaServer implements it.

One endpoint per call leg: a local UDP port the leg's RTP arrives on and leaves from. The switch
fills in the far end from the SDP it receives, then asks for relay (bridge) or playback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SrtpKeys:
    """SRTP on a leg (RFC 3711, keyed by SDES): the suite (an RFC 4568 name such as
    AES_CM_128_HMAC_SHA1_80), the key we protect what we send with and the key the leg's
    packets are checked and decrypted with (each master key || master salt)."""

    suite: str
    send_key: bytes = field(repr=False)
    receive_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class WebRtcRemote:
    """A WebRTC peer's ICE and DTLS parameters, from its SDP (media/webrtc.py): its a=ice-ufrag
    and a=ice-pwd, its a=fingerprint lines as (hash, value) and its a=setup."""

    ice_ufrag: str
    ice_pwd: str = field(repr=False)
    fingerprints: tuple[tuple[str, str], ...]
    setup: str  # "actpass" (its offer), "active" or "passive"


@dataclass(frozen=True, slots=True)
class WebRtcLocal:
    """Our side of a WebRTC leg for our SDP: ICE-lite credentials, our certificate's
    fingerprint, our a=setup and the port of our one host candidate (RTP, RTCP, STUN and DTLS
    all on it: rtcp-mux)."""

    ice_ufrag: str
    ice_pwd: str = field(repr=False)
    fingerprint: tuple[str, str]  # (hash function, value)
    setup: str
    port: int


@dataclass(frozen=True, slots=True)
class RemoteMedia:
    host: str
    port: int
    payload_type: int  # 0 PCMU, 8 PCMA
    telephone_event_pt: int | None = None  # RFC 4733, passed through when both sides have it
    # RTCP's address from the SDP's a=rtcp (RFC 3605); None: the RTP host, RTP port + 1.
    rtcp_port: int | None = None
    rtcp_host: str | None = None
    srtp: SrtpKeys | None = None  # None: plain RTP and RTCP
    # A WebRTC leg (ICE-lite, DTLS-SRTP, rtcp-mux): the keys come from DTLS, not `srtp`, and
    # the address from the peer's STUN checks, not `host`/`port`.
    webrtc: WebRtcRemote | None = None


class MediaEndpoint(Protocol):
    leg_id: str
    port: int  # local RTP port (even), put into our SDP; RTCP is on port + 1
    received: int  # RTP packets received from the leg (the switch watches it for silence)
    rtcp_in: int  # RTCP packets received from the leg

    def set_remote(self, remote: RemoteMedia) -> None: ...


class WebRtcMediaEndpoint(MediaEndpoint, Protocol):
    """A browser leg's endpoint (media/webrtc.py): ICE-lite, DTLS-SRTP, rtcp-mux on `port`."""

    state: str  # "new", "checking" (STUN seen, DTLS under way), "connected", "failed"
    failure: str | None  # why the leg's media was refused

    def local_webrtc(self, peer_setup: str | None = None) -> WebRtcLocal:
        """Our attributes for an offer (None) or the answer to an offer with this a=setup."""


class Media(Protocol):
    async def open_endpoint(self, leg_id: str) -> MediaEndpoint: ...

    async def open_webrtc_endpoint(
        self, leg_id: str, *, on_state: Callable[[str], None] | None = None
    ) -> WebRtcMediaEndpoint:
        """An endpoint for a browser leg; `on_state` hears "connected" or "failed" once."""

    def bridge(self, leg_a: str, leg_b: str) -> None:
        """Relay RTP both ways between two legs (stops any playback on either)."""

    def unbridge(self, leg_id: str) -> None:
        """Stop relaying to and from this leg (its partner stops too)."""

    def play(
        self,
        leg_id: str,
        sound: Path,
        *,
        loop: bool = False,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        """Send the WAV to the leg, paced at 20 ms, keeping SSRC/seq/timestamp continuous."""

    def stop_play(self, leg_id: str) -> None: ...

    def listen_digits(self, leg_id: str, on_digit: Callable[[str], None] | None) -> None:
        """Report each key pressed in the leg's media (RFC 4733 telephone-events, else in-band
        tones in G.711) to `on_digit`; None stops it."""

    def monitor(self, customer_leg: str, agent_leg: str, supervisor_leg: str, mode: str) -> bool:
        """A supervisor's leg on a bridged call: "listen", "whisper" or "barge" (media/mix.py);
        called again to change the mode. False when a leg is gone."""

    def unmonitor(self, leg_id: str) -> None:
        """The call is a plain relay again (any of the three legs names the monitoring)."""

    def start_recording(self, leg_a: str, leg_b: str, path: Path) -> None:
        """Record both directions of a bridged pair into one WAV (stopped by close/unbridge)."""

    def record_leg(self, leg_id: str, path: Path) -> None:
        """Record what the leg sends into a mono WAV (a voicemail) until stop_recording."""

    def stop_recording(self, leg_id: str) -> float:
        """Finish the leg's recording (its file complete at its path); returns its seconds."""

    def close_endpoint(self, leg_id: str) -> None: ...

    async def close(self) -> None: ...
