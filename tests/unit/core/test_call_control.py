"""Handling a call (manual 3, 4): Hold, Transfer by consultation, Force Disconnect, End."""

from __future__ import annotations

import pytest

from ringdesk.core.commands import (
    CancelConsultation,
    ConnectToCustomer,
    CtiLogin,
    EndCall,
    ForceDisconnect,
    Hold,
    Resume,
    SetStatus,
    StartConsultation,
)
from ringdesk.core.errors import CoreError, IllegalAction, InvalidInput
from ringdesk.core.events import (
    CallEnded,
    CallHeld,
    CallResumed,
    CallTransferred,
    ConsultationAnswered,
    ConsultationEnded,
    ConsultationHeld,
    ConsultationResumed,
    ConsultationStarted,
    TicketOpened,
)
from ringdesk.core.model import AgentStatus, CallOutcome, FailureReason
from ringdesk.core.telephony import (
    Bridge,
    HangUp,
    Originate,
    PlayThenHangUp,
    RingAgent,
    StartHoldMusic,
    StopHoldMusic,
)

from .harness import ALICE, BOB, CAROL, Desk


def _talking(desk: Desk) -> tuple[str, str, str]:
    """Alice talks to a customer; returns (call, customer leg, Alice's leg)."""
    desk.ready(ALICE)
    call, cust = desk.arrive()
    leg = desk.connect(ALICE, call)
    return call, cust, leg


def _bob_free(desk: Desk) -> None:
    desk.reachable(BOB)
    desk.do(CtiLogin(BOB))
    desk.do(SetStatus(BOB, AgentStatus.READY))


def test_hold_plays_music_to_the_customer_and_resume_reconnects() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    desk.do(Hold(ALICE, call))
    assert desk.phone.last(StartHoldMusic) == StartHoldMusic(call, cust)
    assert desk.status(ALICE) == "on_hold"
    assert desk.of(CallHeld)[-1].call_id == call
    desk.do(Resume(ALICE, call))
    assert desk.phone.last(StopHoldMusic) == StopHoldMusic(call, cust)
    assert desk.phone.last(Bridge) == Bridge(call, cust, leg)
    assert desk.status(ALICE) == "on_call"
    assert desk.of(CallResumed)[-1].call_id == call


def test_hold_while_on_hold_is_illegal() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    desk.do(Hold(ALICE, call))
    with pytest.raises(IllegalAction, match="Hold is not possible while On Hold"):
        desk.do(Hold(ALICE, call))


def test_resume_while_on_call_is_illegal() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    with pytest.raises(IllegalAction, match="Resume is not possible while On Call"):
        desk.do(Resume(ALICE, call))


def test_hold_while_the_agent_phone_connects_is_illegal() -> None:
    from ringdesk.core.commands import Answer

    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.do(Answer(ALICE, call))
    with pytest.raises(IllegalAction, match="while the call is connecting"):
        desk.do(Hold(ALICE, call))


def test_an_action_on_another_call_id_is_not_found() -> None:
    desk = Desk()
    _talking(desk)
    with pytest.raises(CoreError) as err:
        desk.do(Hold(ALICE, "other"))
    assert err.value.code == "call_not_found"


def test_consultation_with_a_ready_agent_rings_their_phone() -> None:
    desk = Desk()
    call, cust, _ = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    assert desk.phone.last(StartHoldMusic) == StartHoldMusic(call, cust)
    ring = desk.phone.last(RingAgent)
    assert (ring.agent_id, ring.cti_id) == (BOB, "1002")
    assert desk.status(ALICE) == "on_call_transfer"
    assert desk.status(BOB) == "on_call"
    started = desk.of(ConsultationStarted)[-1]
    assert (started.target_agent_id, started.target_number) == (BOB, "1002")
    view = desk.engine.call(call)
    assert (view.state, view.consult_agent_id, view.consult_answered) == ("consulting", BOB, False)


def test_consultation_to_a_number_of_an_agent_rings_that_agent() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, number="1002"))
    assert desk.phone.last(RingAgent).agent_id == BOB
    assert desk.phone.of_type(Originate) == []


def test_consultation_to_an_outside_number_goes_out_with_the_service_calling_number() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    out = desk.phone.last(Originate)
    assert (out.number, out.calling_number) == ("5557777", "5550100")


