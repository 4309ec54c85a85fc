"""SRTP and SRTCP (RFC 3711) on one leg, through libsrtp (pylibsrtp).

A leg that negotiated SRTP has two libsrtp sessions: one with the leg's key, which checks and
decrypts what the leg sends us (any SSRC: a phone may change its stream), and one with our key,
which protects what we send it (our one outgoing stream per leg). Everything inside the process,
the relay's rewriting, the recorder, playback, stays plain RTP; protection happens only at the
socket edge, in the endpoint.

A packet that fails its check (a wrong tag, a replay, a packet from someone without the key) is
dropped and counted; the first failure of each kind on a leg is logged, the rest only counted,
so a flood of forged packets costs no log line per packet.
"""

from __future__ import annotations

import logging

import pylibsrtp

from ringdesk.media.api import SrtpKeys

log = logging.getLogger(__name__)

# RFC 4568 suite names -> libsrtp profiles (pylibsrtp 0.12+). RTCP of the _32 suite keeps an
# 80-bit tag, as RFC 4568 section 6.2.2 says; libsrtp's profile does that.
PROFILES = {
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    "AEAD_AES_128_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "AEAD_AES_256_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}
REPLAY_WINDOW = 128  # packets; RFC 3711 section 3.3.2 asks for at least 64


def _session(suite: str, key: bytes, ssrc_type: int) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(key=key, ssrc_type=ssrc_type, srtp_profile=PROFILES[suite])
    policy.window_size = REPLAY_WINDOW
    return pylibsrtp.Session(policy=policy)


class SrtpLeg:
    """The SRTP state of one leg: `unprotect*` what it sends, `protect*` what we send it.
    Each returns None for a packet to drop."""

    def __init__(self, leg_id: str, keys: SrtpKeys) -> None:
        if keys.suite not in PROFILES:
            raise ValueError(f"unsupported SRTP suite {keys.suite!r}")
        self.leg_id = leg_id
        self.keys = keys
        self._in = _session(keys.suite, keys.receive_key, pylibsrtp.Policy.SSRC_ANY_INBOUND)
        self._out = _session(keys.suite, keys.send_key, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        self.rejected = 0  # packets from the leg that failed authentication or replay checks
        self.unsent = 0  # packets to the leg that could not be protected (dropped)
        self._logged: set[str] = set()

    def rekey(self, keys: SrtpKeys) -> None:
        """New keys from a re-INVITE: only a direction whose key changed starts a new session,
        so our stream's rollover counter goes on where the key stays the same."""
        if keys.suite not in PROFILES:
            raise ValueError(f"unsupported SRTP suite {keys.suite!r}")
        same_suite = keys.suite == self.keys.suite
        if not same_suite or keys.receive_key != self.keys.receive_key:
            self._in = _session(keys.suite, keys.receive_key, pylibsrtp.Policy.SSRC_ANY_INBOUND)
        if not same_suite or keys.send_key != self.keys.send_key:
            self._out = _session(keys.suite, keys.send_key, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        self.keys = keys

    def unprotect(self, data: bytes) -> bytes | None:
        try:
            return self._in.unprotect(data)
        except (pylibsrtp.Error, ValueError) as exc:
            self._reject("SRTP", exc)
            return None

    def unprotect_rtcp(self, data: bytes) -> bytes | None:
        try:
            return self._in.unprotect_rtcp(data)
        except (pylibsrtp.Error, ValueError) as exc:
            self._reject("SRTCP", exc)
            return None

    def protect(self, packet: bytes) -> bytes | None:
        try:
            return self._out.protect(packet)
        except (pylibsrtp.Error, ValueError) as exc:
            self._unsent("SRTP", exc)
            return None

    def protect_rtcp(self, packet: bytes) -> bytes | None:
        try:
            return self._out.protect_rtcp(packet)
        except (pylibsrtp.Error, ValueError) as exc:
            self._unsent("SRTCP", exc)
            return None

    def _reject(self, kind: str, exc: Exception) -> None:
        self.rejected += 1
        what = f"in {kind}: {exc}"
        if what not in self._logged:
            self._logged.add(what)
            # RTCP only at info: some phones (baresip) send a plain RTCP "PING" first.
            log.log(
                logging.WARNING if kind == "SRTP" else logging.INFO,
                "leg %s: %s packet dropped (%s); more like it are only counted",
                self.leg_id,
                kind,
                exc,
            )

    def _unsent(self, kind: str, exc: Exception) -> None:
        self.unsent += 1
        what = f"out {kind}: {exc}"
        if what not in self._logged:
            self._logged.add(what)
            log.info("leg %s: %s packet not sent (%s)", self.leg_id, kind, exc)
