"""What the caller meets before an agent: opening hours and holidays, IVR menus, and the queue's
announcements (core/hours.py, arrival.py, ivr.py, announce.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ringdesk.core.commands import SetStatus
from ringdesk.core.events import (
    CallEnded,
    CallQueued,
    CallRouted,
    TicketOpened,
    VoicemailLeft,
)
from ringdesk.core.hours import Holiday, OpeningHours, WeeklyRange, is_open, next_change
from ringdesk.core.model import (
    AgentStatus,
    CallOutcome,
    ClosedAction,
    MenuAction,
    MenuChoice,
    MenuConfig,
)
from ringdesk.core.prompts import Say, Sound, position_text, template_problem, wait_words
from ringdesk.core.telephony import (
    AfterPrompt,
    Originate,
    PlayPrompt,
    PlayThenHangUp,
    RecordVoicemail,
    RingAgent,
    StartQueueMusic,
    VoicemailRecorded,
)

from .harness import AGENTS, ALICE, BOB, SALES, SUPPORT, Desk

BERLIN = "Europe/Berlin"
# Monday to Friday 9:00-17:00, Saturday 22:00 until 2:00 on Sunday.
WEEKDAYS = (
    *tuple(WeeklyRange(d, 9 * 60, 17 * 60) for d in range(5)),
    WeeklyRange(5, 22 * 60, 2 * 60),
)


def at(y: int, mo: int, d: int, h: int, mi: int = 0, tz: str = BERLIN) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp()


def hours(*holidays: Holiday) -> OpeningHours:
    return OpeningHours(BERLIN, WEEKDAYS, holidays)


# ---- hours ----------------------------------------------------------------------------------


def test_weekly_hours_in_the_service_time_zone_and_past_midnight() -> None:
    h = hours()
    assert is_open(h, at(2026, 12, 1, 9, 0))  # Tuesday 9:00 Berlin
    assert not is_open(h, at(2026, 12, 1, 8, 59))
    assert not is_open(h, at(2026, 12, 1, 17, 0))  # the end is exclusive
    assert is_open(h, at(2026, 12, 1, 16, 59))
    # 9:00 in Berlin is 8:00 UTC in winter, 7:00 UTC in summer: the zone's clock decides.
    assert is_open(h, at(2026, 12, 1, 8, 0, "UTC")) and not is_open(h, at(2026, 12, 1, 7, 0, "UTC"))
    assert is_open(h, at(2026, 7, 7, 7, 0, "UTC"))
    assert is_open(h, at(2026, 12, 5, 23, 30)) and is_open(h, at(2026, 12, 6, 1, 59))  # Sat night
    assert not is_open(h, at(2026, 12, 6, 2, 0)) and not is_open(h, at(2026, 12, 5, 21, 59))
    assert is_open(None, 0.0) and is_open(OpeningHours(), 0.0)  # no calendar: always open


def test_holidays_close_whole_days_once_or_every_year_even_over_new_year() -> None:
    once = Holiday("Company day", date(2026, 12, 2), date(2026, 12, 2))
    christmas = Holiday("Christmas", date(2000, 12, 24), date(2000, 1, 2), yearly=True)
    h = hours(once, christmas)
    assert not is_open(h, at(2026, 12, 2, 10))
    assert is_open(h, at(2027, 12, 2, 10))  # not yearly: 2026 only
    for day in (date(2026, 12, 24), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)):
        assert not is_open(h, at(day.year, day.month, day.day, 10)), day
    assert is_open(h, at(2027, 1, 4, 10)) and is_open(h, at(2026, 12, 23, 10))
    # Holidays alone: open at all hours except on them.
    only = OpeningHours(BERLIN, (), (once,))
    assert is_open(only, at(2026, 12, 1, 3)) and not is_open(only, at(2026, 12, 2, 3))


def test_next_change_is_the_next_opening_or_closing() -> None:
    h = hours(Holiday("Company day", date(2026, 12, 2), date(2026, 12, 2)))
    assert next_change(h, at(2026, 12, 1, 12)) == at(2026, 12, 1, 17)
    # Closed Tuesday evening; Wednesday is a holiday: it opens again on Thursday at 9:00.
    assert next_change(h, at(2026, 12, 1, 18)) == at(2026, 12, 3, 9)
    assert next_change(None, 0.0) is None and next_change(OpeningHours(), 0.0) is None


# ---- closed ---------------------------------------------------------------------------------


def _closed_desk(**changes: object) -> Desk:
    support = replace(SUPPORT, hours=hours(), **changes)  # type: ignore[arg-type]
    desk = Desk(services=[support, SALES])
    desk.now = at(2026, 12, 1, 20)  # Tuesday evening: closed
    return desk


def test_a_closed_service_plays_its_closed_message_and_records_the_call_without_a_ticket() -> None:
    desk = _closed_desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    assert desk.phone.of_type(PlayThenHangUp) == [PlayThenHangUp(call, cust, "closed.1")]
    assert desk.phone.of_type(RingAgent) == [] and desk.phone.of_type(StartQueueMusic) == []
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.agent_id, ended.ended_by) == (CallOutcome.CLOSED, None, "system")
    assert [r.detail for r in desk.of(CallRouted)] == ["Customer Support closed"]
    assert desk.of(TicketOpened) == [] and desk.engine.calls() == []
    desk.now = at(2026, 12, 2, 10)  # open again: queued and offered as ever
    call2, _ = desk.arrive()
    assert desk.offered(ALICE) == call2


def test_a_closed_service_may_forward_its_calls() -> None:
    desk = _closed_desk(closed_action=ClosedAction.FORWARD, closed_number="+4930123")
    _call, cust = desk.arrive()
    forward = desk.phone.last(Originate)
    assert forward.number == "+4930123" and forward.calling_number == "5550100"
    # Its own outcome, so the reports count it with the closed hours, not the menus.
    assert desk.of(CallEnded)[-1].outcome is CallOutcome.CLOSED_FORWARDED
    desk.tel(desk.phone.answered(forward.leg_id))  # the relay is joined when it answers
    assert desk.phone.actions[-1].leg_a == cust  # type: ignore[union-attr]


# ---- menus ----------------------------------------------------------------------------------

MAIN = MenuConfig(
    id=1,
    name="Main",
    choices=(
        ("1", MenuChoice(MenuAction.QUEUE, 1)),
        ("2", MenuChoice(MenuAction.QUEUE, 2)),
        ("3", MenuChoice(MenuAction.MENU, 2)),
        ("9", MenuChoice(MenuAction.REPEAT)),
        ("0", MenuChoice(MenuAction.HANG_UP)),
        ("*", MenuChoice(MenuAction.FORWARD, number="+4930999")),
    ),
    timeout_seconds=5.0,
    max_tries=3,
    fallback=MenuChoice(MenuAction.QUEUE, 1),
)
BILLING = MenuConfig(id=2, name="Billing", choices=(("1", MenuChoice(MenuAction.QUEUE, 2)),))


def _menu_desk(**support: object) -> Desk:
    entry = replace(SUPPORT, menu_id=1, **support)  # type: ignore[arg-type]
    # Alice works in Support, Bob in Sales.
    agents = [AGENTS[0], replace(AGENTS[1], services=frozenset({2}))]
    return Desk(services=[entry, SALES], menus=[MAIN, BILLING], agents=agents)


def _prompts(desk: Desk, leg: str) -> list[PlayPrompt]:
    return [p for p in desk.phone.of_type(PlayPrompt) if p.leg_id == leg]


def test_a_menu_answers_plays_its_prompt_and_a_key_leads_to_another_service_queue() -> None:
    desk = _menu_desk()
    desk.ready(ALICE)  # Support's agent: Sales has nobody
    call, cust = desk.arrive()
    first = _prompts(desk, cust)
    assert first == [PlayPrompt(call, cust, (Sound("menu.1"),), AfterPrompt.SILENCE, answer=True)]
    assert desk.offered(ALICE) is None and desk.of(CallQueued) == []
    assert desk.engine.call(call).state == "in_menu"
    desk.now += 3
    desk.key(cust, "2")
    queued = desk.of(CallQueued)[-1]
    assert (queued.call_id, queued.service_id, queued.position) == (call, 2, 1)
    assert desk.offered(ALICE) is None  # Sales' queue, not Support's
    assert desk.engine.call(call).service_id == 2
    desk.key(cust, "1")  # keys in the queue change nothing
    assert desk.engine.call(call).service_id == 2
    steps = [r.detail for r in desk.of(CallRouted)]
    assert steps == ["Menu Main", "Pressed 2: Sales"]


def test_the_path_through_the_menus_reaches_the_ticket() -> None:
    desk = _menu_desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.key(cust, "3")  # Billing
    assert _prompts(desk, cust)[-1].prompt == (Sound("menu.2"),)
    desk.key(cust, "7")  # no such choice: "invalid", then Billing again
    assert _prompts(desk, cust)[-1].prompt == (Sound("menu_invalid"), Sound("menu.2"))
    desk.key(cust, "1")  # Sales, where Bob works
    desk.ready(BOB)
    assert desk.offered(BOB) == call
    desk.connect(BOB, call)
    opened = desk.of(TicketOpened)[-1]
    assert [step for _, step in opened.path] == [
        "Menu Main",
        "Pressed 3: menu Billing",
        "Menu Billing",
        "Pressed 7: not a choice",
        "Pressed 1: Sales",
    ]


def test_no_key_replays_the_prompt_after_the_timeout_then_the_fallback_applies() -> None:
    desk = _menu_desk()
    desk.ready(ALICE)
    call, cust = desk.arrive()
    desk.tick(60)  # the prompt is still playing: no timeout counts yet
    assert len(_prompts(desk, cust)) == 1
    for played in (2, 3):
        desk.tel(desk.phone.playback_finished(cust))
        desk.tick(4.9)
        assert len(_prompts(desk, cust)) == played - 1
        desk.tick(0.2)
        assert len(_prompts(desk, cust)) == played
    desk.tel(desk.phone.playback_finished(cust))
    desk.tick(5.1)  # the third try: the fallback, Support's queue, and Alice is offered
    assert desk.offered(ALICE) == call
    assert [r.detail for r in desk.of(CallRouted)][-2:] == [
        "No key pressed",
        "Customer Support (no valid choice)",
    ]


def test_a_key_during_the_prompt_is_taken_at_once_and_repeat_hang_up_forward_work() -> None:
    desk = _menu_desk()
    call, cust = desk.arrive()
    desk.key(cust, "9")
    assert len(_prompts(desk, cust)) == 2  # repeat: the prompt again, no try spent
    assert desk.engine.call(call).state == "in_menu"
    desk.key(cust, "0")
    assert desk.phone.last(PlayThenHangUp) == PlayThenHangUp(call, cust, "goodbye")
    assert desk.of(CallEnded)[-1].outcome is CallOutcome.MENU_ENDED
    _call2, cust2 = desk.arrive()
    desk.key(cust2, "*")
    assert desk.phone.last(Originate).number == "+4930999"
    assert desk.of(CallEnded)[-1].outcome is CallOutcome.FORWARDED


def test_a_caller_who_hangs_up_in_the_menu_is_abandoned_and_its_timer_gone() -> None:
    desk = _menu_desk()
    _call, cust = desk.arrive()
    desk.tel(desk.phone.hung_up(cust))
    assert desk.of(CallEnded)[-1].outcome is CallOutcome.ABANDONED
    assert desk.engine.calls() == []
    desk.tick(400)  # nothing left to fire
    assert desk.engine.next_deadline() is None


def test_a_menu_choice_into_a_closed_service_gets_that_service_closed_message() -> None:
    desk = _menu_desk()
    desk.service(replace(SALES, hours=hours()))
    desk.now = at(2026, 12, 1, 20)
    call, cust = desk.arrive()
    desk.key(cust, "2")
    assert desk.phone.last(PlayThenHangUp) == PlayThenHangUp(call, cust, "closed.2")
    assert desk.of(CallEnded)[-1].outcome is CallOutcome.CLOSED


def test_a_closed_entry_service_skips_its_menu() -> None:
    desk = _menu_desk(hours=hours())
    desk.now = at(2026, 12, 1, 20)
    _call, cust = desk.arrive()
    assert _prompts(desk, cust) == []
    assert desk.phone.last(PlayThenHangUp).sound == "closed.1"


# ---- announcements --------------------------------------------------------------------------


def test_position_and_expected_wait_at_join_and_every_interval() -> None:
    support = replace(SUPPORT, announce_position=True, announce_every_seconds=30.0)
    desk = Desk(services=[support])
    desk.ready(ALICE)
    # Two answered calls of 60 and 120 s: 90 s on average.
    for talk in (60, 120):
        call, cust = desk.arrive()
        desk.connect(ALICE, call)
        desk.now += talk
        desk.tel(desk.phone.hung_up(cust))
        desk.do(SetStatus(ALICE, AgentStatus.READY))
    desk.do(SetStatus(ALICE, AgentStatus.REST))
    first, cust1 = desk.arrive()
    assert _prompts(desk, cust1)[-1].prompt == (Say("You are next in the queue."),)
    _, cust2 = desk.arrive()
    second = _prompts(desk, cust2)[-1]
    # One staffed agent? Alice is in Rest: nobody, counted as one; position 2: 2 x 90 s.
    assert second.prompt == (Say(position_text(2, 180.0)),) and second.after is AfterPrompt.MUSIC
    assert "about 3 minutes" in second.prompt[0].text  # type: ignore[union-attr]
    desk.tick(29)
    assert len(_prompts(desk, cust2)) == 1
    desk.tick(1.5)
    assert len(_prompts(desk, cust2)) == 2
    # The first caller hangs up: the second is next now.
    desk.tel(desk.phone.hung_up(cust1))
    desk.tick(30)
    assert _prompts(desk, cust2)[-1].prompt == (Say("You are next in the queue."),)
    assert first


def test_the_periodic_message_and_no_announcements_by_default() -> None:
    quiet = Desk()
    _, cust = quiet.arrive()
    quiet.tick(600)
    assert quiet.phone.of_type(PlayPrompt) == [] and quiet.engine.next_deadline() is None
    support = replace(SUPPORT, announce_message=True, announce_every_seconds=45.0)
    desk = Desk(services=[support])
    _, cust = desk.arrive()
    assert _prompts(desk, cust) == []  # the message comes at the interval, not at join
    desk.tick(45.1)
    assert _prompts(desk, cust)[-1].prompt == (Sound("queue_message.1"),)


def test_wait_words() -> None:
    assert wait_words(20) == "less than a minute"
    assert wait_words(80) == "about 1 minute"
    assert wait_words(130) == "about 2 minutes"
    assert wait_words(22 * 60) == "about 20 minutes"
    assert wait_words(65 * 60) == "about an hour"
    assert wait_words(3 * 3600) == "more than 3 hours"
    assert position_text(4, None) == "You are number 4 in the queue."


# ---- voicemail ------------------------------------------------------------------------------


def test_closed_with_voicemail_records_a_message_that_becomes_a_ticket() -> None:
    desk = _closed_desk(closed_action=ClosedAction.VOICEMAIL, voicemail_max_seconds=60.0)
    call, cust = desk.arrive()
    record = desk.phone.last(RecordVoicemail)
    assert record == RecordVoicemail(call, cust, (Sound("voicemail.1"),), 60.0)
    desk.now += 20
    desk.tel(VoicemailRecorded(cust, f"voicemail/{call}.wav", 14.5))
    left = desk.of(VoicemailLeft)[-1]
    assert (left.call_id, left.service_id, left.customer_number) == (call, 1, "5551234")
    assert (left.path, left.seconds) == (f"voicemail/{call}.wav", 14.5)
    assert [step for _, step in left.path_steps] == [
        "Customer Support closed",
        "Voicemail of Customer Support",
    ]
    desk.tel(desk.phone.hung_up(cust))
    ended = desk.of(CallEnded)[-1]
    assert (ended.outcome, ended.ended_by) == (CallOutcome.VOICEMAIL, "customer")
    assert desk.engine.calls() == []


def test_a_hang_up_at_the_beep_leaves_no_voicemail_ticket() -> None:
    desk = _closed_desk(closed_action=ClosedAction.VOICEMAIL)
    call, cust = desk.arrive()
    desk.tel(VoicemailRecorded(cust, f"voicemail/{call}.wav", 0.4))
    desk.tel(desk.phone.hung_up(cust))
    assert desk.of(VoicemailLeft) == []
    assert desk.of(CallEnded)[-1].outcome is CallOutcome.ABANDONED


def test_a_menu_choice_leads_to_a_service_voicemail() -> None:
    menu = replace(MAIN, choices=(*MAIN.choices, ("8", MenuChoice(MenuAction.VOICEMAIL, 2))))
    entry = replace(SUPPORT, menu_id=1)
    desk = Desk(services=[entry, SALES], menus=[menu, BILLING])
    call, cust = desk.arrive()
    desk.key(cust, "8")
    assert desk.phone.last(RecordVoicemail).greeting == (Sound("voicemail.2"),)
    desk.key(cust, "1")  # keys while recording change nothing (# ends it in the switch)
    assert desk.engine.call(call).state == "voicemail"
    desk.tel(VoicemailRecorded(cust, "voicemail/x.wav", 5.0))
    assert desk.of(VoicemailLeft)[-1].service_id == 2
    assert [r.detail for r in desk.of(CallRouted)][-2:] == [
        "Pressed 8: voicemail of Sales",
        "Voicemail of Sales",
    ]


def test_an_admins_position_template_is_used_at_every_position_and_without_a_wait() -> None:
    german = "Sie sind Nummer {position}. Die Wartezeit ist {wait}."
    assert position_text(1, 90.0, german) == "Sie sind Nummer 1. Die Wartezeit ist about 2 minutes."
    assert position_text(4, None, german) == "Sie sind Nummer 4."  # no {wait} sentence yet
    only_wait = "Bitte warten, etwa {wait}. Platz {position}!"
    assert position_text(2, None, only_wait) == "Platz 2!"
    # An unusable template (an admin's typo reached the engine) falls back to the built-in one.
    assert position_text(3, None, "Nummer {platz}") == "You are number 3 in the queue."
    assert template_problem(german) is None
    assert template_problem("Bitte warten.") is not None


def test_the_services_position_template_reaches_the_announcement() -> None:
    template = "Platz {position}. Etwa {wait}."
    desk = Desk(services=[replace(SUPPORT, announce_position=True, position_template=template)])
    _, cust1 = desk.arrive()
    assert _prompts(desk, cust1)[-1].prompt == (Say("Platz 1."),)  # no handle times yet
    _, cust2 = desk.arrive()
    assert _prompts(desk, cust2)[-1].prompt == (Say("Platz 2."),)
