"""When we offer SRTP (SDES, RFC 4568) on a leg whose media we offer first.

A leg whose peer offers first is answered in kind (shared.py): RTP/SAVP with a crypto line we
can do gets SRTP with our own fresh key, RTP/AVP stays plain, RTP/SAVP with nothing we can do
gets 488. Where we offer first (calls we place, a customer's INVITE without SDP), the setting
for the leg's kind of peer decides: the agents' phones, or the trunk (customers' calls and
outside numbers):

- "off": plain RTP/AVP;
- "tls": RTP/SAVP when the leg's signaling runs over TLS (the keys in the SDP are only private
  there), plain otherwise;
- "always": RTP/SAVP on every such leg.

A peer without SRTP refuses an SRTP offer with 488; it is then offered plain RTP once
(outbound.py), so a phone on TLS that does not do SDES still rings.
"""

from __future__ import annotations

from dataclasses import dataclass

from .legs import Leg, OutgoingLeg

SRTP_MODES = ("off", "tls", "always")


@dataclass(frozen=True, slots=True)
class SrtpOffer:
    phones: str = "tls"  # legs to the agents' phones
    trunk: str = "tls"  # legs to and from the trunk

    def __post_init__(self) -> None:
        for mode in (self.phones, self.trunk):
            if mode not in SRTP_MODES:
                raise ValueError(f"SRTP offer mode must be one of {SRTP_MODES}, got {mode!r}")

    def wants(self, leg: Leg) -> bool:
        """Whether our first offer on `leg` is SRTP."""
        to_phone = isinstance(leg, OutgoingLeg) and leg.cti_id is not None
        mode = self.phones if to_phone else self.trunk
        return mode == "always" or (mode == "tls" and leg.tp == "tls")
