"""What a caller hears, as the engine asks for it: named prompts and spoken sentences.

A named prompt (`Sound`) is what an admin configured under that name, an uploaded WAV or typed
text, else the default; the switch resolves it. `Say` is text the engine composed (the
queue position, a number to confirm), which the switch speaks with its text-to-speech engine.
The names and default texts are here so that the store, the admin API and the engine agree.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sound:
    name: str


@dataclass(frozen=True, slots=True)
class Say:
    text: str


PromptPart = Sound | Say
Prompt = tuple[PromptPart, ...]

# The global prompts an admin can set (upload or text), with the default text each is spoken
# from. Per-object prompts are named "<name>.<id>" (a menu's "menu.3", a service's "closed.2")
# and fall back to the global one of the same name.
DEFAULT_TEXTS: dict[str, str] = {
    "closed": "Thank you for calling. We are closed now. Please call again during our opening "
    "hours. Goodbye.",
    "menu": "Please choose from the following options.",
    "menu_invalid": "Sorry, that is not a valid choice.",
    "goodbye": "Thank you for calling. Goodbye.",
    "queue_message": "Thank you for waiting. Your call is important to us. An agent will be "
    "with you as soon as possible.",
    "force_disconnect": "This call is being ended by the agent. Goodbye.",
    "overflow": "Sorry, all our agents are still busy. Please call again later. Goodbye.",
    "voicemail": "Please leave your message and your number after the tone. We will call you "
    "back. Press the hash key or hang up when you are done.",
    "voicemail_saved": "Thank you, your message has been saved. Goodbye.",
    "callback_offer": "To be called back instead of waiting, press 1. You keep your place in "
    "the queue.",
    "callback_confirm": "To confirm, press 1. To give another number, press 2. To keep "
    "waiting on the line, press star.",
    "callback_number": "Please key in the number we should call, then press the hash key.",
    "callback_invalid": "Sorry, we cannot call that number.",
    "callback_booked": "Thank you. An agent will call you back when it is your turn. You keep "
    "your place in the queue. Goodbye.",
}
# Spoken with the caller's figures in it: {position} and {wait}. An admin may type another
# (the "queue_position" prompt, per service too): text only, never an upload.
POSITION_TEMPLATE = "You are number {position} in the queue. The expected wait is {wait}."
POSITION_FIRST = "You are next in the queue."  # position 1, said without a wait
POSITION = "queue_position"
DEFAULT_TEXTS[POSITION] = POSITION_TEMPLATE
PLACEHOLDERS = frozenset({"position", "wait"})
# Prompts that are music or a tone, never speech (the sounds of the first releases).
MUSIC = frozenset({"queue_music", "hold_music"})
# Heard once by a caller whose call is recorded, as they join the queue (announce.py).
NOTICE = "recording_notice"
DEFAULT_TEXTS[NOTICE] = "This call may be recorded for quality and training purposes."
PROMPT_NAMES = tuple(DEFAULT_TEXTS)


def per(name: str, key: int) -> str:
    """The name of an object's own prompt: per("closed", 2) == "closed.2"."""
    return f"{name}.{key}"


def base_name(name: str) -> str:
    """The global prompt an object's prompt falls back to: "closed.2" -> "closed"."""
    return name.split(".", 1)[0]


def wait_words(seconds: float) -> str:
    """An estimated wait as a person says it, rounded to what a caller can use."""
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 15:
        return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"
    minutes = 5 * round(minutes / 5)
    if minutes < 60:
        return f"about {minutes} minutes"
    hours = minutes / 60
    if hours < 1.25:
        return "about an hour"
    return f"more than {int(hours)} hours" if hours >= 2 else "more than an hour"


def template_problem(template: str) -> str | None:
    """Why an admin's position template cannot be used, or None: it must say {position}, and
    may say {wait}, and nothing else in braces."""
    try:
        names = {
            field for _, field, _, _ in string.Formatter().parse(template) if field is not None
        }
    except ValueError:
        return "A brace is not closed: write {position} and {wait} exactly so."
    unknown = names - PLACEHOLDERS
    if unknown:
        return f"Only {{position}} and {{wait}} can be filled in, not {{{sorted(unknown)[0]}}}."
    if "position" not in names:
        return "The text must say the caller's place: put {position} where the number goes."
    return None


def position_text(position: int, wait_seconds: float | None, template: str = "") -> str:
    """The position announcement: "You are number 3 in the queue. The expected wait is about 2
    minutes." An admin's template (its {position} and {wait}) is used for every position;
    with no expected wait yet, its sentences that say {wait} are left out."""
    if template_problem(template or POSITION_TEMPLATE) is not None:
        template = ""
    if position <= 1 and not template:
        return POSITION_FIRST
    text = template or POSITION_TEMPLATE
    if wait_seconds is None:  # no handle times yet: the position alone
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if "{wait}" not in s]
        text = " ".join(sentences) or POSITION_TEMPLATE.split(" The", 1)[0]
        return text.format(position=position)
    return text.format(position=position, wait=wait_words(wait_seconds))


def spoken_digits(number: str) -> str:
    """A phone number read digit by digit ("+4930" -> "plus, 4, 9, 3, 0")."""
    words = ["plus" if c == "+" else c for c in number if c.isdigit() or c == "+"]
    return ", ".join(words)
