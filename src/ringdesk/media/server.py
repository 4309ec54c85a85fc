"""MediaServer: the switch's RTP media (ringdesk.media.api.Media) on asyncio UDP sockets.

One endpoint (even UDP port on `host`, the odd one above it for RTCP) per call leg; relay
between bridged legs happens in the endpoints' datagram callbacks (RTP and RTCP), playback in
one shared pacer task, recordings are flushed by a one-second housekeeping timer.
`await start()` is optional: everything starts on first use.

Unknown leg ids (a leg torn down while an action for it was on its way) are logged and ignored,
so that one call's race never raises into the switch; `play` then still calls `on_done` (soon, not
from inside the call) so a "play, then hang up" does hang up. Tearing down twice is harmless.
`on_done` is called only when a non-looping sound has played to its end, never when it was
stopped (stop_play, bridge, close), so the switch never hangs up a leg that is already gone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ringdesk.media.api import Media
from ringdesk.media.dtls import Certificate
from ringdesk.media.dtmf import DigitDetector
from ringdesk.media.endpoint import Endpoint, RtcpSocket
from ringdesk.media.mix import Monitor, MonitorMode
from ringdesk.media.pacer import Pacer, Player
from ringdesk.media.readiness import Readiness
from ringdesk.media.recording import Recorder
from ringdesk.media.sounds import SoundCache
from ringdesk.media.webrtc import WebRtcEndpoint

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0
# A leg's own connected socket beside the first one (media/endpoint.py): Linux gives the
# packets of a connected socket's peer to it, and no one else's (since 5.7, reuseport groups
# skip connected members when they pick a socket for other sources).
OWN_SOCKETS = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


class PortsExhausted(OSError):
    """Every even port of the RTP range is in use (or taken by other programs)."""


class MediaServer:
    def __init__(self, host: str, *, port_range: tuple[int, int] = (20000, 40000)) -> None:
        low, high = port_range
        low += low % 2
        if not 0 < low < high <= 65536:
            raise ValueError(f"bad RTP port range {port_range}")
        self.host = host
        # A dual-stack IPv6 socket on '::' (IPv4 peers as ::ffff:a.b.c.d), else the family
        # of the bound address.
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._ports = range(low, high - 1, 2)  # even ports; the odd one above is RTCP's
        if not self._ports:
            raise ValueError(f"RTP port range {port_range} holds no even port pair")
        self._cursor = random.randrange(len(self._ports))
        self._in_use: set[int] = set()
        self._endpoints: dict[str, Endpoint] = {}
        self._pacer = Pacer()
        self._sounds = SoundCache()
        self._recorders: dict[Recorder, tuple[Endpoint, ...]] = {}
        self._flush_timer: asyncio.TimerHandle | None = None
        self._certificate: Certificate | None = None  # our DTLS identity, made on first use
        self._readiness = Readiness()  # the legs' own sockets (media/readiness.py)

    async def start(self) -> None:
        """Nothing to do ahead of time; kept so the switch can treat media like its transport."""

    @property
    def sounds(self) -> SoundCache:
        return self._sounds

    def endpoint(self, leg_id: str) -> Endpoint:
        try:
            return self._endpoints[leg_id]
        except KeyError:
            raise KeyError(f"no media endpoint for leg {leg_id!r}") from None

    def __len__(self) -> int:
        return len(self._endpoints)

    async def open_endpoint(self, leg_id: str) -> Endpoint:
        return await self._open(leg_id, None)

    async def open_webrtc_endpoint(
        self, leg_id: str, *, on_state: Callable[[str], None] | None = None
    ) -> WebRtcEndpoint:
        """An endpoint for a browser leg (media/webrtc.py): ICE-lite, DTLS-SRTP, rtcp-mux on
        its one even port (the odd one stays reserved, unbound). `on_state` hears "connected"
        or "failed"."""
        if self._certificate is None or self._certificate.expiring():
            self._certificate = Certificate.generate()  # legs already up keep theirs
        certificate = self._certificate
        endpoint = await self._open(
            leg_id, lambda port: WebRtcEndpoint(leg_id, port, certificate, on_state=on_state)
        )
        assert isinstance(endpoint, WebRtcEndpoint)
        return endpoint

    async def _open(self, leg_id: str, webrtc: Callable[[int], WebRtcEndpoint] | None) -> Endpoint:
        if leg_id in self._endpoints:
            raise ValueError(f"leg {leg_id!r} already has a media endpoint")
        loop = asyncio.get_running_loop()
        # Every pair is tried before giving up: another program (a second server on the host)
        # may hold a long run of consecutive ports right where our cursor is.
        for _ in range(len(self._ports)):
            port = self._ports[self._cursor]
            self._cursor = (self._cursor + 1) % len(self._ports)
            if port in self._in_use:
                continue
            self._in_use.add(port)
            endpoint = Endpoint(leg_id, port) if webrtc is None else webrtc(port)
            endpoint.family = self.family
            try:
                sock = self._socket(port)
                if webrtc is None and OWN_SOCKETS:
                    # Shareable from now on, by our own sockets (their bind asks for it too):
                    # the leg's own, connected one (media/endpoint.py).
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                    endpoint.open_own = functools.partial(self._socket, port, shared=True)
                    endpoint.readiness = self._readiness
                await loop.create_datagram_endpoint(
                    lambda e=endpoint: e,  # type: ignore[misc]
                    sock=sock,
                )
                if webrtc is None:  # a WebRTC leg multiplexes RTCP on the RTP port
                    await loop.create_datagram_endpoint(
                        lambda e=endpoint: RtcpSocket(e),  # type: ignore[misc]
                        sock=self._socket(port + 1),
                    )
            except OSError:
                # Either port is taken by another program: free the pair, try the next one.
                self._close_sockets(endpoint)
                self._in_use.discard(port)
                continue
            self._endpoints[leg_id] = endpoint
            return endpoint
        raise PortsExhausted(
            f"no free even UDP port for RTP on {self.host} in "
            f"{self._ports.start}-{self._ports.stop + 1} ({len(self._in_use)} in use)"
        )

    def _socket(self, port: int, *, shared: bool = False) -> socket.socket:
        """A UDP socket bound to (host, port); on '::' dual-stack (IPV6_V6ONLY off). `shared`:
        a second one on a port whose first socket allows it (SO_REUSEPORT)."""
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            if shared:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if self.family == socket.AF_INET6 and self.host in ("::", "[::]"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.setblocking(False)
            sock.bind((self.host.strip("[]"), port))
        except OSError:
            sock.close()
            raise
        return sock

    def _known(self, *leg_ids: str) -> list[Endpoint] | None:
        endpoints = [self._endpoints.get(leg_id) for leg_id in leg_ids]
        if None in endpoints:
            log.warning("media action for a leg without an endpoint: %s", ", ".join(leg_ids))
            return None
        return [e for e in endpoints if e is not None]

    def bridge(self, leg_a: str, leg_b: str) -> None:
        known = self._known(leg_a, leg_b)
        if known is None or leg_a == leg_b:
            return
        a, b = known
        for endpoint in (a, b):
            self._stop_player(endpoint)
        if a.partner is b:
            return  # already bridged (e.g. back from hold): keep the recording going
        self._unlink(a)
        self._unlink(b)
        a.partner, b.partner = b, a
        a.stop_feed()
        b.stop_feed()
        a.refresh_maps()

    def unbridge(self, leg_id: str) -> None:
        endpoint = self._endpoints.get(leg_id)
        if endpoint is not None:
            self._unlink(endpoint)

    def play(
        self,
        leg_id: str,
        sound: Path,
        *,
        loop: bool = False,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        endpoint = self._endpoints.get(leg_id)
        if endpoint is None:
            log.warning("play on leg %s, which has no media endpoint", leg_id)
            if on_done is not None:
                asyncio.get_running_loop().call_soon(on_done)
            return
        self._stop_player(endpoint)
        payload_type = endpoint.payload_type
        player = Player(endpoint, loop=loop, on_done=on_done, payload_type=payload_type)
        endpoint.player = player  # from now on the leg hears the sound, not its partner
        endpoint.stop_feed()
        frames = self._sounds.cached(sound, payload_type)
        if frames is not None:
            player.frames = frames
            self._pacer.add(player)
            return
        # Reading and resampling an uploaded file takes a while: keep the loop free meanwhile.
        loop_ = asyncio.get_running_loop()
        future = loop_.run_in_executor(None, self._sounds.frames, sound, payload_type)
        future.add_done_callback(lambda f: self._loaded(player, sound, f))

    def _loaded(
        self, player: Player, sound: Path, future: asyncio.Future[tuple[bytes, ...]]
    ) -> None:
        try:
            frames = future.result()
        except Exception as exc:
            log.error("cannot play %s: %s", sound, exc)
            frames = ()  # a non-looping sound ends at once; a looping one plays silence
        player.frames = frames
        if player.endpoint.player is player:  # not stopped or replaced while loading
            self._pacer.add(player)

    def listen_digits(self, leg_id: str, on_digit: Callable[[str], None] | None) -> None:
        endpoint = self._endpoints.get(leg_id)
        if endpoint is None:
            return
        if on_digit is None:
            endpoint.digits = endpoint.on_digit = None
            return
        remote = endpoint.remote
        events = remote.telephone_event_pt if remote is not None else None
        endpoint.digits = DigitDetector(endpoint.payload_type, events)
        endpoint.on_digit = on_digit

    def stop_play(self, leg_id: str) -> None:
        endpoint = self._endpoints.get(leg_id)
        if endpoint is not None:
            self._stop_player(endpoint)

    def monitor(self, customer_leg: str, agent_leg: str, supervisor_leg: str, mode: str) -> bool:
        """The supervisor's leg hears the call (and, by `mode`, is heard: media/mix.py); a new
        mode on the same legs changes who hears whom. False when a leg is gone."""
        known = self._known(customer_leg, agent_leg, supervisor_leg)
        if known is None or len({customer_leg, agent_leg, supervisor_leg}) < 3:
            return False
        customer, agent, supervisor = known
        monitor = supervisor.tap
        if monitor is None or monitor.legs != (customer, agent, supervisor):
            for endpoint in known:
                self._unmonitor(endpoint)
            self._stop_player(supervisor)
            monitor = Monitor(self._pacer, customer, agent, supervisor, self._stop_player)
        monitor.set_mode(MonitorMode(mode))
        return True

    def unmonitor(self, leg_id: str) -> None:
        """End the monitoring this leg is part of (any of its three legs)."""
        endpoint = self._endpoints.get(leg_id)
        if endpoint is not None:
            self._unmonitor(endpoint)

    @staticmethod
    def _unmonitor(endpoint: Endpoint) -> None:
        if endpoint.tap is not None:
            endpoint.tap.end()

    def start_recording(self, leg_a: str, leg_b: str, path: Path) -> None:
        known = self._known(leg_a, leg_b)
        if known is None or leg_a == leg_b:
            return
        a, b = known
        for endpoint in (a, b):
            self._stop_recording(endpoint)
        try:
            recorder = Recorder(path, time.monotonic())
        except OSError as exc:  # the call goes on unrecorded rather than failing
            log.error("cannot record to %s: %s", path, exc)
            return
        a.recorder = (recorder, 0)
        b.recorder = (recorder, 1)
        self._recorders[recorder] = (a, b)
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL, self._flush)

    def record_leg(self, leg_id: str, path: Path) -> None:
        """Record what this leg sends into a mono WAV at `path` (a voicemail), until
        stop_recording or the endpoint closes."""
        endpoint = self._endpoints.get(leg_id)
        if endpoint is None:
            return
        self._stop_recording(endpoint)
        try:
            recorder = Recorder(path, time.monotonic(), channels=1)
        except OSError as exc:
            log.error("cannot record to %s: %s", path, exc)
            return
        endpoint.recorder = (recorder, 0)
        self._recorders[recorder] = (endpoint,)
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL, self._flush)

    def stop_recording(self, leg_id: str) -> float:
        """Finish the leg's recording (the file is in place after this); its length in s."""
        endpoint = self._endpoints.get(leg_id)
        if endpoint is None or endpoint.recorder is None:
            return 0.0
        recorder = endpoint.recorder[0]
        self._close_recorder(recorder)
        return recorder.seconds

    def close_endpoint(self, leg_id: str) -> None:
        endpoint = self._endpoints.pop(leg_id, None)
        if endpoint is None:
            return
        self._unmonitor(endpoint)
        self._unlink(endpoint)
        self._stop_player(endpoint)
        self._stop_recording(endpoint)
        self._close_sockets(endpoint)
        self._in_use.discard(endpoint.port)
        srtp = endpoint.srtp
        if srtp is not None and (srtp.rejected or srtp.unsent):
            log.info(
                "leg %s ended: %d SRTP/SRTCP packets from it dropped, %d to it not sent",
                leg_id,
                srtp.rejected,
                srtp.unsent,
            )

    async def close(self) -> None:
        for leg_id in list(self._endpoints):
            self.close_endpoint(leg_id)
        for recorder in list(self._recorders):
            self._close_recorder(recorder)
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        await self._pacer.close()
        self._readiness.close()

    # --- internals ----------------------------------------------------------------------------

    @staticmethod
    def _close_sockets(endpoint: Endpoint) -> None:
        endpoint.close_own()
        for transport in {endpoint.transport, endpoint.rtcp_transport}:
            if transport is not None:
                transport.close()

    def _unlink(self, endpoint: Endpoint) -> None:
        partner = endpoint.partner
        if partner is None:
            return
        endpoint.partner = partner.partner = None
        endpoint.relay_map = partner.relay_map = None
        endpoint.stop_feed()
        partner.stop_feed()
        self._stop_recording(endpoint)

    def _stop_player(self, endpoint: Endpoint) -> None:
        player = endpoint.player
        if player is None:
            return
        endpoint.player = None
        endpoint.stop_feed()
        self._pacer.remove(player)

    def _stop_recording(self, endpoint: Endpoint) -> None:
        if endpoint.recorder is None:
            return
        self._close_recorder(endpoint.recorder[0])

    def _close_recorder(self, recorder: Recorder) -> None:
        for endpoint in self._recorders.pop(recorder, ()):
            endpoint.recorder = None
        try:
            recorder.close(time.monotonic())
        except OSError as exc:
            log.error("cannot finish recording %s: %s", recorder.path, exc)

    def _flush(self) -> None:
        self._flush_timer = None
        now = time.monotonic()
        for recorder in list(self._recorders):
            try:
                recorder.flush(now)
            except OSError as exc:
                log.error("recording %s failed: %s", recorder.path, exc)
                self._close_recorder(recorder)
        if self._recorders:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL, self._flush)


def _conforms(server: MediaServer) -> Media:
    """mypy checks here that MediaServer implements the switch's Media protocol."""
    return server
