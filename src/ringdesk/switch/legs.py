"""A call leg as the B2BUA keeps it, by role, and how SIP failures map to the engine's reasons.

Leg holds what every leg has: its dialog, its media endpoint and our SDP for it, and the UAS
side of re-INVITEs and hold (any peer may re-INVITE us; we re-INVITE any answered leg).
IncomingLeg is a customer's INVITE that we answer; OutgoingLeg is an INVITE we place (an agent's
phone, an outside number through the trunk); Branch is one of several contacts rung at once
for the same agent leg (see Fork). Which legs' media are joined is not kept here: see
bridges.py.
"""

from __future__ import annotations

import asyncio
import enum
import random
import secrets
from dataclasses import dataclass, field

from ringdesk.core.model import FailureReason
from ringdesk.media.api import MediaEndpoint
from ringdesk.sip.dialog import Dialog, Retransmit2xx
from ringdesk.sip.message import Request, Response
from ringdesk.sip.sdp import Crypto
from ringdesk.sip.transaction import ClientInvite, ServerInvite

Address = tuple[str, int]


class LegState(enum.Enum):
    INCOMING = "incoming"  # inbound INVITE received, no final response yet
    CALLING = "calling"  # our INVITE sent, nothing but 100 back yet
    EARLY = "early"  # 18x sent (inbound) or received (outbound)
    ANSWERED = "answered"
    ENDED = "ended"


@dataclass(eq=False, slots=True, kw_only=True)
class Leg:
    """What every leg has, whichever side placed the INVITE (see IncomingLeg, OutgoingLeg)."""

    leg_id: str
    call_id: str
    peer: Address  # where this leg's signaling goes (the source we learned it from)
    tp: str  # "udp" or "tcp"
    sip_call_id: str
    local_tag: str
    invite: Request  # incoming: the customer's INVITE; outgoing: ours (replaced on a retry)
    state: LegState
    dialog: Dialog | None = None
    endpoint: MediaEndpoint | None = None
    payload_types: list[int] = field(default_factory=lambda: [0, 8])
    te_pt: int | None = 101
    session_id: str = field(default_factory=lambda: str(random.getrandbits(31)))  # not secret
    sdp_version: int = 0
    direction: str = "sendrecv"  # the direction we put in our SDP for this leg
    # Our SDP's m= profile (RTP/AVP, or RTP/SAVP for SRTP) and a=crypto lines (SDES): None
    # until the leg's first offer, ours or the peer's, decides it (shared.py, SRTP).
    profile: str | None = None
    crypto: list[Crypto] = field(default_factory=list)
    # A browser leg (a contact registered over SIP WebSocket): ICE-lite, DTLS-SRTP, rtcp-mux on
    # a WebRTC endpoint (media/webrtc.py) instead of plain RTP or SDES.
    webrtc: bool = False
    held: bool = False
    # Our 2xx to the leg's INVITE or a re-INVITE, retransmitted until the ACK.
    retrans: Retransmit2xx | None = None
    retrans_handle: asyncio.TimerHandle | None = None
    awaiting_answer: bool = False  # we offered in our 2xx (delayed offer): answer in the ACK
    reinvite: ClientInvite | None = None  # our re-INVITE telling the leg its direction
    queued_direction: str | None = None  # to offer once the current offer is done
    # Set when PlayThenHangUp is running so a remote BYE still reports the playback.
    playing_then_hangup: bool = False
    playing: int = 0  # counts what was played to the leg: a stale prompt stops (playback.py)
    listening: bool = False  # the caller's keys in its media are reported (DigitPressed)
    # The caller's voicemail being recorded: its WAV, relative to the data dir (media_actions).
    voicemail: str | None = None

    @property
    def ended(self) -> bool:
        return self.state is LegState.ENDED


@dataclass(eq=False, slots=True, kw_only=True)
class IncomingLeg(Leg):
    """A customer's INVITE: we answer it (or refuse it) on its server transaction."""

    server_txn: ServerInvite
    caller: str = ""  # the customer's number
    announced: bool = False  # CallArrived was sent


@dataclass(eq=False, slots=True, kw_only=True)
class OutgoingLeg(Leg):
    """An INVITE we place: an agent's phone (RingAgent) or an outside number (Originate)."""

    client_txn: ClientInvite | None = None
    ringing_reported: bool = False
    cancel_pending: bool = False  # CANCEL once a provisional response comes (RFC 3261 9.1)
    auth_tried: bool = False
    plain_retried: bool = False  # our SRTP offer was refused (488): offered plain once
    answer_problem: str | None = None  # why a 18x's SDP answer cannot be used (then the 2xx's)
    cti_id: str | None = None  # the agent whose phone this leg rings (RingAgent)
    # A browser phone rung with the offer (RingAgent prewarm): it answers at once so its media
    # is up; the engine hears LegAnswered only once Answer was clicked (AnswerLeg).
    prewarm: bool = False
    answer_asked: bool = False
    ring_deadline: float | None = None  # when we stop waiting for an answer
    # To the trunk by name: the host to resolve before sending, then the other addresses it
    # resolved to (with the transport of each), tried in turn when one does not answer
    # (RFC 3263 section 4.3).
    resolve_host: str | None = None
    alternates: list[tuple[Address, str]] = field(default_factory=list)


@dataclass(eq=False, slots=True, kw_only=True)
class Branch(OutgoingLeg):
    """One of several contacts rung at once for the same agent leg (a Fork)."""

    fork: Fork
    early_answer: Response | None = None  # SDP in a 18x, used if this branch wins


AnyLeg = IncomingLeg | OutgoingLeg  # every leg is one or the other (a Branch is outgoing)


@dataclass(eq=False, slots=True)
class Fork:
    """One agent leg rung on every registered contact of the agent at once (a desk phone and
    a softphone under the same CTI ID). Every branch is a Branch with the engine's leg id and
    its own dialog; they share one media endpoint. The first 2xx wins; the others are cancelled."""

    branches: list[Branch] = field(default_factory=list)
    winner: Branch | None = None
    ringing_reported: bool = False
    failures: list[tuple[FailureReason, str]] = field(default_factory=list)

    def live(self, but: Leg | None = None) -> list[Branch]:
        return [b for b in self.branches if b is not but and not b.ended]


# When every branch failed, the agent is told the most telling reason (RFC 3261 16.7 picks a
# "best" response in the same spirit): a busy phone says more than one that did not answer.
_FAILURE_RANK = {
    FailureReason.BUSY: 0,
    FailureReason.REJECTED: 1,
    FailureReason.NO_ANSWER: 2,
    FailureReason.UNREACHABLE: 3,
}


def best_failure(failures: list[tuple[FailureReason, str]]) -> tuple[FailureReason, str]:
    return min(failures, key=lambda f: _FAILURE_RANK.get(f[0], len(_FAILURE_RANK)))


def failure_reason(status: int) -> FailureReason:
    """RFC 3261 final responses to the engine's reasons."""
    if status in (486, 600):
        return FailureReason.BUSY
    if status in (408, 480, 487):
        return FailureReason.NO_ANSWER
    if status >= 500 and status not in (600, 603, 604, 606):
        return FailureReason.UNREACHABLE
    return FailureReason.REJECTED


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"
