"""The dial plan over the API: the service's plan shown and edited by an admin (bad patterns are
422s naming the field), and Dial up refused with 409s and machine codes (destination_not_allowed,
outbound_call_in_progress) or placed with the normalised number."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ringdesk.core.dialplan import DEFAULT_INTERNATIONAL_PREFIXES, DEFAULT_PREMIUM_PREFIXES
from tests.api.conftest import Clients, assert_error, wait_for
from tests.api.phone import RegisteringPhone

DEFAULT_PLAN_JSON = {
    "country_code": None,
    "national_prefix": "0",
    "international_prefixes": list(DEFAULT_INTERNATIONAL_PREFIXES),
    "allow_international": False,
    "allow_premium": False,
    "premium_prefixes": list(DEFAULT_PREMIUM_PREFIXES),
    "allowed_patterns": [],
    "blocked_patterns": [],
}


def _plan(admin: httpx.Client, service_id: int = 1) -> dict[str, Any]:
    plan: dict[str, Any] = admin.get(f"/api/admin/services/{service_id}").json()["dial_plan"]
    return plan


@pytest.fixture
def restore_plan(http: Clients) -> Iterator[None]:
    admin = http("admin")
    before = _plan(admin)
    try:
        yield
    finally:
        admin.patch("/api/admin/services/1", json={"dial_plan": before})


def test_a_service_has_the_default_plan_and_an_admin_edits_it(
    http: Clients, restore_plan: None
) -> None:
    admin = http("admin")
    assert _plan(admin) == DEFAULT_PLAN_JSON
    new = admin.post("/api/admin/services", json={"name": "Dial plan check"})
    assert new.status_code == 201, new.text
    assert new.json()["dial_plan"] == DEFAULT_PLAN_JSON
    admin.delete(f"/api/admin/services/{new.json()['id']}")

    changed = admin.patch(
        "/api/admin/services/1",
        json={
            "dial_plan": {
                "country_code": "49",
                "allow_international": True,
                "allowed_patterns": ["0900 5x1"],
                "blocked_patterns": ["+49 (30) 9"],
            }
        },
    )
    assert changed.status_code == 200, changed.text
    plan = changed.json()["dial_plan"]
    # What the PATCH left out kept its value; patterns are stored cleaned.
    assert plan == dict(
        DEFAULT_PLAN_JSON,
        country_code="49",
        allow_international=True,
        allowed_patterns=["09005X1"],
        blocked_patterns=["+49309"],
    )
    assert _plan(admin) == plan
    # A shorter premium list is kept as it is; sending the built-in one back gives the built-in.
    admin.patch("/api/admin/services/1", json={"dial_plan": {"premium_prefixes": ["+1900"]}})
    assert _plan(admin)["premium_prefixes"] == ["+1900"]
    admin.patch("/api/admin/services/1", json={"dial_plan": {"premium_prefixes": []}})
    assert _plan(admin)["premium_prefixes"] == []


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"allowed_patterns": ["^0900.*"]}, "body.dial_plan.allowed_patterns.0"),
        ({"blocked_patterns": ["+49", "09a"]}, "body.dial_plan.blocked_patterns.1"),
        ({"premium_prefixes": ["0+900"]}, "body.dial_plan.premium_prefixes.0"),
        ({"country_code": "0049"}, "body.dial_plan.country_code"),
        ({"country_code": 49}, "body.dial_plan.country_code"),
        ({"national_prefix": "x"}, "body.dial_plan.national_prefix"),
        ({"international_prefixes": ["+"]}, "body.dial_plan.international_prefixes.0"),
        ({"allowed_patterns": ["1"] * 51}, "body.dial_plan.allowed_patterns"),
        ({"allow_premium": "yes"}, "body.dial_plan.allow_premium"),
        ({"premium": True}, "body.dial_plan.premium"),
    ],
)
def test_a_bad_plan_is_a_422_naming_the_field(
    http: Clients, plan: dict[str, Any], field: str
) -> None:
    admin = http("admin")
    before = _plan(admin)
    error = assert_error(
        admin.patch("/api/admin/services/1", json={"dial_plan": plan}), 422, "invalid_input"
    )
    assert field in [f["field"] for f in error["fields"]], error
    assert _plan(admin) == before
    assert_error(admin.patch("/api/admin/services/1", json={"dial_plan": None}), 422)


def test_a_bad_pattern_says_which_character(http: Clients) -> None:
    error = assert_error(
        http("admin").patch(
            "/api/admin/services/1", json={"dial_plan": {"allowed_patterns": ["0900;x"]}}
        ),
        422,
        "invalid_input",
    )
    assert "“;” cannot be in a pattern" in error["message"], error


def test_only_admins_edit_the_plan(http: Clients) -> None:
    response = http("alice").patch(
        "/api/admin/services/1", json={"dial_plan": {"allow_international": True}}
    )
    assert_error(response, 403)


@pytest.fixture
def alice_on_cti(
    http: Clients, register_phone: Callable[[str], RegisteringPhone]
) -> Iterator[httpx.Client]:
    alice = http("alice")
    register_phone("alice")
    alice.post("/api/cti/login")
    wait_for(lambda: alice.get("/api/cti/state").json()["phone_registered"], message="phone")
    try:
        yield alice
    finally:
        call = alice.get("/api/cti/state").json()["call"]
        if call is not None:
            alice.post(f"/api/calls/{call['id']}/end")
        alice.post("/api/cti/logout")


def _dial(alice: httpx.Client, number: str) -> httpx.Response:
    body = {"service_id": 1, "number": number, "calling_number": "5550100"}
    return alice.post("/api/calls/dial", json=body)


@pytest.mark.parametrize(
    ("number", "says"),
    [
        ("+1 900 555 0100", "+19005550100 is a premium-rate number (+1900)"),
        ("0900 123 456", "0900123456 is a premium-rate number (0900)"),
        ("0049 30 1234567", "+49301234567 is an international number"),
        ("011 44 20 7946 0000", "+442079460000 is an international number"),
        ("+900 12345", "+90012345 is an international number"),
        ("*31#5551234", "*31#5551234 is a service code"),
    ],
)
def test_dial_refuses_what_the_plan_does_not_allow(
    alice_on_cti: httpx.Client, number: str, says: str
) -> None:
    error = assert_error(_dial(alice_on_cti, number), 409, "destination_not_allowed")
    assert error["message"].startswith(says), error
    state = alice_on_cti.get("/api/cti/state").json()
    assert state["call"] is None and state["status"] != "dialing"


def test_dial_sends_the_normalised_number_and_one_call_at_a_time(
    http: Clients, alice_on_cti: httpx.Client, restore_plan: None
) -> None:
    admin, alice = http("admin"), alice_on_cti
    admin.patch("/api/admin/services/1", json={"dial_plan": {"allow_international": True}})
    state = _dial(alice, "0049 (30) 123-45.67")
    assert state.status_code == 200, state.text
    call = state.json()["call"]
    assert call["customer_number"] == "+49301234567"
    assert state.json()["status"] == "dialing"
    second = assert_error(_dial(alice, "5555678"), 409, "outbound_call_in_progress")
    assert "already have an outbound call" in second["message"]
    ended = alice.post(f"/api/calls/{call['id']}/end")
    assert ended.status_code == 200, ended.text
    # Premium numbers stay refused when international ones are allowed.
    assert_error(_dial(alice, "+1 900 555 0100"), 409, "destination_not_allowed")
    again = _dial(alice, "555 5678")
    assert again.status_code == 200, again.text
    assert again.json()["call"]["customer_number"] == "5555678"
