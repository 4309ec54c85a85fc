"""SIP over WebSocket (RFC 7118): the browser phone's connections, as the switch sees them.

The web server accepts the socket (web/routers/sip_ws.py: the `sip` subprotocol, a single-use
ticket, the agent it was issued to) and hands each frame here; one frame is one SIP message,
taken by the transport as transport "ws" or "wss" from the socket's peer address. Whatever the
switch sends to that address on that transport (responses, an INVITE to the browser's
`.invalid` Contact) goes back over the same socket: a WebSocket peer is never dialled, so with
the socket gone a request to it fails at once as a transport error.

What the transport does for a TCP connection, done here in spirit:
- size: a frame longer than MAX_FRAME is refused (the socket is closed with 1009);
- one socket per web session (the router closes the older one) and at most `conn_total` in
  all (gate settings), like TCP; no per-source limit (an office of browser agents shares one
  NAT address, and every socket needs a logged-in session's ticket);
- idle: a socket with no binding is closed `conn_idle` seconds after its last message; with
  a binding, `conn_idle` after the binding's expiry (the browser re-registers well before, so
  a socket carrying a call stays open);
- who: a REGISTER over the socket is only for the agent the socket was opened for
  (RegistrationService, without digest: the socket is the credential); an out-of-dialog
  INVITE from it is refused (the browser answers calls, Dial up goes through the engine).

When the socket closes, every binding reached over it is removed at once, so the engine learns
the phone is unregistered unless another contact of the agent is still registered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ringdesk.sip.registrar import Registrar

from .transport import WS_TRANSPORTS, Address, SipTransport

log = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024  # one SIP message; an INVITE with ICE candidates is a few kB


@dataclass(slots=True, eq=False)
class WsPeer:
    """One accepted SIP WebSocket: who it is for and how to write to it."""

    addr: Address
    cti_id: str
    transport: str  # "ws" or "wss"
    write: Callable[[bytes], bool]  # queue one frame; False: the socket cannot take it
    close: Callable[[int, str], None]
    last: float = 0.0


class SipWebSockets:
    """The open SIP WebSockets, by the peer address the transport sends to."""

    def __init__(
        self,
        transport: SipTransport,
        registrar: Registrar,
        now: Callable[[], float],
        on_bindings_changed: Callable[[], None],
    ) -> None:
        self.transport = transport
        self.registrar = registrar
        self.now = now
        self.on_bindings_changed = on_bindings_changed
        # Told of every socket that closes (switch/reattach.py: a call of its agent waits for
        # the browser to come back).
        self.on_closed: Callable[[WsPeer], None] = lambda _peer: None

    @property
    def peers(self) -> dict[Address, WsPeer]:
        return self.transport.ws_peers

    def admit(self, addr: Address) -> str | None:
        """Why a new socket from `addr` is refused now (the TCP limits), None to accept it."""
        gate = self.transport.gate
        if gate is None:
            return None
        if gate.trusted(addr):
            return None
        if gate.banned(addr[0], self.transport.clock()):
            return "banned"
        if not gate.settings.enabled:
            return None
        # No per-source limit here, unlike TCP: a browser socket needs a single-use ticket
        # from a logged-in web session (logins are throttled) and a session has one socket,
        # while a whole office of browser agents reaches us from one NAT address.
        if len(self.peers) >= self.transport.limits.conn_total:
            return "too many connections"
        return None

    def attach(self, peer: WsPeer) -> None:
        old = self.peers.get(peer.addr)
        if old is not None and old is not peer:
            self.detach(old)
            old.close(1000, "replaced")
        peer.last = self.now()
        self.peers[peer.addr] = peer
        log.info("SIP WebSocket from %s:%s for %s opened", peer.addr[0], peer.addr[1], peer.cti_id)

    def frame(self, peer: WsPeer, data: bytes) -> None:
        """One SIP message from the socket."""
        if self.peers.get(peer.addr) is not peer:
            return
        peer.last = self.now()
        self.transport.received(data, peer.addr, peer.transport)

    def detach(self, peer: WsPeer) -> None:
        """The socket closed: its bindings go at once (the engine hears unregistered)."""
        if self.peers.get(peer.addr) is not peer:
            return
        del self.peers[peer.addr]
        dropped = self.registrar.drop_source(peer.cti_id, peer.addr)
        log.info(
            "SIP WebSocket from %s:%s for %s closed%s",
            peer.addr[0],
            peer.addr[1],
            peer.cti_id,
            ": its registration removed" if dropped else "",
        )
        if dropped:
            self.on_bindings_changed()
        self.on_closed(peer)

    def idle_deadline(self, peer: WsPeer) -> float:
        """The loop time after which a silent socket is closed."""
        idle = self.transport.limits.conn_idle
        until = max(
            (
                b.expires_at
                for b in self.registrar.lookup(peer.cti_id, self.now())
                if b.source == peer.addr and b.transport in WS_TRANSPORTS
            ),
            default=0.0,
        )
        return max(peer.last, until) + idle