def test_answered_consultation_bridges_the_agent_and_the_target() -> None:
    desk = Desk()
    call, _, leg = _talking(desk)
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    target = desk.phone.last(Originate).leg_id
    desk.tel(desk.phone.answered(target))
    assert desk.phone.last(Bridge) == Bridge(call, leg, target)
    assert desk.of(ConsultationAnswered)[-1].call_id == call
    assert desk.engine.call(call).consult_answered


def test_connect_to_customer_hands_the_call_to_the_consulted_agent() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    bob_leg = desk.phone.last(RingAgent).leg_id
    desk.tel(desk.phone.answered(bob_leg))
    desk.do(ConnectToCustomer(ALICE, call))
    assert desk.phone.last(Bridge) == Bridge(call, cust, bob_leg)
    assert desk.phone.last(HangUp).leg_id == leg
    moved = desk.of(CallTransferred)[-1]
    assert (moved.from_agent_id, moved.to_agent_id) == (ALICE, BOB)
    assert desk.status(ALICE) == "ticket_processing"
    assert desk.status(BOB) == "on_call"
    assert desk.engine.call(call).agent_id == BOB
    assert len(desk.of(TicketOpened)) == 1  # the ticket stays the same
    desk.do(Hold(BOB, call))  # Bob now handles the call
    assert desk.status(BOB) == "on_hold"


def test_transferred_call_ending_moves_the_new_agent_to_ticket_processing() -> None:
    desk = Desk()
    call, cust, _ = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    desk.do(ConnectToCustomer(ALICE, call))
    desk.tel(desk.phone.hung_up(cust))
    ended = desk.of(CallEnded)[-1]
    assert (ended.agent_id, ended.outcome) == (BOB, CallOutcome.ANSWERED)
    assert desk.status(BOB) == "ticket_processing"


def test_connect_to_customer_with_an_outside_number_ends_the_call_as_transferred() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    target = desk.phone.last(Originate).leg_id
    desk.tel(desk.phone.answered(target))
    desk.do(ConnectToCustomer(ALICE, call))
    assert desk.phone.last(Bridge) == Bridge(call, cust, target)
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.agent_id) == (CallOutcome.TRANSFERRED, ALICE)
    assert desk.phone.last(HangUp).leg_id == leg
    assert desk.status(ALICE) == "ticket_processing"
    desk.tel(desk.phone.hung_up(target))  # later, the outside party hangs up
    assert desk.phone.last(HangUp).leg_id == cust


def test_connect_to_customer_before_the_target_answers_is_refused() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    with pytest.raises(CoreError) as err:
        desk.do(ConnectToCustomer(ALICE, call))
    assert err.value.code == "consultation_not_answered"
    assert desk.status(ALICE) == "on_call_transfer"


def test_cancel_puts_the_agent_on_hold_and_resume_reconnects_the_customer() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    bob_leg = desk.phone.last(RingAgent).leg_id
    desk.tel(desk.phone.answered(bob_leg))
    desk.do(CancelConsultation(ALICE, call))
    assert desk.phone.last(HangUp).leg_id == bob_leg
    assert desk.of(ConsultationEnded)[-1].reason == "cancelled"
    assert desk.status(ALICE) == "on_hold"
    assert desk.status(BOB) == "ready"
    desk.do(Resume(ALICE, call))
    assert desk.phone.last(Bridge) == Bridge(call, cust, leg)
    assert desk.status(ALICE) == "on_call"


def test_a_second_consultation_is_refused_while_one_runs() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    with pytest.raises(CoreError) as err:
        desk.do(StartConsultation(ALICE, call, number="5558888"))
    assert (err.value.code, type(err.value)) == ("transfer_in_progress", CoreError)


def test_consultation_from_on_hold_keeps_the_hold_music() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    desk.do(Hold(ALICE, call))
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    assert len(desk.phone.of_type(StartHoldMusic)) == 1
    assert desk.status(ALICE) == "on_call_transfer"


def test_failed_consultation_leaves_the_agent_on_hold_with_the_reason() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    desk.tel(desk.phone.failed(desk.phone.last(Originate).leg_id, FailureReason.BUSY))
    assert desk.of(ConsultationEnded)[-1].reason == "busy"
    assert desk.status(ALICE) == "on_hold"
    assert desk.engine.call(call).state == "on_hold"


