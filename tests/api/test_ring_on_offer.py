"""'Phone rings with the offer' in CTI agent management: off by default, stored, kept when a
PUT leaves it out, and what the engine is told (a SIP phone only: the browser answers itself)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Clients, assert_error


def _alice(http: Clients) -> dict[str, Any]:
    agents = http("admin").get("/api/admin/cti/agents").json()
    found: dict[str, Any] = next(a for a in agents if a["cti_id"] == "1001")
    return found


def test_ring_on_offer_is_off_for_the_demo_agents(http: Clients) -> None:
    agents = http("admin").get("/api/admin/cti/agents").json()
    assigned = [a for a in agents if a["cti_id"] is not None]
    assert assigned and all(a["ring_on_offer"] is False for a in assigned)


def test_put_turns_ring_on_offer_on_and_a_put_without_it_keeps_it(http: Clients) -> None:
    admin = http("admin")
    alice = _alice(http)
    url = f"/api/admin/cti/agents/{alice['user_id']}"
    body = {"cti_id": "1001", "cti_number": "1001", "ring_on_offer": True}
    try:
        put = admin.put(url, json=body)
        assert put.status_code == 200, put.text
        assert (put.json()["ring_on_offer"], put.json()["auto_answer"]) == (True, False)
        got = admin.get(url).json()
        assert got == {**alice, "ring_on_offer": True, "registered": got["registered"]}
        kept = admin.put(url, json={"cti_id": "1001", "cti_number": "1001"}).json()
        assert kept["ring_on_offer"] is True
    finally:
        off = admin.put(url, json={**body, "ring_on_offer": False})
    assert off.status_code == 200 and off.json()["ring_on_offer"] is False


def test_ring_on_offer_must_be_a_boolean(http: Clients) -> None:
    alice = _alice(http)
    bad = http("admin").put(
        f"/api/admin/cti/agents/{alice['user_id']}",
        json={"cti_id": "1001", "cti_number": "1001", "ring_on_offer": "sometimes"},
    )
    assert_error(bad, 422)
