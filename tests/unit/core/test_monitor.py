"""A supervisor on a live call (core/monitor.py): listen, whisper, barge; the call changing."""

from __future__ import annotations

import pytest

from ringdesk.core.commands import (
    CtiLogin,
    EndCall,
    Hold,
    MonitorCall,
    SetStatus,
    StopMonitoring,
)
from ringdesk.core.errors import CoreError, IllegalAction, InvalidInput, NotFound
from ringdesk.core.events import MonitorChanged
from ringdesk.core.model import AgentStatus
from ringdesk.core.telephony import HangUp, Monitor, RingAgent

from .harness import ALICE, BOB, CAROL, Desk


def _talking(desk: Desk) -> tuple[str, str, str]:
    desk.ready(ALICE)
    call, cust = desk.arrive()
    leg = desk.connect(ALICE, call)
    return call, cust, leg


def _rung(desk: Desk, call: str) -> str:
    rings = [a for a in desk.phone.of_type(RingAgent) if a.agent_id == BOB and a.call_id == call]
    assert rings, "the supervisor's phone was not rung"
    assert rings[-1].auto_answer and rings[-1].cti_id == "1002"
    return rings[-1].leg_id


def _answered(desk: Desk, call: str, mode: str) -> str:
    """Bob's phone is up, he asks for `mode` and his phone answers; his leg."""
    desk.reachable(BOB)
    desk.do(MonitorCall(BOB, call, mode))
    sup_leg = _rung(desk, call)
    desk.tel(desk.phone.answered(sup_leg))
    return sup_leg


def test_listening_rings_the_supervisors_phone_then_mixes_once_it_answers() -> None:
    desk = Desk()
    call, cust, agent_leg = _talking(desk)
    desk.reachable(BOB)
    desk.do(MonitorCall(BOB, call, "listen"))
    sup_leg = _rung(desk, call)
    assert desk.phone.of_type(Monitor) == []  # nothing mixed before the phone answers
    assert desk.engine.call(call).monitor_mode == "listen"
    assert desk.engine.call(call).monitor_connected is False

    desk.tel(desk.phone.answered(sup_leg))
    assert desk.phone.last(Monitor) == Monitor(call, sup_leg, cust, agent_leg, "listen")
    view = desk.engine.call(call)
    assert (view.monitor_supervisor_id, view.monitor_connected) == (BOB, True)
    changed = desk.of(MonitorChanged)
    assert [(e.mode, e.connected, e.agent_id) for e in changed] == [
        ("listen", False, ALICE),
        ("listen", True, ALICE),
    ]


def test_the_mode_changes_without_ringing_again_and_stop_hangs_up() -> None:
    desk = Desk()
    call, cust, agent_leg = _talking(desk)
    sup_leg = _answered(desk, call, "listen")
    for mode in ("whisper", "barge", "listen"):
        desk.do(MonitorCall(BOB, call, mode))
        assert desk.phone.last(Monitor).mode == mode
    assert len([a for a in desk.phone.of_type(RingAgent) if a.agent_id == BOB]) == 1

    desk.do(StopMonitoring(BOB, call))
    assert desk.phone.last(Monitor) == Monitor(call, sup_leg, cust, agent_leg, None)
    assert desk.phone.last(HangUp).leg_id == sup_leg
    assert desk.of(MonitorChanged)[-1].reason == "stopped"
    assert desk.engine.call(call).monitor_supervisor_id is None
    with pytest.raises(NotFound):
        desk.do(StopMonitoring(BOB, call))


def test_a_logged_in_supervisor_is_on_call_while_monitoring_and_offered_nothing() -> None:
    desk = Desk()
    call, _cust, _leg = _talking(desk)
    desk.ready(BOB)
    desk.do(MonitorCall(BOB, call, "listen"))
    assert desk.status(BOB) == AgentStatus.ON_CALL
    second, _ = desk.arrive(caller="5559999")
    assert desk.offered(BOB) is None  # Bob is busy listening: the call waits
    desk.do(StopMonitoring(BOB, call))
    assert desk.offered(BOB) == second  # Ready again: the waiting call comes to him


def test_hold_or_the_calls_end_lets_the_supervisor_go() -> None:
    desk = Desk()
    call, _cust, _leg = _talking(desk)
    sup_leg = _answered(desk, call, "barge")
    desk.do(Hold(ALICE, call))
    assert desk.phone.last(HangUp).leg_id == sup_leg
    assert desk.of(MonitorChanged)[-1].reason == "call_changed"

    desk2 = Desk()
    call2, _c, _l = _talking(desk2)
    sup2 = _answered(desk2, call2, "listen")
    desk2.do(EndCall(ALICE, call2))
    assert sup2 in [a.leg_id for a in desk2.phone.of_type(HangUp)]
    assert desk2.of(MonitorChanged)[-1].mode is None


def test_the_supervisor_hanging_up_or_a_failed_ring_ends_it() -> None:
    desk = Desk()
    call, _cust, _leg = _talking(desk)
    sup_leg = _answered(desk, call, "listen")
    desk.tel(desk.phone.hung_up(sup_leg))
    assert desk.of(MonitorChanged)[-1].reason == "supervisor_hung_up"
    assert desk.engine.call(call).state == "talking"  # the call goes on
    # and they may come back
    desk.do(MonitorCall(BOB, call, "whisper"))
    assert _rung(desk, call) != sup_leg


def test_refusals() -> None:
    desk = Desk()
    call, _cust, _leg = _talking(desk)
    with pytest.raises(CoreError) as no_phone:
        desk.do(MonitorCall(BOB, call, "listen"))
    assert no_phone.value.code == "phone_not_registered"
    desk.reachable(BOB)
    with pytest.raises(InvalidInput):
        desk.do(MonitorCall(BOB, call, "shout"))
    with pytest.raises(IllegalAction) as own:
        desk.do(MonitorCall(ALICE, call, "listen"))
    assert own.value.code == "own_call"
    desk.do(MonitorCall(BOB, call, "listen"))
    desk.reachable(CAROL)
    with pytest.raises(CoreError) as taken:
        desk.do(MonitorCall(CAROL, call, "listen"))
    assert taken.value.code == "monitor_taken"
    with pytest.raises(NotFound):
        desk.do(MonitorCall(CAROL, "no-such-call", "listen"))


def test_a_call_not_yet_talking_cannot_be_monitored() -> None:
    desk = Desk()
    desk.reachable(CAROL)
    desk.do(CtiLogin(CAROL))
    desk.do(SetStatus(CAROL, AgentStatus.READY))
    call, _cust = desk.arrive()  # offered to Carol, not answered
    desk.reachable(BOB)
    with pytest.raises(IllegalAction) as ringing:
        desk.do(MonitorCall(BOB, call, "listen"))
    assert ringing.value.code == "call_not_monitorable"
