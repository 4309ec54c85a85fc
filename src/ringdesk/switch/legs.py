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
from ringdesk.sip.message import Request
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
    awaiting_answer: bool = False  # we offered in our 2xx (delayed offer): answer in the ACK
    # Set when PlayThenHangUp is running so a remote BYE still reports the playback.
    playing_then_hangup: bool = False

    @property
    def ended(self) -> bool:
        return self.state is LegState.ENDED


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