def test_failed_consultation_keeps_the_customer_on_hold_music_and_the_view_says_why() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    desk.tel(desk.phone.failed(desk.phone.last(Originate).leg_id, FailureReason.NO_ANSWER))
    view = desk.engine.call(call)
    assert (view.consult_ended_reason, view.consult_ended_number) == ("no_answer", "5557777")
    assert view.consult_ended_agent_id is None
    # The customer still hears the music: nothing stopped it, nothing bridged them elsewhere.
    assert desk.phone.of_type(StopHoldMusic) == []
    assert desk.phone.last(StartHoldMusic).leg_id == cust
    # A new consultation forgets the old reason; so does Resume.
    desk.do(StartConsultation(ALICE, call, number="5558888"))
    assert desk.engine.call(call).consult_ended_reason is None
    desk.do(CancelConsultation(ALICE, call))
    assert desk.engine.call(call).consult_ended_reason == "cancelled"
    desk.do(Resume(ALICE, call))
    assert desk.engine.call(call).consult_ended_reason is None
    assert desk.phone.last(Bridge) == Bridge(call, cust, leg)


def test_consultation_events_name_the_consulted_agent() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    answered = desk.of(ConsultationAnswered)[-1]
    assert (answered.agent_id, answered.target_agent_id) == (ALICE, BOB)
    desk.do(EndCall(BOB, call))
    ended = desk.of(ConsultationEnded)[-1]
    assert (ended.agent_id, ended.target_agent_id, ended.reason) == (ALICE, BOB, "target_hung_up")
    view = desk.engine.call(call)
    assert (view.consult_ended_reason, view.consult_ended_agent_id) == ("target_hung_up", BOB)


def test_consultation_with_an_agent_who_cannot_take_a_call_is_refused() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    desk.reachable(BOB)
    with pytest.raises(CoreError) as err:
        desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))  # Bob is logged out
    assert err.value.code == "target_unavailable"
    assert desk.status(ALICE) == "on_call"
    with pytest.raises(InvalidInput):
        desk.do(StartConsultation(ALICE, call, target_agent_id=ALICE))
    with pytest.raises(InvalidInput):
        desk.do(StartConsultation(ALICE, call))


def test_consulted_agent_hanging_up_ends_only_the_consultation() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    desk.do(EndCall(BOB, call))
    assert desk.of(ConsultationEnded)[-1].reason == "target_hung_up"
    assert desk.status(ALICE) == "on_hold"
    assert desk.status(BOB) == "ready"
    assert desk.engine.call(call).state == "on_hold"


def test_consulted_agent_is_not_offered_calls() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    other, _ = desk.arrive()
    assert desk.offered(BOB) is None
    assert desk.engine.call(other).state == "queued"


def test_caller_hanging_up_during_consultation_releases_both_agents() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    bob_leg = desk.phone.last(RingAgent).leg_id
    desk.tel(desk.phone.hung_up(cust))
    assert {a.leg_id for a in desk.phone.of_type(HangUp)} >= {leg, bob_leg}
    assert desk.status(ALICE) == "ticket_processing"
    assert desk.status(BOB) == "ready"
    assert desk.engine.calls() == []


def test_caller_hanging_up_on_hold_ends_the_call_and_its_music() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    desk.do(Hold(ALICE, call))
    desk.tel(desk.phone.hung_up(cust))
    assert desk.phone.last(HangUp).leg_id == leg
    ended = desk.of(CallEnded)[-1]
    assert (ended.call_id, ended.outcome, ended.ended_by) == (
        call,
        CallOutcome.ANSWERED,
        "customer",
    )
    assert desk.status(ALICE) == "ticket_processing"


def test_force_disconnect_plays_the_message_then_ends_the_call() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    desk.do(ForceDisconnect(ALICE, call))
    assert desk.phone.last(PlayThenHangUp) == PlayThenHangUp(call, cust, "force_disconnect")
    assert desk.phone.last(HangUp).leg_id == leg
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.ended_by) == (CallOutcome.FORCE_DISCONNECTED, "agent")
    assert desk.status(ALICE) == "ticket_processing"
    out = desk.tel(desk.phone.playback_finished(cust))  # informational
    assert (out.events, out.actions) == ([], [])
    assert desk.tel(desk.phone.hung_up(cust)).events == []


