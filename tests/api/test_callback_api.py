"""Queued callback, as the admin sets it and the tickets show it: the service's three callback
fields (defaults, round trip, bounds), the calling number callbacks need, the callback prompts,
and a ticket's `callback` (its row written here as the recorder writes it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.db import make_engine
from tests.api.conftest import Clients, assert_error
from tests.support.callback import insert_callback_ticket
from tests.support.server import RunningServer


@pytest.fixture
def admin(http: Clients) -> httpx.Client:
    return http("admin")


@pytest.fixture
def service(admin: httpx.Client) -> Iterator[dict[str, Any]]:
    """A fresh service of this test's own (no calling number yet), deleted afterwards."""
    created = admin.post("/api/admin/services", json={"name": f"Callback {time.monotonic_ns()}"})
    assert created.status_code == 201, created.text
    yield created.json()
    admin.delete(f"/api/admin/services/{created.json()['id']}")


@pytest.fixture(scope="module")
def store(api: RunningServer) -> Iterator[Engine]:
    """The running server's own database, to write what a real callback would have written."""
    url = api.database_url or f"sqlite:///{(api.data_dir / 'ringdesk.db').resolve()}"
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _add_number(admin: httpx.Client, sid: int, number: str) -> int:
    added = admin.post(f"/api/admin/services/{sid}/calling-numbers", json={"number": number})
    assert added.status_code == 201, added.text
    number_id: int = added.json()["id"]
    return number_id


# ---- the service's fields -----------------------------------------------------------------------
def test_a_new_service_has_callbacks_off_with_the_defaults(service: dict[str, Any]) -> None:
    assert service["callback_enabled"] is False
    assert service["callback_retry_seconds"] == 300
    assert service["callback_max_attempts"] == 3


