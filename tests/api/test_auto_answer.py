"""Auto Answer in CTI agent management: stored per agent, read back, validated."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Clients, assert_error


def _alice(http: Clients) -> dict[str, Any]:
    agents = http("admin").get("/api/admin/cti/agents").json()
    found: dict[str, Any] = next(a for a in agents if a["cti_id"] == "1001")
    return found


def test_auto_answer_is_off_for_the_demo_agents(http: Clients) -> None:
    agents = http("admin").get("/api/admin/cti/agents").json()
    assigned = [a for a in agents if a["cti_id"] is not None]
    assert {a["cti_id"] for a in assigned} == {"1001", "1002", "1003"}
    assert all(a["auto_answer"] is False for a in assigned)


def test_put_turns_auto_answer_on_and_get_reads_it_back(http: Clients) -> None:
    admin = http("admin")
    alice = _alice(http)
    url = f"/api/admin/cti/agents/{alice['user_id']}"
    body = {"cti_id": "1001", "cti_number": "1001", "auto_answer": True}
    try:
        put = admin.put(url, json=body)
        assert put.status_code == 200, put.text
        assert put.json()["auto_answer"] is True
        got = admin.get(url)
        assert got.status_code == 200, got.text
        assert got.json() == {**alice, "auto_answer": True, "registered": got.json()["registered"]}
        # A PUT that leaves it out keeps it, as a PUT without phone_password keeps the password.
        kept = admin.put(url, json={"cti_id": "1001", "cti_number": "1001"}).json()
        assert kept["auto_answer"] is True and kept["has_phone_password"] is True
        listed = next(a for a in admin.get("/api/admin/cti/agents").json() if a["cti_id"] == "1001")
        assert listed["auto_answer"] is True
    finally:
        off = admin.put(url, json={**body, "auto_answer": False})
    assert off.status_code == 200 and off.json()["auto_answer"] is False
    assert admin.get(url).json()["auto_answer"] is False


def test_a_new_assignment_without_auto_answer_has_it_off(http: Clients) -> None:
    admin = http("admin")
    made = admin.post(
        "/api/admin/users",
        json={
            "username": "dave",
            "name": "Dave Ray",
            "password": "auto-answer-desk",
            "role": "agent",
        },
    )
    assert made.status_code == 201, made.text
    uid = made.json()["id"]
    put = admin.put(
        f"/api/admin/cti/agents/{uid}",
        json={"cti_id": "1004", "cti_number": "1004", "phone_password": "phone1004-demo"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["auto_answer"] is False


def test_auto_answer_must_be_a_boolean(http: Clients) -> None:
    admin = http("admin")
    alice = _alice(http)
    bad = admin.put(
        f"/api/admin/cti/agents/{alice['user_id']}",
        json={"cti_id": "1001", "cti_number": "1001", "auto_answer": "yes"},
    )
    body = assert_error(bad, 422, "invalid_input")
    assert "auto_answer" in body["message"]
    assert _alice(http)["auto_answer"] is False


def test_unknown_agent_and_non_admin_are_refused(http: Clients) -> None:
    assert_error(http("admin").get("/api/admin/cti/agents/999999"), 404)
    alice = _alice(http)
    assert_error(http("alice").get(f"/api/admin/cti/agents/{alice['user_id']}"), 403)
    refused = http("bob").put(
        f"/api/admin/cti/agents/{alice['user_id']}",
        json={"cti_id": "1001", "cti_number": "1001", "auto_answer": True},
    )
    assert_error(refused, 403)
    assert _alice(http)["auto_answer"] is False
