"""How a leg ends: hung up the way its state calls for (BYE, a final response, CANCEL), failed
(or only one of its forked branches), and torn down (its media and relay forgotten, its dialog
still findable for a while). Every other part ends legs through here."""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from ringdesk.core.model import FailureReason
from ringdesk.core.telephony import (
    QUEUE_FULL,
    LegFailed,
    LegHungUp,
    PlaybackFinished,
    VoicemailRecorded,
)
from ringdesk.sip.message import make_response
from ringdesk.sip.transaction import build_cancel

from .bridges import Bridges
from .legs import AnyLeg, Branch, IncomingLeg, Leg, LegState, OutgoingLeg, best_failure
from .shared import SwitchState, ignore_response, ignore_timeout

NO_MEDIA_PORT = "no_media_port"  # a leg's hang-up cause when the RTP port range is full


class Teardown:
    def __init__(self, state: SwitchState, bridges: Bridges) -> None:
        self.state = state
        self.stack = state.stack
        self.legs = state.legs
        self.bridges = bridges
        # Told when a leg with a dialog ends: the live dialogs file is rewritten (persist.py).
        self.dialog_ended: Callable[[], None] = lambda: None

    def hang_up(self, leg: AnyLeg, cause: str, *, report: bool) -> None:
        """End the leg the way its state calls for, then report LegHungUp."""
        if isinstance(leg, Branch) and leg.fork.winner is None:
            for other in leg.fork.live(but=leg):
                self.cancel_branch(other)
        if leg.state is LegState.ANSWERED:
            self.send_bye(leg)
        else:
            match leg:
                case IncomingLeg():
                    # Busy Here for a busy target or a full queue (the engine's refusal).
                    status = 486 if cause in ("busy", QUEUE_FULL) else 480
                    if cause == NO_MEDIA_PORT:
                        status = 503  # the RTP port range is exhausted (media/server.py)
                    if cause == QUEUE_FULL:
                        self.state.inbound_counts.count_refusal(QUEUE_FULL)
                    resp = make_response(leg.invite, status, to_tag=leg.local_tag)
                    self.stack.respond(leg.server_txn, resp)
                case OutgoingLeg():
                    if leg.state is LegState.EARLY:
                        self.send_cancel(leg)
                    elif leg.client_txn is not None:
                        leg.cancel_pending = True  # CANCEL after a provisional (RFC 3261 9.1)
                case _:
                    assert_never(leg)
        # A caller the engine was never told about (CallArrived) is not reported either.
        unknown = isinstance(leg, IncomingLeg) and not leg.announced
        self.end_leg(leg, cause, report=report and not unknown)

    def on_error(self, leg: AnyLeg) -> None:
        """Handling the leg went wrong (a bug): hang it up, reported, unless it ended already."""
        if not leg.ended:
            self.hang_up(leg, "error", report=True)

    def fail(self, leg: OutgoingLeg, reason: FailureReason, detail: str) -> None:
        if isinstance(leg, Branch) and leg.fork.winner is None:
            fork = leg.fork
            fork.failures.append((reason, detail))
            others = fork.live(but=leg)
            if others:
                # Another contact of the agent still rings: only this branch is over.
                self.end_branch(leg)
                if self.legs.get(leg.leg_id) is leg:
                    self.legs[leg.leg_id] = others[0]
                return
            reason, detail = best_failure(fork.failures)
        self.release(leg)
        self.state.emit(LegFailed(leg.leg_id, reason, detail))

    def cancel_branch(self, leg: Branch) -> None:
        """A forked branch that lost (or whose leg is hung up): CANCEL it once it has rung,
        and forget it without touching the shared media or the leg's place in `legs`. If its
        2xx crosses the CANCEL, the answer is ACKed and BYEd (see outbound.py)."""
        if leg.state is LegState.EARLY:
            self.send_cancel(leg)
        elif leg.state is LegState.ANSWERED:
            self.send_bye(leg)
        elif leg.client_txn is not None:
            leg.cancel_pending = True  # CANCEL only after a provisional (RFC 3261 9.1)
        self.end_branch(leg)

    def end_branch(self, leg: Branch) -> None:
        if leg.state is LegState.ENDED:
            return
        if leg.state is LegState.ANSWERED:
            self.dialog_ended()
        leg.state = LegState.ENDED
        leg.endpoint = None  # shared with the other branches: not ours to close
        self.state.keep_findable(leg)

    def send_bye(self, leg: Leg) -> None:
        if leg.dialog is None:
            return
        req = leg.dialog.new_request("BYE", via=self.stack.via(leg.tp, peer=leg.peer[0]))
        self.stack.send_request(req, leg.peer, leg.tp, ignore_response, ignore_timeout)

    def send_cancel(self, leg: OutgoingLeg) -> None:
        txn = leg.client_txn
        if txn is None or txn.terminated:
            return
        self.stack.send_request(
            build_cancel(txn.request), leg.peer, leg.tp, ignore_response, ignore_timeout
        )

    def voicemail_done(self, leg: Leg) -> None:
        """The caller's message is complete: its file in place, reported (VoicemailRecorded)."""
        relative, leg.voicemail = leg.voicemail, None
        media = self.state.media
        if relative is None or media is None:
            return
        seconds = media.stop_recording(leg.leg_id)
        self.state.emit(VoicemailRecorded(leg.leg_id, relative, seconds))

    def end_leg(self, leg: Leg, cause: str, *, report: bool) -> None:
        was_playing = leg.playing_then_hangup
        if leg.voicemail is not None:  # the caller hung up after speaking: the message stands
            self.voicemail_done(leg)
        self.release(leg)
        if report:
            if was_playing:
                self.state.emit(PlaybackFinished(leg.leg_id))
            self.state.emit(LegHungUp(leg.leg_id, cause))

    def release(self, leg: Leg) -> None:
        """Forget the leg's media and relay; its dialog stays findable for late messages."""
        if leg.state is LegState.ENDED:
            return
        if leg.state is LegState.ANSWERED:
            self.dialog_ended()
        leg.state = LegState.ENDED
        leg.playing_then_hangup = False
        if leg.retrans_handle is not None:
            leg.retrans_handle.cancel()
        leg.retrans = None
        self.bridges.drop(leg.leg_id)
        media = self.state.media
        if media is not None and leg.endpoint is not None:
            media.unbridge(leg.leg_id)
            media.stop_play(leg.leg_id)
            media.close_endpoint(leg.leg_id)
        leg.endpoint = None
        self.legs.pop(leg.leg_id, None)
        self.state.inbound_counts.remove(leg.leg_id)  # a customer leg no longer counts
        # Late retransmissions (BYE, 2xx) are still matched for a while, then forgotten.
        self.state.keep_findable(leg)
