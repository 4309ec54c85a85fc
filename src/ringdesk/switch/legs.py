"""A call leg as the B2BUA keeps it, and how SIP failures map to the engine's reasons."""

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
from ringdesk.sip.transaction import ClientInvite, ServerInvite

Address = tuple[str, int]


class LegState(enum.Enum):
    INCOMING = "incoming"  # inbound INVITE received, no final response yet
    CALLING = "calling"  # our INVITE sent, nothing but 100 back yet
    EARLY = "early"  # 18x sent (inbound) or received (outbound)
    ANSWERED = "answered"
    ENDED = "ended"


@dataclass(eq=False, slots=True)
class Leg:
    leg_id: str
    call_id: str
    inbound: bool
    peer: Address  # where this leg's signaling goes (the source we learned it from)
    tp: str  # "udp" or "tcp"
    sip_call_id: str
    local_tag: str
    invite: Request | None = None
    state: LegState = LegState.CALLING
    server_txn: ServerInvite | None = None
    client_txn: ClientInvite | None = None
    dialog: Dialog | None = None
    endpoint: MediaEndpoint | None = None
    payload_types: list[int] = field(default_factory=lambda: [0, 8])
    te_pt: int | None = 101
    session_id: str = field(default_factory=lambda: str(random.getrandbits(31)))  # not secret
    sdp_version: int = 0
    direction: str = "sendrecv"  # the direction we put in our SDP for this leg
    partner: str | None = None  # the leg whose media we relay to this one
    held: bool = False
    held_partner: str | None = None
    retrans: Retransmit2xx | None = None
    retrans_handle: asyncio.TimerHandle | None = None
    announced: bool = False  # CallArrived (inbound) was sent
    ringing_reported: bool = False
    cancel_pending: bool = False
    auth_tried: bool = False
    reinvite: ClientInvite | None = None
    queued_direction: str | None = None
    ending_cause: str | None = None
    caller: str = ""
    cti_id: str | None = None  # the agent whose phone this leg rings (RingAgent)
    ring_deadline: float | None = None  # outgoing: when we stop waiting for an answer
    # Outgoing to the trunk by name: the host to resolve before sending, then the other
    # addresses it resolved to, tried in turn when one does not answer (RFC 3263 section 4.3).
    resolve_host: str | None = None
    alternates: list[Address] = field(default_factory=list)
    awaiting_answer: bool = False  # we offered in our 2xx (delayed offer): answer in the ACK
    # Set when PlayThenHangUp is running so a remote BYE still reports the playback.
    playing_then_hangup: bool = False
    fork: Fork | None = None  # one of several contacts rung at once for the same leg
    early_answer: Response | None = None  # a forked branch's SDP in a 18x, used if it wins

    @property
    def ended(self) -> bool:
        return self.state is LegState.ENDED


@dataclass(eq=False, slots=True)
class Fork:
    """One agent leg rung on every registered contact of the agent at once (a desk phone and
    a softphone under the same CTI ID). Every branch is a Leg with the engine's leg id and its
    own dialog; they share one media endpoint. The first 2xx wins; the others are cancelled."""

    branches: list[Leg]
    winner: Leg | None = None
    ringing_reported: bool = False
    failures: list[tuple[FailureReason, str]] = field(default_factory=list)

    def live(self, but: Leg | None = None) -> list[Leg]:
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
