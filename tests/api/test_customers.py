"""A customer's page data (the customer with counts, their tickets, their calls), a ticket's
previous tickets and "my tickets", on a real server, each as the viewer may see it: an agent
sees the tickets of their services and their own, and the calls of their services.

The tickets and call records are written into the server's database as the recorder writes
them (a real call makes one of each; here their customers, numbers and services are chosen)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.db import make_engine
from tests.api.conftest import Clients, assert_error
from tests.support.server import RunningServer

PHONE = "+15557700"  # Walter Skinner's, stored with its "+"


@dataclass
class World:
    customer: int
    dana: int
    private: int  # a service only carol (of the agents) has phone permission on
    users: dict[str, int]
    tickets: dict[str, int]
    now: float


@pytest.fixture(scope="module")
def store(api: RunningServer) -> Iterator[Engine]:
    url = api.database_url or f"sqlite:///{(api.data_dir / 'ringdesk.db').resolve()}"
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _ticket(db: Session, **row: Any) -> int:
    values: dict[str, Any] = {
        "direction": "inbound",
        "subject": "",
        "notes": "",
        "status": "open",
    } | row
    ticket = m.Ticket(**values)
    db.add(ticket)
    db.flush()
    ticket_id: int = ticket.id
    return ticket_id


def _call(db: Session, **row: Any) -> None:
    values: dict[str, Any] = {"direction": "inbound", "called_number": "5550100"} | row
    db.add(m.CallRecord(**values))


@pytest.fixture(scope="module")
def world(api: RunningServer, store: Engine) -> World:
    admin_token = api.login("admin", "admin-demo")
    with api.client(admin_token) as admin:
        users = {u["username"]: u["id"] for u in admin.get("/api/admin/users").json()}
        private = admin.post("/api/admin/services", json={"name": "Private line"}).json()["id"]
        granted = admin.put(
            f"/api/admin/services/{private}/agents/{users['carol']}",
            json={"phone_permission": True},
        )
        assert granted.status_code == 200, granted.text
        created = admin.post("/api/customers", json={"name": "Walter Skinner", "phone": PHONE})
        assert created.status_code == 201, created.text
        customer = created.json()["id"]
        dana = next(c["id"] for c in admin.get("/api/customers?q=Scully").json())
    now = time.time()
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    with Session(store) as db:
        t = {
            # linked to Walter, alice's, on the demo's service
            "router": _ticket(
                db,
                call_id="w-1",
                service_id=1,
                customer_number=PHONE,
                customer_id=customer,
                agent_id=alice,
                subject="Broken router",
                created_at=now - 400,
            ),
            # from his phone in its bare form, linked to nobody: his too
            "invoice": _ticket(
                db,
                call_id="w-2",
                service_id=1,
                customer_number=PHONE.lstrip("+"),
                agent_id=bob,
                subject="Invoice",
                status="solved",
                created_at=now - 300,
            ),
            # his, on the private service: alice may not see it
            "secret": _ticket(
                db,
                call_id="w-3",
                service_id=private,
                customer_number=PHONE,
                customer_id=customer,
                agent_id=carol,
                subject="Secret matter",
                created_at=now - 200,
            ),
            # from his phone but linked to Dana: not his
            "dana": _ticket(
                db,
                call_id="w-4",
                service_id=1,
                customer_number=PHONE,
                customer_id=dana,
                agent_id=bob,
                subject="Dana on Walter's phone",
                created_at=now - 100,
            ),
            # linked to him, made from another number (his mobile)
            "follow-up": _ticket(
                db,
                call_id="w-5",
                service_id=1,
                customer_number="+4930999000",
                customer_id=customer,
                agent_id=alice,
                subject="Follow-up",
                created_at=now - 50,
            ),
            # two tickets of a number no customer has, in its two forms
            "unknown-1": _ticket(
                db, service_id=1, customer_number="5559000", subject="First", created_at=now - 90
            ),
            "unknown-2": _ticket(
                db, service_id=1, customer_number="+5559000", subject="Again", created_at=now - 80
            ),
        }
        _call(
            db,
            call_id="w-1",
            service_id=1,
            customer_number=PHONE,
            agent_id=alice,
            ticket_id=t["router"],
            arrived_at=now - 410,
            connected_at=now - 400,
            talk_seconds=42.44,
            outcome="answered",
        )
        # from his phone, given up in the queue: no ticket
        _call(
            db,
            call_id="w-x",
            service_id=1,
            customer_number=PHONE,
            arrived_at=now - 350,
            outcome="abandoned",
        )
        _call(
            db,
            call_id="w-3",
            service_id=private,
            customer_number=PHONE,
            agent_id=carol,
            ticket_id=t["secret"],
            arrived_at=now - 210,
            talk_seconds=10.0,
            outcome="answered",
        )
        # his ticket's call, from the other number: found by the ticket
        _call(
            db,
            call_id="w-5",
            service_id=1,
            direction="outbound",
            customer_number="+4930999000",
            agent_id=alice,
            ticket_id=t["follow-up"],
            arrived_at=now - 60,
            talk_seconds=5.0,
            outcome="answered",
        )
        # somebody else's call: not his
        _call(
            db,
            call_id="w-y",
            service_id=1,
            customer_number="+15557701",
            arrived_at=now - 30,
            outcome="abandoned",
        )
        db.commit()
    return World(customer, dana, private, users, t, now)


def _ids(items: list[dict[str, Any]]) -> list[int]:
    return [i["id"] for i in items]


def test_the_customer_with_counts_as_each_viewer_may_see(http: Clients, world: World) -> None:
    expected = {"admin": (4, 4), "carol": (4, 4), "alice": (3, 3)}
    for user, (n_tickets, n_calls) in expected.items():
        got = http(user).get(f"/api/customers/{world.customer}")
        assert got.status_code == 200, got.text
        assert got.json() == {
            "id": world.customer,
            "name": "Walter Skinner",
            "phone": PHONE,
            "email": None,
            "tickets": n_tickets,
            "calls": n_calls,
        }, user


def test_a_customers_tickets_newest_first_and_paged(http: Clients, world: World) -> None:
    t = world.tickets
    alice = http("alice")
    got = alice.get(f"/api/customers/{world.customer}/tickets")
    assert got.status_code == 200, got.text
    assert got.json()["total"] == 3
    assert _ids(got.json()["items"]) == [t["follow-up"], t["invoice"], t["router"]]
    # the items are the ticket list's, field for field
    listed = alice.get("/api/tickets", params={"q": "Follow-up"}).json()["items"]
    assert got.json()["items"][0] == next(i for i in listed if i["id"] == t["follow-up"])

    first = alice.get(f"/api/customers/{world.customer}/tickets", params={"limit": 2}).json()
    rest = alice.get(
        f"/api/customers/{world.customer}/tickets", params={"limit": 2, "offset": 2}
    ).json()
    assert (first["total"], rest["total"]) == (3, 3)
    assert _ids(first["items"]) + _ids(rest["items"]) == _ids(got.json()["items"])

    carol = http("carol").get(f"/api/customers/{world.customer}/tickets").json()
    assert _ids(carol["items"]) == [t["follow-up"], t["secret"], t["invoice"], t["router"]]


def test_a_customers_calls_of_the_services_the_viewer_sees(http: Clients, world: World) -> None:
    got = http("alice").get(f"/api/customers/{world.customer}/calls")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["total"] == 3
    assert [c["call_id"] for c in body["items"]] == ["w-5", "w-x", "w-1"]
    answered = body["items"][2]
    assert answered == {
        "call_id": "w-1",
        "arrived_at": answered["arrived_at"],
        "direction": "inbound",
        "service_id": 1,
        "service_name": "Customer Support",
        "agent_id": world.users["alice"],
        "agent_name": "Alice Martin",
        "outcome": "answered",
        "talk_seconds": 42.4,
        "ticket_id": world.tickets["router"],
    }
    assert answered["arrived_at"].endswith("Z")
    abandoned = body["items"][1]
    assert (abandoned["agent_name"], abandoned["ticket_id"], abandoned["talk_seconds"]) == (
        None,
        None,
        None,
    )
    assert body["items"][0]["direction"] == "outbound"

    everything = http("admin").get(f"/api/customers/{world.customer}/calls").json()
    assert [c["call_id"] for c in everything["items"]] == ["w-5", "w-3", "w-x", "w-1"]
    page = http("admin").get(
        f"/api/customers/{world.customer}/calls", params={"limit": 1, "offset": 1}
    )
    assert [c["call_id"] for c in page.json()["items"]] == ["w-3"]
    assert page.json()["total"] == 4


def test_previous_tickets_are_the_customers_others_the_viewer_may_see(
    http: Clients, world: World
) -> None:
    t = world.tickets
    got = http("alice").get(f"/api/tickets/{t['follow-up']}/previous")
    assert got.status_code == 200, got.text
    assert got.json() == [
        {
            "id": t["invoice"],
            "subject": "Invoice",
            "status": "solved",
            "created_at": got.json()[0]["created_at"],
            "agent_name": "Bob Chen",
        },
        {
            "id": t["router"],
            "subject": "Broken router",
            "status": "open",
            "created_at": got.json()[1]["created_at"],
            "agent_name": "Alice Martin",
        },
    ]
    carol = http("carol").get(f"/api/tickets/{t['follow-up']}/previous").json()
    assert _ids(carol) == [t["secret"], t["invoice"], t["router"]]
    # a ticket linked to nobody: by its number, in either form
    unknown = http("alice").get(f"/api/tickets/{t['unknown-2']}/previous").json()
    assert unknown == [
        {
            "id": t["unknown-1"],
            "subject": "First",
            "status": "open",
            "created_at": unknown[0]["created_at"],
            "agent_name": None,
        }
    ]
    # Dana's ticket from Walter's phone: Dana's other tickets (none), none of Walter's
    assert http("admin").get(f"/api/tickets/{t['dana']}/previous").json() == []


def test_what_an_agent_may_not_see_is_not_found(http: Clients, world: World) -> None:
    alice = http("alice")
    secret = world.tickets["secret"]
    assert_error(alice.get(f"/api/tickets/{secret}"), 404, "not_found")
    assert_error(alice.get(f"/api/tickets/{secret}/previous"), 404, "not_found")
    assert http("carol").get(f"/api/tickets/{secret}/previous").status_code == 200
    for path in ("", "/tickets", "/calls"):
        assert_error(alice.get(f"/api/customers/2000000{path}"), 404, "not_found")
    assert_error(http().get(f"/api/customers/{world.customer}"), 401)


def test_my_tickets_are_those_whose_agent_i_am(http: Clients, world: World) -> None:
    alice = http("alice")
    me = world.users["alice"]
    mine = alice.get("/api/tickets", params={"mine": "true", "limit": 200}).json()
    everything = alice.get("/api/tickets", params={"limit": 200}).json()
    assert mine["items"] and all(i["agent_id"] == me for i in mine["items"])
    assert mine["total"] == sum(1 for i in everything["items"] if i["agent_id"] == me)
    assert {world.tickets["router"], world.tickets["follow-up"]} <= set(_ids(mine["items"]))
    assert world.tickets["invoice"] in _ids(everything["items"])
    assert world.tickets["invoice"] not in _ids(mine["items"])
    # filters combine: my tickets that are solved (none)
    solved = alice.get("/api/tickets", params={"mine": "true", "status": "solved"}).json()
    assert solved == {"items": [], "total": 0}
    assert_error(alice.get("/api/tickets", params={"mine": "perhaps"}), 422)


def test_an_edited_phone_changes_which_unlinked_tickets_are_theirs(
    http: Clients, world: World
) -> None:
    admin = http("admin")
    customer = admin.post("/api/customers", json={"name": "Tad", "phone": "5559001"}).json()
    before = admin.get(f"/api/customers/{customer['id']}").json()
    assert (before["tickets"], before["calls"]) == (0, 0)
    edited = admin.patch(f"/api/customers/{customer['id']}", json={"phone": "5559000"})
    assert edited.status_code == 200, edited.text
    after = admin.get(f"/api/customers/{customer['id']}/tickets").json()
    t = world.tickets
    assert _ids(after["items"]) == [t["unknown-2"], t["unknown-1"]]
