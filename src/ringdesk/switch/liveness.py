"""Calls whose far end is gone: a phone that lost its network (or a trunk that dropped the call
without a BYE) sends no media any more, and without this the agent stays On Call for ever.

An answered leg that should be sending (our SDP asks it to: sendrecv or recvonly on our side)
and from which neither RTP nor RTCP arrived for `timeout` seconds is reported silent. RTCP
counts: a phone that suppresses silence still sends its reports every few seconds
(RFC 3550 6.2). Sampled once a second from the packet counters; nothing on the media path.
"""

from __future__ import annotations

from collections.abc import Iterable

from .legs import AnyLeg, LegState

DEFAULT_TIMEOUT = 60.0  # seconds without any packet from an answered leg


def _expects_media(leg: AnyLeg) -> bool:
    # Our direction is what we asked of the far end: "sendonly" (we hold it) and "inactive"
    # tell it to send nothing, so its silence means nothing.
    return leg.direction in ("sendrecv", "recvonly")


class Liveness:
    def __init__(self, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout  # None: never end a call for silence
        self._seen: dict[str, tuple[int, float]] = {}  # leg id -> (packets, when they moved)

    def silent(self, legs: Iterable[AnyLeg], now: float) -> list[AnyLeg]:
        """The legs silent for longer than the timeout (each reported once: it is ended)."""
        if self.timeout is None:
            return []
        found: list[AnyLeg] = []
        live: set[str] = set()
        for leg in legs:
            endpoint = leg.endpoint
            if leg.state is not LegState.ANSWERED or endpoint is None:
                continue
            live.add(leg.leg_id)
            packets = endpoint.received + endpoint.rtcp_in
            seen = self._seen.get(leg.leg_id)
            if seen is None or seen[0] != packets or not _expects_media(leg):
                self._seen[leg.leg_id] = (packets, now)
            elif now - seen[1] >= self.timeout:
                found.append(leg)
        for leg_id in [k for k in self._seen if k not in live]:
            del self._seen[leg_id]
        for leg in found:
            del self._seen[leg.leg_id]
        return found
