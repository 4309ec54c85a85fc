"""Bad input never changes anything and always gets a 4xx JSON {"code", "message"}."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Clients, assert_error
from tests.support.server import RunningServer


def test_every_bad_field_is_listed_in_words_a_form_can_show(http: Clients) -> None:
    admin = http("admin")
    before = admin.get("/api/admin/services/1").json()
    refused = admin.patch(
        "/api/admin/services/1",
        json={"max_wait_seconds": 100000, "name": "", "service_level_seconds": -1},
    )
    body = assert_error(refused, 422, "invalid_input")
    said = {f["field"].rsplit(".", 1)[-1]: f["message"] for f in body["fields"]}
    assert said == {
        "max_wait_seconds": "must be at most 86400",
        "name": "must not be empty",
        "service_level_seconds": "must be more than 0",
    }, said
    assert body["message"].endswith(".") and "Input should" not in body["message"]
    assert admin.get("/api/admin/services/1").json() == before


def test_unknown_fields_are_refused_and_change_nothing(http: Clients) -> None:
    admin, alice = http("admin"), http("alice")
    settings_before = admin.get("/api/admin/cti/settings").json()
    sneaky = dict(settings_before, pickup_seconds=5, is_superuser=True)
    body = assert_error(admin.put("/api/admin/cti/settings", json=sneaky), 422, "invalid_input")
    assert any(f["field"].endswith("is_superuser") for f in body["fields"])
    assert admin.get("/api/admin/cti/settings").json() == settings_before
    state_before = alice.get("/api/cti/state").json()
    assert_error(alice.put("/api/cti/status", json={"status": "ready", "force": True}), 422)
    assert alice.get("/api/cti/state").json()["status"] == state_before["status"]
    favorites = alice.get("/api/me/favorites").json()
    assert_error(alice.post("/api/me/favorites", json={"number": "5551234", "id": 1}), 422)
    assert alice.get("/api/me/favorites").json() == favorites
    services = admin.get("/api/admin/services").json()
    assert_error(admin.post("/api/admin/services", json={"name": "S", "owner": "me"}), 422)
    assert admin.get("/api/admin/services").json() == services


def test_wrong_types_are_refused(http: Clients) -> None:
    admin, alice = http("admin"), http("alice")
    settings_before = admin.get("/api/admin/cti/settings").json()
    for field, value in (
        ("pickup_seconds", "fast"),
        ("pickup_seconds", "20"),
        ("allow_any_source", "yes"),
        ("max_calls_total", 0),
        ("codecs", "PCMU"),
        ("codecs", ["G729"]),
        ("default_login_status", "on_call"),
        ("pickup_timeout_status", "ready"),
        ("wrap_up_seconds", -1),
    ):
        response = admin.put(
            "/api/admin/cti/settings", json=dict(settings_before, **{field: value})
        )
        assert_error(response, 422, "invalid_input")
    assert admin.get("/api/admin/cti/settings").json() == settings_before
    assert_error(alice.put("/api/cti/status", json={"status": 1}), 422)
    assert_error(alice.put("/api/cti/status", json=["ready"]), 422)
    assert_error(alice.put("/api/cti/status", json={"status": "on_call"}), 422)
    dial = {"service_id": "1", "number": "5551234", "calling_number": "5550100"}
    assert_error(alice.post("/api/calls/dial", json=dial), 422, "invalid_input")
    assert_error(admin.patch("/api/admin/services/1", json={"inbound_enabled": "false"}), 422)
    assert admin.get("/api/admin/services/1").json()["inbound_enabled"] is True


def test_malformed_json_is_a_4xx_json_error(api: RunningServer, http: Clients) -> None:
    alice = http("alice")
    response = alice.put(
        "/api/cti/status", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_input")
    assert_error(alice.put("/api/cti/status"), 422, "invalid_input")


def test_numbers_that_are_not_phone_numbers_are_refused(http: Clients) -> None:
    alice, admin = http("alice"), http("admin")
    for number in ("", "5", "abc", "555 1234", "555-1234", "+", "++5551234", "1" * 21, "5551234x"):
        added = admin.post("/api/admin/services/1/calling-numbers", json={"number": number})
        assert_error(added, 422, "invalid_input")
    # A number to dial may be typed with separators (the core's dial plan normalises it); what
    # is no phone number is refused before the agent's state is looked at.
    for number in ("5", "abc", "+", "++5551234", "1" * 33, "5551234x", "555;user=phone"):
        dial = {"service_id": 1, "number": number, "calling_number": "5550100"}
        assert_error(alice.post("/api/calls/dial", json=dial), 422, "destination_invalid")
        transfer = alice.post("/api/calls/abc/transfer", json={"number": number})
        assert_error(transfer, 422, "destination_invalid")
    for number in ("", "1" * 41):
        dial = {"service_id": 1, "number": number, "calling_number": "5550100"}
        assert_error(alice.post("/api/calls/dial", json=dial), 422, "invalid_input")
    worded = alice.post(
        "/api/calls/dial", json={"service_id": 1, "number": "555-CALL", "calling_number": "5550100"}
    ).json()
    assert worded["message"] == "“C” cannot be dialled: use digits, a leading +, * and #."
    for good in ("+4930123456", "*72", "1001#"):
        favorite = alice.post("/api/me/favorites", json={"label": "ok", "number": good})
        assert favorite.status_code == 201, favorite.text
        alice.delete(f"/api/me/favorites/{favorite.json()['id']}")
    numbers = [n["number"] for n in admin.get("/api/admin/services/1/calling-numbers").json()]
    assert numbers == ["5550100", "5550199"]


def test_oversized_text_is_refused(api: RunningServer, http: Clients) -> None:
    admin = http("admin")
    service = admin.post("/api/admin/services", json={"name": "N" * 200}).json()
    assert_error(admin.post("/api/admin/services", json={"name": "N" * 201}), 422)
    assert_error(admin.patch(f"/api/admin/services/{service['id']}", json={"name": ""}), 422)
    admin.delete(f"/api/admin/services/{service['id']}")
    assert_error(admin.post("/api/customers", json={"name": "x" * 201, "phone": "5550001"}), 422)
    huge = json.dumps({"label": "x" * 400_000, "number": "5551234"})
    response = admin.post(
        "/api/me/favorites", content=huge, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "too_large")
    assert admin.get("/api/me/favorites").json() == []


def test_unknown_ids_get_404_or_422(http: Clients) -> None:
    admin, alice = http("admin"), http("alice")
    assert_error(alice.get("/api/tickets/987654"), 404, "not_found")
    assert_error(alice.patch("/api/tickets/987654", json={"subject": "x"}), 404, "not_found")
    assert_error(alice.get("/api/tickets/abc"), 422, "invalid_input")
    assert_error(alice.get("/api/tickets/-1"), 422, "invalid_input")
    assert_error(alice.get("/api/tickets/99999999999999999999"), 422, "invalid_input")
    assert_error(admin.get("/api/admin/services/4242"), 404, "not_found")
    assert_error(admin.patch("/api/admin/services/4242", json={"name": "x"}), 404)
    assert_error(
        admin.put("/api/admin/services/1/agents/4242", json={"phone_permission": True}), 404
    )
    assert_error(admin.delete("/api/admin/services/1/calling-numbers/4242"), 404)
    assert_error(
        admin.put("/api/admin/cti/agents/4242", json={"cti_id": "9", "cti_number": "99"}), 404
    )
    assert_error(admin.patch("/api/admin/users/4242", json={"name": "x"}), 404)
    alice.post("/api/cti/login")
    try:
        for action in ("answer", "hold/start", "hold/stop", "end", "force-disconnect"):
            response = alice.post(f"/api/calls/no-such-call/{action}")
            assert response.status_code in (404, 409), response.text
            assert_error(response, response.status_code)
        assert_error(alice.post("/api/calls/bad id!/answer"), 422)
        assert alice.get("/api/cti/state").json()["call"] is None
    finally:
        alice.post("/api/cti/logout")
    assert_error(alice.get("/api/stats?date=2026-13-45"), 422, "invalid_input")
    assert_error(alice.get("/api/tickets?status=lost"), 422, "invalid_input")
    assert_error(alice.get("/api/tickets?limit=100000"), 422, "invalid_input")


def test_call_commands_in_the_wrong_status_name_the_status(http: Clients) -> None:
    bob = http("bob")
    bob.post("/api/cti/login")
    try:
        bob.put("/api/cti/status", json={"status": "ready"})
        transfer = bob.post("/api/calls/nothing/transfer", json={"number": "5551234"})
        assert transfer.status_code in (404, 409)
        both = bob.post("/api/calls/x/transfer", json={"number": "5551234", "agent_id": 2})
        assert_error(both, 422, "invalid_input")
    finally:
        bob.post("/api/cti/logout")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
TARGETS = [
    ("PUT", "/api/cti/status", "alice"),
    ("POST", "/api/calls/dial", "alice"),
    ("POST", "/api/me/favorites", "alice"),
    ("PATCH", "/api/tickets/1", "alice"),
    ("POST", "/api/customers", "alice"),
    ("PUT", "/api/admin/cti/settings", "admin"),
    ("POST", "/api/admin/services", "admin"),
    ("PUT", "/api/admin/cti/agents/2", "admin"),
    ("POST", "/api/admin/users", "admin"),
]


def test_fuzzed_bodies_never_cause_a_server_error(http: Clients) -> None:
    clients = {name: http(name) for name in ("alice", "admin")}
    settings_before = clients["admin"].get("/api/admin/cti/settings").json()

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(target=st.sampled_from(TARGETS), body=JSON_VALUES)
    def check(target: tuple[str, str, str], body: Any) -> None:
        method, path, who = target
        response = clients[who].request(method, path, json=body)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert_error(response, response.status_code)

    check()
    # random bodies almost never form a valid settings document; if one did, it was valid input
    after = clients["admin"].get("/api/admin/cti/settings").json()
    assert after.keys() == settings_before.keys()
