"""The dial plan (core/dialplan.py): normalisation, the plan's decisions, and the engine using
them for Dial up and for consultations to outside numbers; one live outbound call per agent."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringdesk.core.commands import ConnectToCustomer, CtiLogin, Dial, EndCall, StartConsultation
from ringdesk.core.dialplan import (
    DEFAULT_PLAN,
    DestinationInvalid,
    DestinationNotAllowed,
    DialPlan,
    decide,
    normalise,
    pattern,
)
from ringdesk.core.errors import CoreError
from ringdesk.core.events import CallDialed
from ringdesk.core.telephony import Originate, RingAgent

from .harness import AGENTS, ALICE, BOB, SUPPORT, Desk

GERMANY = DialPlan(country_code="49")
NANP = DialPlan(country_code="1", national_prefix="1", international_prefixes=("011",))

# ---- normalisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "plan", "number", "international"),
    [
        ("5555678", DEFAULT_PLAN, "5555678", False),  # the demo's numbers, as they are
        (" 555-5678 ", DEFAULT_PLAN, "5555678", False),
        ("(030) 123.45/67", DEFAULT_PLAN, "0301234567", False),  # no country: kept as dialled
        ("(030) 123.45/67", GERMANY, "+49301234567", False),  # trunk prefix -> E.164
        ("+49 30 1234567", GERMANY, "+49301234567", False),  # own country with +
        ("0049 30 1234567", GERMANY, "+49301234567", False),
        ("0049 30 1234567", DEFAULT_PLAN, "+49301234567", True),
        ("011 44 20 7946 0000", DEFAULT_PLAN, "+442079460000", True),
        ("+44 20 7946 0000", GERMANY, "+442079460000", True),
        ("1 (212) 555-0100", NANP, "+12125550100", False),
        ("011 49 30 1234", NANP, "+49301234", True),
        ("5551234#", DEFAULT_PLAN, "5551234#", False),
        ("555\u00a01234", DEFAULT_PLAN, "5551234", False),  # a no-break space pasted in
    ],
)
def test_what_an_agent_types_becomes_one_form(
    typed: str, plan: DialPlan, number: str, international: bool
) -> None:
    dest = normalise(typed, plan)
    assert (dest.number, dest.international) == (number, international)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("555-CALL-NOW", "“C” cannot be dialled"),
        ("5551234;user=phone", "“;” cannot be dialled"),
        ("555@evil", "“@” cannot be dialled"),
        ("5551234\r\nX-Evil: 1", "U+000D"),
        ("49+30", "A + can only start"),
        ("++49", "A + can only start"),
        ("", "Enter a phone number"),
        ("+", "Enter a phone number"),
        (" - ", "Enter a phone number"),
        ("7", "at least two digits"),
        ("00", "needs its country code"),
        ("1" * 40, "at most 32"),
        ("٥٥٥١٢٣٤", "cannot be dialled"),  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_anything_but_a_phone_number_is_refused_with_the_reason(typed: str, says: str) -> None:
    with pytest.raises(DestinationInvalid, match=re.escape(says)) as err:
        decide(typed)
    assert err.value.code == "destination_invalid"


_TYPED = st.text(alphabet=st.sampled_from("0123456789+*# -.()/ab@;%"), max_size=40)
_PLANS = st.sampled_from([DEFAULT_PLAN, GERMANY, NANP])


@given(_TYPED, _PLANS)
def test_every_typed_text_is_refused_or_becomes_a_plain_number(typed: str, plan: DialPlan) -> None:
    try:
        dest = normalise(typed, plan)
    except DestinationInvalid as exc:
        assert exc.message  # a sentence for the widget
        return
    body = dest.number.removeprefix("+")
    assert body and set(body) <= set("0123456789*#")
    assert len(body) >= 2 and len(dest.number) <= 32
    # Normalising again changes nothing, and the separators never matter.
    assert normalise(dest.number, plan) == dest
    assert normalise(" ".join(typed), plan).number == dest.number


# ---- the plan's decisions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "plan", "why"),
    [
        ("+1 900 555 0100", DEFAULT_PLAN, "premium-rate number (+1900)"),
        ("1-900-555-0100", DEFAULT_PLAN, "premium-rate number (1900)"),
        ("1-900-555-0100", NANP, "premium-rate number (+1900)"),
        ("0900 123456", DEFAULT_PLAN, "premium-rate number (0900)"),
        ("0900 123456", GERMANY, "premium-rate number (+49900)"),  # its E.164 form too
        ("+49 900 123456", GERMANY, "premium-rate number (+49900)"),
        ("0137 1234567", GERMANY, "premium-rate number (+49137)"),
        ("+44 909 8790000", replace(DEFAULT_PLAN, allow_international=True), "premium-rate"),
        ("0049 30 1234", DEFAULT_PLAN, "international number"),
        ("011 49 30 1234", DEFAULT_PLAN, "international number"),
        ("+900 1234", DEFAULT_PLAN, "international number"),
        ("*31#5551234", DEFAULT_PLAN, "service code"),
        ("#21#", DEFAULT_PLAN, "service code"),
    ],
)
def test_premium_international_and_service_codes_are_refused_by_default(
    typed: str, plan: DialPlan, why: str
) -> None:
    with pytest.raises(DestinationNotAllowed, match=re.escape(why)) as err:
        decide(typed, plan)
    assert err.value.code == "destination_not_allowed"


def test_national_numbers_are_allowed_by_default() -> None:
    assert decide("5551234").number == "5551234"
    assert decide("030 1234567", GERMANY).number == "+49301234567"
    assert decide("+49 30 1234567", GERMANY).number == "+49301234567"
    assert decide("112").number == "112"


def test_an_admin_allows_international_numbers_but_premium_ones_stay_refused() -> None:
    plan = replace(GERMANY, allow_international=True)
    assert decide("0044 20 7946 0000", plan).number == "+442079460000"
    with pytest.raises(DestinationNotAllowed, match="premium"):
        decide("+1 900 555 0100", plan)
    allowed = replace(plan, allow_premium=True)
    assert decide("+1 900 555 0100", allowed).number == "+19005550100"


def test_allowed_patterns_open_a_range_and_blocked_patterns_close_one() -> None:
    plan = replace(GERMANY, allowed_patterns=("0033 1", "0900 5X1"), blocked_patterns=("030 9",))
    assert decide("+33 1 23 45 67 89", plan).number == "+33123456789"  # Paris only
    with pytest.raises(DestinationNotAllowed, match="international"):
        decide("+33 4 23 45 67 89", plan)
    assert decide("0900 591 000", plan).number == "+49900591000"  # X: any one digit
    with pytest.raises(DestinationNotAllowed, match="premium"):
        decide("0900 601 000", plan)
    with pytest.raises(DestinationNotAllowed, match="blocked by this service's dial plan"):
        decide("030 912345", plan)
    # A blocked pattern wins over an allowed one.
    both = replace(plan, allowed_patterns=("+4930",), blocked_patterns=("+4930 9",))
    assert decide("030 812345", both).number == "+4930812345"
    with pytest.raises(DestinationNotAllowed, match="blocked"):
        decide("030 912345", both)


def test_an_allowed_pattern_can_open_one_service_code() -> None:
    plan = replace(DEFAULT_PLAN, allowed_patterns=("*31#",))
    assert decide("*31#5551234", plan).number == "*31#5551234"
    with pytest.raises(DestinationNotAllowed, match="service code"):
        decide("*21#5551234", plan)


@pytest.mark.parametrize(
    ("written", "stored"),
    [("+49 900", "+49900"), ("0900-x", "0900X"), ("1 (900)", "1900"), ("*31#", "*31#")],
)
def test_patterns_are_stored_cleaned(written: str, stored: str) -> None:
    assert pattern(written) == stored


@pytest.mark.parametrize("written", ["", "+", "09a0", "0+9", "^0900.*", "1" * 33])
def test_a_bad_pattern_is_refused(written: str) -> None:
    with pytest.raises(DestinationInvalid):
        pattern(written)


@given(st.text(alphabet="0123456789", min_size=2, max_size=14))
def test_no_premium_number_gets_through_the_default_plan(rest: str) -> None:
    for prefix in ("+1900", "+49900", "+449", "0900", "1900"):
        with pytest.raises(DestinationNotAllowed):
            decide(prefix + rest)
        with pytest.raises(DestinationNotAllowed):
            decide(prefix + rest, GERMANY)


# ---- the engine ---------------------------------------------------------------------------


def _logged_in(desk: Desk) -> None:
    desk.reachable(ALICE)
    desk.do(CtiLogin(ALICE))


def test_dial_sends_the_normalised_number_and_records_it() -> None:
    desk = Desk(services=[replace(SUPPORT, dial_plan=GERMANY)])
    _logged_in(desk)
    desk.do(Dial(ALICE, 1, "(030) 123 45-67", "5550199"))
    dialed = desk.of(CallDialed)[-1]
    assert dialed.number == "+49301234567"
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    assert desk.phone.last(Originate).number == "+49301234567"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("+1 900 555 0100", "destination_not_allowed"),
        ("0049 30 1234", "destination_not_allowed"),
        ("555-CALL", "destination_invalid"),
    ],
)
def test_a_refused_number_changes_nothing(typed: str, code: str) -> None:
    desk = Desk()
    _logged_in(desk)
    before = desk.status(ALICE)
    with pytest.raises(CoreError) as err:
        desk.do(Dial(ALICE, 1, typed, "5550199"))
    assert err.value.code == code
    assert desk.status(ALICE) == before
    assert desk.phone.of_type(RingAgent) == [] and desk.of(CallDialed) == []


def test_each_service_has_its_own_plan() -> None:
    sales = replace(
        SUPPORT, id=2, name="Sales", dial_plan=replace(GERMANY, allow_international=True)
    )
    alice = replace(AGENTS[0], services=frozenset({1, 2}))
    desk = Desk(services=[SUPPORT, sales], agents=[alice, *AGENTS[1:]])
    _logged_in(desk)
    with pytest.raises(CoreError, match="international"):
        desk.do(Dial(ALICE, 1, "0044 20 7946 0000", "5550199"))
    desk.do(Dial(ALICE, 2, "0044 20 7946 0000", "5550199"))
    assert desk.of(CallDialed)[-1].number == "+442079460000"


def test_a_second_dial_while_one_is_live_is_refused_with_its_code() -> None:
    desk = Desk()
    _logged_in(desk)
    desk.do(Dial(ALICE, 1, "5551234", "5550199"))
    call = desk.of(CallDialed)[-1].call_id
    with pytest.raises(CoreError) as err:
        desk.do(Dial(ALICE, 1, "5555678", "5550199"))
    assert err.value.code == "outbound_call_in_progress"
    assert len(desk.phone.of_type(RingAgent)) == 1
    desk.do(EndCall(ALICE, call))
    desk.do(Dial(ALICE, 1, "5555678", "5550199"))  # once it ended, the next one goes
    assert len(desk.of(CallDialed)) == 2


def test_a_call_transferred_out_still_counts_as_the_agents_live_outbound_call() -> None:
    desk = Desk()
    _logged_in(desk)
    desk.do(Dial(ALICE, 1, "5551234", "5550199"))
    call = desk.of(CallDialed)[-1].call_id
    desk.tel(desk.phone.answered(desk.phone.last(RingAgent).leg_id))
    customer = desk.phone.last(Originate).leg_id
    desk.tel(desk.phone.answered(customer))
    desk.do(StartConsultation(ALICE, call, number="5557777"))
    outside = desk.phone.last(Originate).leg_id
    desk.tel(desk.phone.answered(outside))
    desk.do(ConnectToCustomer(ALICE, call))  # the two trunk legs stay bridged, Alice is free
    with pytest.raises(CoreError) as err:
        desk.do(Dial(ALICE, 1, "5555678", "5550199"))
    assert err.value.code == "outbound_call_in_progress"
    desk.tel(desk.phone.hung_up(outside))  # the bridged call ends: Alice may dial again
    desk.do(Dial(ALICE, 1, "5555678", "5550199"))
    assert len(desk.of(CallDialed)) == 2


def test_a_consultation_to_an_outside_number_follows_the_plan() -> None:
    desk = Desk(services=[replace(SUPPORT, dial_plan=GERMANY)])
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.connect(ALICE, call)
    with pytest.raises(CoreError) as err:
        desk.do(StartConsultation(ALICE, call, number="0900 123456"))
    assert err.value.code == "destination_not_allowed"
    assert desk.phone.of_type(Originate) == []
    assert desk.status(ALICE) == "on_call"
    desk.do(StartConsultation(ALICE, call, number="030 777 77"))
    assert desk.phone.last(Originate).number == "+493077777"
    assert desk.engine.call(call).consult_number == "+493077777"


def test_a_cti_number_typed_with_spaces_rings_that_agent_not_the_trunk() -> None:
    desk = Desk(services=[replace(SUPPORT, dial_plan=GERMANY)])
    desk.ready(ALICE)
    call, _ = desk.arrive()
    desk.connect(ALICE, call)
    desk.ready(BOB)
    desk.do(StartConsultation(ALICE, call, number="10 02"))
    assert desk.phone.last(RingAgent).agent_id == BOB
    assert desk.phone.of_type(Originate) == []
