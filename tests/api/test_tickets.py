"""Tickets opened by real calls (outbound, with Automatic Outbound Ticket Creation on):
list, search, filters, edits, timeline, and who may see what."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.api.conftest import PASSWORDS, PHONES, assert_error, wait_for
from tests.api.phone import RegisteringPhone
from tests.support.server import RunningServer


@dataclass
class World:
    alice_ticket: int
    carol_ticket: int
    private_service: int
    tokens: dict[str, str]


def _dial_and_end(
    api: RunningServer, username: str, token: str, service_id: int, number: str, calling: str
) -> int:
    with api.client(token) as http:
        http.post("/api/cti/login")
        wait_for(lambda: http.get("/api/cti/state").json()["phone_registered"], message="phone")
        state = http.post(
            "/api/calls/dial",
            json={"service_id": service_id, "number": number, "calling_number": calling},
        )
        assert state.status_code == 200, state.text
        call = state.json()["call"]
        assert state.json()["status"] == "dialing"
        # Automatic Outbound Ticket Creation is on: the ticket exists as soon as the call is placed
        ticket_id: int = call["ticket_id"]
        assert ticket_id is not None
        ended = http.post(f"/api/calls/{call['id']}/end")
        assert ended.status_code == 200, ended.text
        assert ended.json()["call"] is None
        http.post("/api/cti/logout")
        return ticket_id


@pytest.fixture(scope="module")
def world(api: RunningServer) -> Iterator[World]:
    tokens = {name: api.login(name, PASSWORDS[name]) for name in PASSWORDS}
    phones = []
    with api.client(tokens["admin"]) as admin:
        settings = admin.get("/api/admin/cti/settings").json()
        admin.put("/api/admin/cti/settings", json=dict(settings, outbound_ticket_on_dial=True))
        private = admin.post(
            "/api/admin/services", json={"name": "Private line", "outbound_enabled": True}
        ).json()["id"]
        admin.post(f"/api/admin/services/{private}/calling-numbers", json={"number": "5550400"})
        carol_id = admin.get("/api/admin/users").json()
        carol = next(u["id"] for u in carol_id if u["username"] == "carol")
        admin.put(f"/api/admin/services/{private}/agents/{carol}", json={"phone_permission": True})
        admin.put(f"/api/admin/services/1/agents/{carol}", json={"phone_permission": False})
        try:
            for name in ("alice", "carol"):
                phone = RegisteringPhone(api.sip_host, api.sip_port)
                assert phone.register(*PHONES[name]) == 200
                phones.append(phone)
            alice_ticket = _dial_and_end(api, "alice", tokens["alice"], 1, "5551234", "5550100")
            carol_ticket = _dial_and_end(
                api, "carol", tokens["carol"], private, "5559876", "5550400"
            )
            yield World(alice_ticket, carol_ticket, private, tokens)
        finally:
            admin.put("/api/admin/cti/settings", json=settings)
            for phone in phones:
                phone.close()


def test_outbound_call_opened_a_ticket_with_matched_customer_and_timeline(
    api: RunningServer, world: World
) -> None:
    with api.client(world.tokens["alice"]) as http:
        ticket = http.get(f"/api/tickets/{world.alice_ticket}").json()
    assert ticket["direction"] == "outbound"
    assert ticket["customer_number"] == "5551234"
    assert ticket["customer"]["name"] == "Dana Scully"
    assert ticket["agent_name"] == "Alice Martin"
    assert ticket["service_name"] == "Customer Support"
    assert ticket["status"] == "open"
    assert ticket["ended_at"] is not None and ticket["created_at"].endswith("Z")
    assert ticket["outcome"]
    kinds = [entry["kind"] for entry in ticket["timeline"]]
    assert kinds[0] == "opened" and "ended" in kinds


def test_agent_sees_only_tickets_of_their_services(api: RunningServer, world: World) -> None:
    with api.client(world.tokens["alice"]) as alice:
        ids = [t["id"] for t in alice.get("/api/tickets").json()["items"]]
        assert world.alice_ticket in ids and world.carol_ticket not in ids
        assert_error(alice.get(f"/api/tickets/{world.carol_ticket}"), 404, "not_found")
        refused = alice.patch(f"/api/tickets/{world.carol_ticket}", json={"subject": "mine"})
        assert_error(refused, 404, "not_found")
    with api.client(world.tokens["admin"]) as admin:
        ids = [t["id"] for t in admin.get("/api/tickets?limit=200").json()["items"]]
        assert {world.alice_ticket, world.carol_ticket} <= set(ids)
        assert admin.get(f"/api/tickets/{world.carol_ticket}").json()["subject"] == ""
    with api.client(world.tokens["carol"]) as carol:
        assert carol.get(f"/api/tickets/{world.carol_ticket}").status_code == 200


def test_edit_ticket_subject_notes_status_customer(api: RunningServer, world: World) -> None:
    with api.client(world.tokens["alice"]) as http:
        mulder = next(c for c in http.get("/api/customers?q=Mulder").json())
        notes = "Called about the invoice.\nWants a callback. ✓" * 10
        edited = http.patch(
            f"/api/tickets/{world.alice_ticket}",
            json={
                "subject": "Invoice question",
                "notes": notes,
                "status": "pending",
                "customer_id": mulder["id"],
            },
        )
        assert edited.status_code == 200, edited.text
        again = http.get(f"/api/tickets/{world.alice_ticket}").json()
        assert again["subject"] == "Invoice question" and again["notes"] == notes
        assert again["status"] == "pending" and again["customer"]["name"] == "Fox Mulder"
        assert any(e["kind"] == "status" for e in again["timeline"])
        assert_error(
            http.patch(f"/api/tickets/{world.alice_ticket}", json={"customer_id": 999999}), 404
        )


def test_list_search_and_filters(api: RunningServer, world: World) -> None:
    with api.client(world.tokens["admin"]) as http:
        http.patch(f"/api/tickets/{world.carol_ticket}", json={"subject": "Zebra crossing"})

        def ids(query: str) -> list[int]:
            body = http.get(f"/api/tickets{query}").json()
            assert body["total"] >= len(body["items"])
            return [t["id"] for t in body["items"]]

        assert ids("?q=zebra") == [world.carol_ticket]
        assert ids("?q=5559876") == [world.carol_ticket]
        assert world.carol_ticket not in ids("?q=dana%20scully")
        assert ids(f"?service_id={world.private_service}") == [world.carol_ticket]
        assert world.carol_ticket in ids("?direction=outbound")
        assert ids("?direction=inbound") == []
        assert world.carol_ticket in ids("?status=open")
        assert world.carol_ticket not in ids("?status=solved")
        everything = http.get("/api/tickets?limit=1").json()
        assert len(everything["items"]) == 1 and everything["total"] >= 2
        second = http.get("/api/tickets?limit=1&offset=1").json()["items"]
        assert second and second[0]["id"] != everything["items"][0]["id"]
        # a LIKE wildcard in the query is searched for literally
        assert ids("?q=%25") == []


def test_customers_create_search_edit(api: RunningServer, world: World) -> None:
    with api.client(world.tokens["bob"]) as http:
        created = http.post("/api/customers", json={"name": "Walter Skinner", "phone": "5550111"})
        assert created.status_code == 201
        cid = created.json()["id"]
        assert [c["id"] for c in http.get("/api/customers?q=skinner").json()] == [cid]
        edited = http.patch(f"/api/customers/{cid}", json={"email": "ws@fbi.example"})
        assert edited.json()["email"] == "ws@fbi.example"
        assert_error(http.post("/api/customers", json={"name": "No phone"}), 422)
        assert_error(http.patch("/api/customers/987654", json={"name": "x"}), 404)