def test_end_hangs_up_both_legs() -> None:
    desk = Desk()
    call, cust, leg = _talking(desk)
    desk.do(EndCall(ALICE, call))
    assert {a.leg_id for a in desk.phone.of_type(HangUp)} == {cust, leg}
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.ended_by) == (CallOutcome.ANSWERED, "agent")
    assert desk.status(ALICE) == "ticket_processing"


def test_illegal_commands_change_nothing() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    before = (desk.engine.agents(), desk.engine.calls(), desk.engine.queues())
    for command in (
        Resume(ALICE, call),
        CancelConsultation(ALICE, call),
        ConnectToCustomer(ALICE, call),
        CtiLogin(ALICE),
        Hold(BOB, call),
        StartConsultation(ALICE, call, target_agent_id=CAROL),
    ):
        with pytest.raises(CoreError):
            desk.do(command)
    assert (desk.engine.agents(), desk.engine.calls(), desk.engine.queues()) == before


# ---- the consulted agent's Hold / Resume ---------------------------------------------------
def _consulting_bob(desk: Desk) -> tuple[str, str, str, str]:
    """Alice consults Bob, who has answered; returns (call, customer leg, Alice's, Bob's leg)."""
    call, cust, leg = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    bob_leg = desk.phone.last(RingAgent).leg_id
    desk.tel(desk.phone.answered(bob_leg))
    return call, cust, leg, bob_leg


def test_consulted_agent_holds_her_end_and_the_handling_agent_hears_the_music() -> None:
    desk = Desk()
    call, cust, leg, _ = _consulting_bob(desk)
    desk.phone.clear()
    desk.do(Hold(BOB, call))
    # Alice's leg (not the customer's, who is on hold already) gets the music.
    assert desk.phone.actions == [StartHoldMusic(call, leg)]
    held = desk.of(ConsultationHeld)[-1]
    assert (held.call_id, held.agent_id, held.target_agent_id) == (call, ALICE, BOB)
    assert desk.status(BOB) == "on_hold"
    assert desk.status(ALICE) == "on_call_transfer"
    assert desk.engine.call(call).consult_held
    assert desk.engine.agent(ALICE).call.consult_held  # type: ignore[union-attr]
    desk.phone.clear()
    desk.do(Resume(BOB, call))
    assert desk.phone.actions == [StopHoldMusic(call, leg)]
    resumed = desk.of(ConsultationResumed)[-1]
    assert (resumed.agent_id, resumed.target_agent_id) == (ALICE, BOB)
    assert desk.status(BOB) == "on_call"
    assert not desk.engine.call(call).consult_held
    assert cust not in {a.leg_id for a in desk.phone.of_type(StopHoldMusic)}


def test_consulted_agent_hold_twice_or_resume_unheld_is_refused_as_for_the_handling_agent() -> None:
    desk = Desk()
    call, _, _, _ = _consulting_bob(desk)
    with pytest.raises(IllegalAction) as not_held:
        desk.do(Resume(BOB, call))
    assert not_held.value.message == "Resume is not possible while On Call."
    desk.do(Hold(BOB, call))
    before = (desk.engine.agents(), desk.engine.calls(), len(desk.phone.actions))
    with pytest.raises(IllegalAction) as twice:
        desk.do(Hold(BOB, call))
    assert twice.value.message == "Hold is not possible while On Hold."
    assert (desk.engine.agents(), desk.engine.calls(), len(desk.phone.actions)) == before
    # The handling agent's own wrong-state Hold and Resume give the same code.
    other = Desk()
    ocall, _, _ = _talking(other)
    for command in (Resume(ALICE, ocall), Hold(ALICE, ocall)):
        with pytest.raises(IllegalAction) as own:
            other.do(command)
            other.do(command)
        assert own.value.code == twice.value.code == not_held.value.code == "illegal_in_status"


