"""Whether a call is recorded is the engine's choice (the service's own, else the global
setting), carried by the Bridge; a recorded inbound call's caller hears the notice once."""

from __future__ import annotations

from dataclasses import replace

from ringdesk.core.commands import Dial, Hold, Resume
from ringdesk.core.events import CallDialed
from ringdesk.core.model import CtiSettings, MenuAction, MenuChoice, MenuConfig
from ringdesk.core.prompts import Say, Sound
from ringdesk.core.telephony import Bridge, Originate, PlayPrompt, RingAgent

from .harness import ALICE, SALES, SUPPORT, Desk


def _answered_bridge(desk: Desk) -> Bridge:
    call, _cust = desk.arrive()
    desk.connect(ALICE, call)
    return desk.phone.last(Bridge)


def _join_prompts(desk: Desk, leg: str) -> list[tuple[Sound | Say, ...]]:
    return [a.prompt for a in desk.phone.of_type(PlayPrompt) if a.leg_id == leg]


def test_the_service_choice_wins_over_the_global_setting() -> None:
    for global_on, own, recorded in (
        (False, None, False),
        (True, None, True),
        (True, False, False),
        (False, True, True),
    ):
        desk = Desk(CtiSettings(record_calls=global_on), [replace(SUPPORT, record_calls=own)])
        desk.ready(ALICE)
        assert _answered_bridge(desk).record is recorded, (global_on, own)


def test_a_changed_setting_applies_to_the_next_bridge_and_resume_follows_it() -> None:
    desk = Desk()
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.connect(ALICE, call)
    assert desk.phone.last(Bridge).record is False
    desk.service(replace(SUPPORT, record_calls=True))
    desk.do(Hold(ALICE, call))
    desk.do(Resume(ALICE, call))
    assert desk.phone.last(Bridge).record is True


def test_outbound_calls_follow_their_service() -> None:
    desk = Desk(CtiSettings(record_calls=True), [replace(SUPPORT, record_calls=False), SALES])
    desk.ready(ALICE)
    desk.do(Dial(ALICE, 1, "5551234", "5550199"))
    call = desk.of(CallDialed)[-1].call_id
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    desk.tel(desk.phone.answered(desk.phone.last(Originate).leg_id))
    bridge = desk.phone.last(Bridge)
    assert bridge.call_id == call and bridge.record is False


def test_a_recorded_call_hears_the_notice_first_once() -> None:
    desk = Desk(CtiSettings(record_calls=True), [replace(SUPPORT, announce_position=True)])
    _call, cust = desk.arrive()
    first = _join_prompts(desk, cust)
    assert len(first) == 1
    assert first[0][0] == Sound("recording_notice.1") and isinstance(first[0][1], Say)
    desk.tick(60.0)  # the next announcement: the position alone
    later = _join_prompts(desk, cust)
    assert len(later) == 2 and Sound("recording_notice.1") not in later[1]


def test_no_notice_when_not_recorded_or_turned_off() -> None:
    for settings, own in (
        (CtiSettings(record_calls=True, recording_notice=False), None),
        (CtiSettings(record_calls=True), False),
        (CtiSettings(), None),
    ):
        desk = Desk(settings, [replace(SUPPORT, record_calls=own)])
        _call, cust = desk.arrive()
        assert _join_prompts(desk, cust) == [], (settings, own)


def test_after_the_menu_the_chosen_service_decides_and_the_notice_is_heard_once() -> None:
    menu = MenuConfig(
        1,
        "Main",
        (("1", MenuChoice(MenuAction.QUEUE, 1)), ("2", MenuChoice(MenuAction.QUEUE, 2))),
    )
    support = replace(SUPPORT, menu_id=1, record_calls=False)
    sales = replace(SALES, record_calls=True)
    desk = Desk(CtiSettings(), [support, sales], menus=[menu])
    _call, cust = desk.arrive()
    assert _join_prompts(desk, cust) == [(Sound("menu.1"),)]  # no notice in the menu
    desk.key(cust, "2")
    assert _join_prompts(desk, cust)[-1] == (Sound("recording_notice.2"),)
