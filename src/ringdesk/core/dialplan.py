"""The dial plan of a service: which numbers an agent may call through the trunk.

Pure: a number as an agent typed it and the service's `DialPlan` in, the number to send (one
normalised form) or a refusal out. The defaults live here, once: national numbers are allowed,
international numbers, premium-rate prefixes and service codes are refused until an admin allows
them.

Normalisation (what the agent types -> what the trunk gets):
- visual separators are dropped: spaces, ``-``, ``.``, ``(``, ``)``, ``/``;
- a leading ``+`` or an international prefix (``00``, ``011`` by default) makes the number
  international: ``+`` and the digits (E.164);
- with a known country (its calling code), the national trunk prefix (``0``) is replaced by
  ``+`` and the country code, so ``030 1234567`` becomes ``+49301234567``, and a ``+`` number
  of the own country counts as national;
- anything else (a local number without the trunk prefix, any number when the country is not
  set) is kept as its digits, ``*`` and ``#``;
- any other character is refused (`DestinationInvalid`), naming it.

Patterns (allowed, blocked, premium prefixes) are written like numbers, with ``X`` for any one
digit, and normalised with the same plan, so ``0900`` in a plan for Germany means ``+49900``.
A pattern matches every number that starts with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .errors import CoreError, InvalidInput

# Premium-rate and mass-call prefixes refused unless the admin allows premium numbers. Small on
# purpose (each entry is one an admin can read and judge): the E.164 ranges the brief names and
# their neighbours in the same countries, plus the national spellings most plans share (0900 is
# premium in DE, AT, CH, NL and BE; 1900/1976 in the NANP dialled with its trunk prefix 1).
# International numbers are refused as a whole by default, which covers every other country.
DEFAULT_PREMIUM_PREFIXES: tuple[str, ...] = (
    "+1900",  # NANP premium (pay-per-call)
    "+1976",  # NANP legacy premium
    "+449",  # UK 09: premium rate
    "+4487",  # UK 087: revenue sharing
    "+49900",  # DE premium rate
    "+49137",  # DE mass-call (televoting)
    "+4319",  # AT 0900-0939 are premium, 09x is the service range
    "+41900",  # CH premium rate
    "+3190",  # NL 090x: premium rate
    "0900",  # the national spelling in DE, AT, CH, NL, BE
    "1900",  # NANP with the trunk prefix
    "1976",
)
DEFAULT_INTERNATIONAL_PREFIXES: tuple[str, ...] = ("00", "011")  # ITU's and the NANP's
DEFAULT_NATIONAL_PREFIX = "0"

SEPARATORS = frozenset(" -.()/\t\u00a0")
MAX_DIGITS = 32  # after normalisation; E.164 allows 15, the rest is room for # and * suffixes
MAX_PATTERNS = 50  # per list


@dataclass(frozen=True, slots=True)
class DialPlan:
    """A service's dial plan. `country_code` None: the country is not set, numbers without a
    ``+`` or international prefix are sent as dialled (and count as national)."""

    country_code: str | None = None  # the calling code, "49" for Germany, "1" for the NANP
    national_prefix: str = DEFAULT_NATIONAL_PREFIX  # the trunk prefix ("0"; "1" in the NANP)
    international_prefixes: tuple[str, ...] = DEFAULT_INTERNATIONAL_PREFIXES
    allow_international: bool = False
    allow_premium: bool = False
    premium_prefixes: tuple[str, ...] = DEFAULT_PREMIUM_PREFIXES
    allowed_patterns: tuple[str, ...] = ()  # allowed even if international, premium or a code
    blocked_patterns: tuple[str, ...] = ()  # refused whatever else says (wins over allowed)


DEFAULT_PLAN = DialPlan()


class DestinationInvalid(InvalidInput):
    """What was typed is not a phone number."""

    code = "destination_invalid"


class DestinationNotAllowed(CoreError):
    """A phone number the service's dial plan refuses."""

    code = "destination_not_allowed"


@dataclass(frozen=True, slots=True)
class Destination:
    number: str  # what goes to the trunk: E.164 ("+4930...") or digits, * and #
    international: bool  # outside the plan's country (any "+" number when it is not set)


def _clean(text: str, *, wildcard: bool) -> str:
    """The text without separators; DestinationInvalid for any other character not allowed."""
    kept: list[str] = []
    for ch in text.strip():
        if ch in SEPARATORS:
            continue
        if (ch.isascii() and (ch.isdigit() or ch in "*#")) or (ch == "+" and not kept):
            kept.append(ch)
        elif wildcard and ch in "Xx":
            kept.append("X")
        elif ch == "+":
            raise DestinationInvalid("A + can only start a phone number.")
        else:
            shown = ch if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"
            if wildcard:
                raise DestinationInvalid(
                    f"“{shown}” cannot be in a pattern: use digits, a leading +, *, # and X."
                )
            raise DestinationInvalid(
                f"“{shown}” cannot be dialled: use digits, a leading +, * and #."
            )
    return "".join(kept)


