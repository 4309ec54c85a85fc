"""A crash (SIGKILL) and restart keep tickets and agents' statuses, and close live calls."""

from __future__ import annotations

from tests.api.conftest import PASSWORDS, PHONES, wait_for
from tests.api.phone import RegisteringPhone
from tests.support.server import RunningServer


def test_restart_keeps_tickets_and_states_and_interrupts_live_calls(api: RunningServer) -> None:
    tokens = {name: api.login(name, PASSWORDS[name]) for name in ("admin", "alice", "bob")}
    phone = RegisteringPhone(api.sip_host, api.sip_port)
    try:
        assert phone.register(*PHONES["alice"]) == 200
        with (
            api.client(tokens["admin"]) as admin,
            api.client(tokens["alice"]) as alice,
            api.client(tokens["bob"]) as bob,
        ):
            settings = admin.get("/api/admin/cti/settings").json()
            admin.put("/api/admin/cti/settings", json=dict(settings, outbound_ticket_on_dial=True))
            bob.post("/api/cti/login")
            bob.put("/api/cti/status", json={"status": "rest"})
            alice.post("/api/cti/login")
            alice.put("/api/cti/status", json={"status": "ready"})
            wait_for(lambda: alice.get("/api/cti/state").json()["phone_registered"], message="reg")
            state = alice.post(
                "/api/calls/dial",
                json={"service_id": 1, "number": "5555678", "calling_number": "5550199"},
            ).json()
            ticket_id = state["call"]["ticket_id"]
            alice.patch(f"/api/tickets/{ticket_id}", json={"subject": "Before the crash"})
        api.kill()  # no shutdown code runs: what a power cut leaves behind
        api.launch()
        with (
            api.client(tokens["admin"]) as admin,
            api.client(tokens["alice"]) as alice,
            api.client(tokens["bob"]) as bob,
        ):
            # sessions survive (tokens are in the database)
            bob_state = bob.get("/api/cti/state").json()
            assert bob_state["logged_in"] is True and bob_state["status"] == "rest"
            alice_state = alice.get("/api/cti/state").json()
            assert alice_state["logged_in"] is True and alice_state["call"] is None
            assert alice_state["status"] in ("business", "ready", "rest")
            ticket = alice.get(f"/api/tickets/{ticket_id}").json()
            assert ticket["subject"] == "Before the crash"
            assert ticket["status"] == "open"  # left open for the agent to finish
            assert ticket["outcome"] == "interrupted" and ticket["ended_at"] is not None
            assert ticket["timeline"][-1]["kind"] == "interrupted"
            assert ticket["customer"]["name"] == "Fox Mulder"
            today = admin.get("/api/stats").json()["services"][0]
            assert today["outbound"] >= 1
            # the restored agent works normally
            assert bob.put("/api/cti/status", json={"status": "ready"}).json()["status"] == "ready"
            bob.post("/api/cti/logout")
            alice.post("/api/cti/logout")
            admin.put("/api/admin/cti/settings", json=settings)
    finally:
        phone.close()


def test_graceful_restart_keeps_logins(api: RunningServer) -> None:
    token = api.login("carol", "carol-demo")
    with api.client(token) as carol:
        carol.post("/api/cti/login")
        carol.put("/api/cti/status", json={"status": "rest"})
    api.restart()
    with api.client(token) as carol:
        state = carol.get("/api/cti/state").json()
        assert (state["logged_in"], state["status"]) == (True, "rest")
        carol.post("/api/cti/logout")
