"""IVR menus: the caller hears a menu's prompt and keys a choice.

A key pressed while the prompt plays is taken at once (the next prompt or the queue music
replaces it). The timeout starts when the prompt has been played. A key with no choice plays
"menu_invalid" and the prompt again; nothing keyed in time plays the prompt again; after
`max_tries` of either the menu's fallback choice applies. Every menu heard and every choice is
a step of the caller's path (CallRouted), which the ticket's timeline shows.
"""

from __future__ import annotations

from typing import assert_never

from . import arrival, endings, voicemail
from .deadlines import TimerKind
from .events import CallRouted
from .model import CallOutcome, CallState, MenuAction, MenuChoice, MenuConfig
from .prompts import Prompt, Sound, per
from .records import CallRecord
from .snapshots import Outcome
from .state import EngineState
from .telephony import AfterPrompt, PlayPrompt

# A prompt that never reports its end (the switch lost it) must not keep the caller forever.
PROMPT_LIMIT = 300.0

_ACTION_WORDS = {
    MenuAction.REPEAT: "menu again",
    MenuAction.HANG_UP: "hang up",
}


def enter(s: EngineState, call: CallRecord, menu_id: int, now: float, out: Outcome) -> None:
    menu = s.menus[menu_id]
    call.state = CallState.IN_MENU
    call.menu_id = menu.id
    call.menu_tries = 0
    step(s, call, f"Menu {menu.name}", now, out)
    _prompt(s, call, menu, (Sound(per("menu", menu.id)),), now, out)


def digit(s: EngineState, call: CallRecord, key: str, now: float, out: Outcome) -> None:
    menu = _menu(s, call)
    if menu is None:
        return
    choice = menu.choice(key)
    if choice is None:
        step(s, call, f"Pressed {key}: not a choice", now, out)
        _try_again(s, call, menu, (Sound("menu_invalid"),), now, out)
        return
    step(s, call, f"Pressed {key}: {describe(s, choice)}", now, out)
    apply(s, call, menu, choice, now, out)


def prompt_finished(s: EngineState, call: CallRecord, now: float) -> None:
    """The prompt has been played: the caller has the menu's timeout to key a choice."""
    menu = _menu(s, call)
    if menu is None:
        return
    s.timers.cancel(call.flow_timer)
    call.flow_timer = s.timers.schedule(now + menu.timeout_seconds, TimerKind.MENU, call.id)


def timed_out(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    call.flow_timer = 0
    menu = _menu(s, call)
    if menu is None:
        return
    step(s, call, "No key pressed", now, out)
    _try_again(s, call, menu, (), now, out)


def apply(
    s: EngineState, call: CallRecord, menu: MenuConfig, choice: MenuChoice, now: float, out: Outcome
) -> None:
    action = choice.action
    match action:
        case MenuAction.QUEUE:
            service = s.services.get(choice.target or 0)
            if service is None or not service.inbound_enabled:
                _end(s, call, now, out)  # a choice left pointing nowhere: goodbye
                return
            _leave(s, call)
            arrival.to_service(s, call, service, now, out)
        case MenuAction.MENU:
            if choice.target not in s.menus:
                _end(s, call, now, out)
                return
            _leave(s, call)
            enter(s, call, choice.target or 0, now, out)
        case MenuAction.FORWARD:
            if not choice.number:
                _end(s, call, now, out)
                return
            _leave(s, call)
            arrival.forward(s, call, choice.number, now, out, cause="menu")
        case MenuAction.VOICEMAIL:
            service = s.services.get(choice.target or 0)
            if service is None:
                _end(s, call, now, out)
                return
            _leave(s, call)
            voicemail.start(s, call, service, now, out)
        case MenuAction.REPEAT:
            _prompt(s, call, menu, (Sound(per("menu", menu.id)),), now, out)
        case MenuAction.HANG_UP:
            _end(s, call, now, out)
        case _:
            assert_never(action)


def describe(s: EngineState, choice: MenuChoice) -> str:
    """A choice as the timeline says it: "Support", "menu Billing", "forward to +4930..."."""
    match choice.action:
        case MenuAction.QUEUE:
            service = s.services.get(choice.target or 0)
            return service.name if service else "a service that is gone"
        case MenuAction.MENU:
            menu = s.menus.get(choice.target or 0)
            return f"menu {menu.name}" if menu else "a menu that is gone"
        case MenuAction.FORWARD:
            return f"forward to {choice.number}"
        case MenuAction.VOICEMAIL:
            service = s.services.get(choice.target or 0)
            return f"voicemail of {service.name}" if service else "a voicemail that is gone"
        case MenuAction.REPEAT | MenuAction.HANG_UP:
            return _ACTION_WORDS[choice.action]
    assert_never(choice.action)


def _menu(s: EngineState, call: CallRecord) -> MenuConfig | None:
    if call.state is not CallState.IN_MENU or call.menu_id is None:
        return None
    return s.menus.get(call.menu_id)


def _try_again(
    s: EngineState,
    call: CallRecord,
    menu: MenuConfig,
    before: Prompt,
    now: float,
    out: Outcome,
) -> None:
    call.menu_tries += 1
    if call.menu_tries >= menu.max_tries:
        what = describe(s, menu.fallback)
        step(s, call, what[:1].upper() + what[1:] + " (no valid choice)", now, out)
        apply(s, call, menu, menu.fallback, now, out)
        return
    _prompt(s, call, menu, (*before, Sound(per("menu", menu.id))), now, out)


def _prompt(
    s: EngineState, call: CallRecord, menu: MenuConfig, prompt: Prompt, now: float, out: Outcome
) -> None:
    assert call.customer_leg is not None
    s.timers.cancel(call.flow_timer)
    call.flow_timer = s.timers.schedule(now + PROMPT_LIMIT, TimerKind.MENU, call.id)
    out.actions.append(
        PlayPrompt(call.id, call.customer_leg, prompt, AfterPrompt.SILENCE, answer=True)
    )


def _leave(s: EngineState, call: CallRecord) -> None:
    s.timers.cancel(call.flow_timer)
    call.flow_timer = 0
    call.menu_id = None


def _end(s: EngineState, call: CallRecord, now: float, out: Outcome) -> None:
    _leave(s, call)
    endings.end_call(s, call, CallOutcome.MENU_ENDED, "system", now, out, customer_sound="goodbye")


def step(s: EngineState, call: CallRecord, detail: str, now: float, out: Outcome) -> None:
    """A step of the caller's way: kept on the call (the ticket gets them) and reported."""
    call.path.append((now, detail))
    out.events.append(
        CallRouted(call.id, call.service_id, call.customer_number, call.called, detail, now)
    )