def _normalise(text: str, plan: DialPlan, *, wildcard: bool) -> Destination:
    digits = _clean(text, wildcard=wildcard)
    if not digits or digits == "+":
        raise DestinationInvalid("Enter a phone number.")
    intl: str | None = None
    if digits.startswith("+"):
        intl = digits[1:]
    else:
        # The longest international prefix first: "011" before "0" could be the trunk prefix.
        for prefix in sorted(plan.international_prefixes, key=len, reverse=True):
            if prefix and digits.startswith(prefix):
                intl = digits[len(prefix) :]
                break
    cc = plan.country_code
    if intl is not None:
        if not intl or not (intl[0].isdigit() or intl[0] == "X"):
            raise DestinationInvalid("An international number needs its country code.")
        number = "+" + intl
        own = cc is not None and intl.startswith(cc)
        return Destination(number, international=not own)
    if cc is not None and plan.national_prefix and digits.startswith(plan.national_prefix):
        rest = digits[len(plan.national_prefix) :]
        if rest and (rest[0].isdigit() or rest[0] == "X"):
            return Destination("+" + cc + rest, international=False)
    return Destination(digits, international=False)


def normalise(text: str, plan: DialPlan = DEFAULT_PLAN) -> Destination:
    """The one form of a number typed by an agent; DestinationInvalid when it is not one."""
    dest = _normalise(text, plan, wildcard=False)
    if len(dest.number.lstrip("+")) < 2:
        raise DestinationInvalid("A phone number has at least two digits.")
    if len(dest.number) > MAX_DIGITS:
        raise DestinationInvalid(f"A phone number has at most {MAX_DIGITS} digits.")
    return dest


def pattern(text: str) -> str:
    """A pattern as stored: separators dropped, ``X`` upper case; DestinationInvalid when it
    holds anything else (the web layer answers 422 for it)."""
    cleaned = _clean(text, wildcard=True)
    if not cleaned or cleaned == "+":
        raise DestinationInvalid("A pattern needs at least one digit or X.")
    if len(cleaned) > MAX_DIGITS:
        raise DestinationInvalid(f"A pattern has at most {MAX_DIGITS} characters.")
    return cleaned


@lru_cache(maxsize=1024)
def _normalised(patterns: tuple[str, ...], plan: DialPlan) -> tuple[tuple[str, str], ...]:
    """(as written, normalised) per pattern, once per plan (a plan is immutable); a stored
    pattern that does not normalise (they are checked on save) is left out: it never matches."""
    out: list[tuple[str, str]] = []
    for written in patterns:
        try:
            out.append((written, _normalise(written, plan, wildcard=True).number))
        except DestinationInvalid:
            continue
    return tuple(out)


def _matches(number: str, patterns: tuple[str, ...], plan: DialPlan) -> str | None:
    """The first pattern (as written) that `number` starts with, X matching any one digit."""
    for written, want in _normalised(patterns, plan):
        if "X" not in want:
            if number.startswith(want):
                return written
        elif len(number) >= len(want) and all(
            w == n or (w == "X" and n.isdigit()) for w, n in zip(want, number, strict=False)
        ):
            return written
    return None


def decide(text: str, plan: DialPlan = DEFAULT_PLAN) -> Destination:
    """The destination to send to the trunk, or DestinationInvalid / DestinationNotAllowed with
    the sentence the widget shows. Order: blocked patterns, allowed patterns, then the rules
    (service codes, premium prefixes, international)."""
    dest = normalise(text, plan)
    number = dest.number
    if _matches(number, plan.blocked_patterns, plan) is not None:
        raise DestinationNotAllowed(f"{number} is blocked by this service's dial plan.")
    if _matches(number, plan.allowed_patterns, plan) is not None:
        return dest
    if number[0] in "*#":
        raise DestinationNotAllowed(
            f"{number} is a service code; this service's dial plan does not allow them."
        )
    if not plan.allow_premium:
        hit = _matches(number, plan.premium_prefixes, plan)
        if hit is not None:
            raise DestinationNotAllowed(
                f"{number} is a premium-rate number ({hit}); this service's dial plan does "
                "not allow them."
            )
    if dest.international and not plan.allow_international:
        raise DestinationNotAllowed(
            f"{number} is an international number; this service's dial plan allows "
            "national numbers only."
        )
    return dest