def test_consulted_agent_cannot_hold_before_she_answers_nor_hold_for_the_handling_agent() -> None:
    desk = Desk()
    call, _, _ = _talking(desk)
    _bob_free(desk)
    desk.do(StartConsultation(ALICE, call, target_agent_id=BOB))
    with pytest.raises(IllegalAction):
        desk.do(Hold(BOB, call))  # still ringing
    assert not desk.engine.call(call).consult_held
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    with pytest.raises(IllegalAction):
        desk.do(Hold(ALICE, call))  # Alice consults: her Hold stays refused
    assert not desk.engine.call(call).consult_held


def test_connect_to_customer_while_the_consulted_agent_holds_leaves_no_music() -> None:
    desk = Desk()
    call, cust, leg, bob_leg = _consulting_bob(desk)
    desk.do(Hold(BOB, call))
    desk.phone.clear()
    desk.do(ConnectToCustomer(ALICE, call))
    assert StopHoldMusic(call, cust) in desk.phone.actions
    assert Bridge(call, cust, bob_leg) in desk.phone.actions
    assert HangUp(call, leg) in desk.phone.actions  # Alice's held leg goes, music and all
    assert desk.phone.of_type(StartHoldMusic) == []
    assert desk.status(BOB) == "on_call"
    view = desk.engine.call(call)
    assert (view.agent_id, view.state, view.consult_held) == (BOB, "talking", False)
    # Bob now handles the call: his Hold is the customer's hold.
    desk.do(Hold(BOB, call))
    assert desk.phone.last(StartHoldMusic) == StartHoldMusic(call, cust)


def test_cancel_while_the_consulted_agent_holds_stops_the_handling_agents_music() -> None:
    desk = Desk()
    call, cust, leg, bob_leg = _consulting_bob(desk)
    desk.do(Hold(BOB, call))
    desk.phone.clear()
    desk.do(CancelConsultation(ALICE, call))
    # Bob's leg goes first, so the switch does not join Alice's leg with it again.
    assert desk.phone.actions[:2] == [HangUp(call, bob_leg), StopHoldMusic(call, leg)]
    assert desk.status(ALICE) == "on_hold"  # as after any cancel
    assert desk.status(BOB) == "ready"
    assert desk.engine.call(call).consult_ended_reason == "cancelled"
    desk.do(Resume(ALICE, call))
    assert desk.phone.last(Bridge) == Bridge(call, cust, leg)


def test_consulted_agent_ending_while_holding_stops_the_music() -> None:
    desk = Desk()
    call, _, leg, bob_leg = _consulting_bob(desk)
    desk.do(Hold(BOB, call))
    desk.phone.clear()
    desk.do(EndCall(BOB, call))
    assert desk.phone.actions[:2] == [HangUp(call, bob_leg), StopHoldMusic(call, leg)]
    assert desk.of(ConsultationEnded)[-1].reason == "target_hung_up"
    assert (desk.status(ALICE), desk.status(BOB)) == ("on_hold", "ready")


def test_consulted_agents_phone_hanging_up_while_holding_stops_the_music() -> None:
    desk = Desk()
    call, _, leg, bob_leg = _consulting_bob(desk)
    desk.do(Hold(BOB, call))
    desk.phone.clear()
    desk.tel(desk.phone.hung_up(bob_leg))
    assert desk.phone.actions[0] == StopHoldMusic(call, leg)
    assert (desk.status(ALICE), desk.status(BOB)) == ("on_hold", "ready")


def test_customer_hanging_up_while_the_consulted_agent_holds_releases_everyone() -> None:
    desk = Desk()
    call, cust, leg, bob_leg = _consulting_bob(desk)
    desk.do(Hold(BOB, call))
    desk.tel(desk.phone.hung_up(cust))
    assert {a.leg_id for a in desk.phone.of_type(HangUp)} >= {leg, bob_leg}
    assert (desk.status(ALICE), desk.status(BOB)) == ("ticket_processing", "ready")
    assert desk.engine.calls() == []
    with pytest.raises(IllegalAction):
        desk.do(Resume(BOB, call))


def test_handling_agent_ending_the_call_while_the_consulted_agent_holds() -> None:
    desk = Desk()
    call, _, leg, bob_leg = _consulting_bob(desk)
    desk.do(Hold(BOB, call))
    desk.do(EndCall(ALICE, call))
    assert {a.leg_id for a in desk.phone.of_type(HangUp)} >= {leg, bob_leg}
    assert desk.status(BOB) == "ready"
    assert desk.engine.calls() == []