def test_callback_fields_round_trip(admin: httpx.Client, service: dict[str, Any]) -> None:
    sid = service["id"]
    _add_number(admin, sid, "5550610")
    patched = admin.patch(
        f"/api/admin/services/{sid}",
        json={
            "callback_enabled": True,
            "callback_retry_seconds": 600,
            "callback_max_attempts": 5,
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["callback_enabled"], body["callback_retry_seconds"]) == (True, 600)
    assert body["callback_max_attempts"] == 5
    assert admin.get(f"/api/admin/services/{sid}").json() == body
    listed = next(s for s in admin.get("/api/admin/services").json() if s["id"] == sid)
    assert listed == body
    # a change of another field keeps them; the bounds themselves are accepted
    other = admin.patch(f"/api/admin/services/{sid}", json={"announce_position": True}).json()
    assert other["callback_enabled"] is True and other["callback_retry_seconds"] == 600
    edges = admin.patch(
        f"/api/admin/services/{sid}",
        json={"callback_retry_seconds": 10, "callback_max_attempts": 10},
    ).json()
    assert (edges["callback_retry_seconds"], edges["callback_max_attempts"]) == (10, 10)
    edges = admin.patch(
        f"/api/admin/services/{sid}",
        json={"callback_retry_seconds": 86_400, "callback_max_attempts": 1},
    ).json()
    assert (edges["callback_retry_seconds"], edges["callback_max_attempts"]) == (86_400, 1)
    off = admin.patch(f"/api/admin/services/{sid}", json={"callback_enabled": False}).json()
    assert off["callback_enabled"] is False and off["callback_max_attempts"] == 1


def test_a_new_service_can_be_created_with_its_callback_settings(admin: httpx.Client) -> None:
    created = admin.post(
        "/api/admin/services",
        json={
            "name": "Callback settings",
            "callback_retry_seconds": 45,
            "callback_max_attempts": 2,
        },
    )
    assert created.status_code == 201, created.text
    try:
        body = created.json()
        assert body["callback_enabled"] is False
        assert (body["callback_retry_seconds"], body["callback_max_attempts"]) == (45, 2)
    finally:
        admin.delete(f"/api/admin/services/{created.json()['id']}")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"callback_retry_seconds": 9}, "body.callback_retry_seconds"),
        ({"callback_retry_seconds": 86_401}, "body.callback_retry_seconds"),
        ({"callback_retry_seconds": "300"}, "body.callback_retry_seconds"),
        ({"callback_retry_seconds": 300.5}, "body.callback_retry_seconds"),
        ({"callback_max_attempts": 0}, "body.callback_max_attempts"),
        ({"callback_max_attempts": 11}, "body.callback_max_attempts"),
        ({"callback_enabled": "yes"}, "body.callback_enabled"),
    ],
)
def test_bad_callback_fields_are_refused_and_change_nothing(
    admin: httpx.Client, service: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    sid = service["id"]
    before = admin.get(f"/api/admin/services/{sid}").json()
    refused = assert_error(admin.patch(f"/api/admin/services/{sid}", json=changes), 422)
    assert refused["code"] == "invalid_input"
    assert [f["field"] for f in refused["fields"]][:1] == [field]
    assert field.removeprefix("body.") in refused["message"]
    created = admin.post("/api/admin/services", json={"name": "Refused", **changes})
    assert_error(created, 422, "invalid_input")
    assert admin.get(f"/api/admin/services/{sid}").json() == before


def test_callback_fields_cannot_be_null(admin: httpx.Client, service: dict[str, Any]) -> None:
    for name in ("callback_enabled", "callback_retry_seconds", "callback_max_attempts"):
        refused = assert_error(
            admin.patch(f"/api/admin/services/{service['id']}", json={name: None}),
            422,
            "invalid_input",
        )
        assert refused["message"] == f"{name} cannot be null."


# ---- callbacks need a calling number ------------------------------------------------------------
def test_callbacks_need_a_calling_number(admin: httpx.Client, service: dict[str, Any]) -> None:
    sid = service["id"]
    refused = assert_error(
        admin.patch(
            f"/api/admin/services/{sid}",
            json={"callback_enabled": True, "callback_retry_seconds": 900, "timezone": "UTC"},
        ),
        409,
        "callback_needs_calling_number",
    )
    assert "calling number" in refused["message"]
    assert refused["fields"][0]["field"] == "callback_enabled"
    # nothing of the refused change stuck
    kept = admin.get(f"/api/admin/services/{sid}").json()
    assert kept["callback_enabled"] is False and kept["callback_retry_seconds"] == 300
    # a new service has no calling number yet: it cannot be created with callbacks on
    assert_error(
        admin.post("/api/admin/services", json={"name": "Eager", "callback_enabled": True}),
        409,
        "callback_needs_calling_number",
    )
    assert not [s for s in admin.get("/api/admin/services").json() if s["name"] == "Eager"]
    # with a calling number they can be turned on
    number_id = _add_number(admin, sid, "5550620")
    on = admin.patch(f"/api/admin/services/{sid}", json={"callback_enabled": True})
    assert on.status_code == 200 and on.json()["callback_enabled"] is True
    # its last calling number cannot go while callbacks are on; a second one can
    second = _add_number(admin, sid, "5550621")
    assert admin.delete(f"/api/admin/services/{sid}/calling-numbers/{second}").status_code == 204
    last = assert_error(
        admin.delete(f"/api/admin/services/{sid}/calling-numbers/{number_id}"),
        409,
        "callback_needs_calling_number",
    )
    assert "5550620" in last["message"]
    numbers = admin.get(f"/api/admin/services/{sid}/calling-numbers").json()
    assert [n["number"] for n in numbers] == ["5550620"]
    admin.patch(f"/api/admin/services/{sid}", json={"callback_enabled": False}).raise_for_status()
    assert admin.delete(f"/api/admin/services/{sid}/calling-numbers/{number_id}").status_code == 204
    # callbacks off, no number: other changes are not held up
    assert admin.patch(f"/api/admin/services/{sid}", json={"timezone": "UTC"}).status_code == 200


# ---- the callback prompts -----------------------------------------------------------------------
GLOBAL = ("callback_offer", "callback_confirm", "callback_number", "callback_invalid")
PER_SERVICE = ("callback_offer", "callback_confirm", "callback_number", "callback_booked")


def test_the_callback_prompts_are_listed_and_can_be_set_as_text(
    admin: httpx.Client, service: dict[str, Any]
) -> None:
    sid = service["id"]
    prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    for name in (*GLOBAL, "callback_booked"):
        assert prompts[name]["kind"] == "default", name
        assert prompts[name]["text"] == prompts[name]["default_text"] != "", name
        assert prompts[name]["label"] != name, name  # a label an admin reads
    for name in PER_SERVICE:
        own = prompts[f"{name}.{sid}"]
        assert own["label"] == f"{prompts[name]['label']}: {service['name']}"
        assert own["kind"] == "default" and own["text"] == prompts[name]["text"]
    # "callback_invalid" is the same for every service: not listed per service
    assert f"callback_invalid.{sid}" not in prompts
    assert prompts["callback_offer"]["text"].startswith("To be called back")

    try:
        text = "Press 1 and we call you back."
        global_put = admin.put("/api/admin/cti/prompts/callback_offer", json={"text": text})
        assert global_put.status_code == 200, global_put.text
        assert global_put.json()["kind"] == "text" and global_put.json()["text"] == text
        listed = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
        # the service's own falls back to the global text
        assert listed[f"callback_offer.{sid}"]["text"] == text
        assert listed[f"callback_offer.{sid}"]["kind"] == "default"
        booked = admin.put(
            f"/api/admin/cti/prompts/callback_booked.{sid}", json={"text": "Booked, goodbye."}
        )
        assert booked.status_code == 200, booked.text
        assert booked.json()["kind"] == "text" and booked.json()["text"] == "Booked, goodbye."
        invalid = admin.put("/api/admin/cti/prompts/callback_invalid", json={"text": "No."})
        assert invalid.status_code == 200 and invalid.json()["kind"] == "text"
        listed = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
        assert listed[f"callback_booked.{sid}"]["kind"] == "text"
        assert listed["callback_invalid"]["text"] == "No."
    finally:
        for name in ("callback_offer", f"callback_booked.{sid}", "callback_invalid"):
            assert admin.delete(f"/api/admin/cti/sounds/{name}").status_code == 204
    listed = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    assert listed["callback_offer"]["kind"] == "default"
    assert listed[f"callback_booked.{sid}"]["kind"] == "default"


# ---- tickets ------------------------------------------------------------------------------------
def _callback_ticket(store: Engine, number: str, **row: Any) -> int:
    return insert_callback_ticket(store, number, caller="5557000", at=time.time(), **row)


def test_a_tickets_callback_in_the_list_and_the_ticket(http: Clients, store: Engine) -> None:
    next_try = 1_900_000_000.0
    waiting = _callback_ticket(store, "5557001", attempts=1, next_try_at=next_try)
    failed = _callback_ticket(store, "5557002", attempts=3, status="failed")
    for user in ("admin", "alice"):  # alice: an agent of service 1
        client = http(user)
        one = client.get(f"/api/tickets/{waiting}")
        assert one.status_code == 200, one.text
        assert one.json()["callback"] == {
            "number": "5557001",
            "status": "waiting",
            "attempts": 1,
            "next_try_at": "2030-03-17T17:46:40.000Z",
        }
        items = {t["id"]: t for t in client.get("/api/tickets?q=5557000").json()["items"]}
        assert items[waiting]["callback"]["number"] == "5557001"
        assert items[failed]["callback"] == {
            "number": "5557002",
            "status": "failed",
            "attempts": 3,
            "next_try_at": None,
        }
        # an edit answers with the callback too
        edited = client.patch(f"/api/tickets/{failed}", json={"subject": f"Tried by {user}"})
        assert edited.status_code == 200 and edited.json()["callback"]["status"] == "failed"


def test_a_ticket_without_a_callback_says_null(http: Clients, store: Engine) -> None:
    with Session(store) as db:
        plain = m.Ticket(
            service_id=1,
            direction="outbound",
            customer_number="5557100",
            subject="",
            notes="",
            status="open",
            created_at=time.time(),
        )
        db.add(plain)
        db.commit()
        plain_id = plain.id
    admin = http("admin")
    assert admin.get(f"/api/tickets/{plain_id}").json()["callback"] is None
    [item] = admin.get("/api/tickets?q=5557100").json()["items"]
    assert item["id"] == plain_id and item["callback"] is None
