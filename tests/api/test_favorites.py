"""Frequently used numbers: add, rename, remove; each user sees only their own."""

from __future__ import annotations

from tests.api.conftest import Clients, assert_error


def test_favorites_crud(http: Clients) -> None:
    alice = http("alice")
    created = alice.post("/api/me/favorites", json={"label": "Billing desk", "number": "5550200"})
    assert created.status_code == 201
    fav = created.json()
    assert fav["label"] == "Billing desk" and fav["number"] == "5550200"
    assert fav in alice.get("/api/me/favorites").json()
    renamed = alice.patch(f"/api/me/favorites/{fav['id']}", json={"label": "Billing"})
    assert renamed.json() == {"id": fav["id"], "label": "Billing", "number": "5550200"}
    renumbered = alice.patch(f"/api/me/favorites/{fav['id']}", json={"number": "+4930123456"})
    assert renumbered.json()["number"] == "+4930123456"
    assert alice.delete(f"/api/me/favorites/{fav['id']}").status_code == 204
    assert all(f["id"] != fav["id"] for f in alice.get("/api/me/favorites").json())
    assert_error(alice.delete(f"/api/me/favorites/{fav['id']}"), 404, "not_found")


def test_favorites_are_private(http: Clients) -> None:
    alice, bob = http("alice"), http("bob")
    fav = alice.post("/api/me/favorites", json={"label": "Mine", "number": "5550777"}).json()
    assert all(f["id"] != fav["id"] for f in bob.get("/api/me/favorites").json())
    assert_error(bob.patch(f"/api/me/favorites/{fav['id']}", json={"label": "x"}), 404)
    assert_error(bob.delete(f"/api/me/favorites/{fav['id']}"), 404)
    assert fav in alice.get("/api/me/favorites").json()  # untouched


def test_favorite_needs_a_phone_number(http: Clients) -> None:
    alice = http("alice")
    before = alice.get("/api/me/favorites").json()
    for number in ("", "1", "call me", "555-1234", "1" * 21, "+"):
        response = alice.post("/api/me/favorites", json={"label": "x", "number": number})
        assert_error(response, 422, "invalid_input")
    assert alice.get("/api/me/favorites").json() == before
