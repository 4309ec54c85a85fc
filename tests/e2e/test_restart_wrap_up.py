"""A crash during an agent's wrap-up: after the restart the agent is still in Business (Ticket
Processing), and when they go Ready the call's wrap-up time is counted from the call's end."""

from __future__ import annotations

import time

import pytest

from tests.e2e.agents import AdminApi, AgentApi
from tests.e2e.conftest import Rig

pytestmark = pytest.mark.e2e


def test_wrap_up_time_survives_a_crash(rig: Rig) -> None:
    admin = rig.admin()
    alice = rig.agent("alice")
    row = next(a for a in admin.cti_agents() if a["cti_id"] == "1001")
    admin.call(
        "PUT",
        f"/api/admin/cti/agents/{row['user_id']}",
        json={"cti_id": "1001", "cti_number": "1001", "auto_answer": True},
    )
    admin.update_settings(wrap_up_seconds=None)  # Alice stays in wrap-up until she moves
    rig.phone("alice")
    alice.ready()
    customer, _ = rig.customer()
    customer.wait_answered()
    call = alice.wait_talking()
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    alice.wait_status("ticket_processing")
    ended = time.time()

    rig.server.kill()  # no shutdown code runs
    rig.server.launch()  # on new ports: new clients
    admin, alice = (
        AdminApi(rig.server, "admin", "admin-demo"),
        AgentApi(rig.server, "alice", "alice-demo"),
    )
    assert alice.state()["status"] == "ticket_processing"
    time.sleep(1.5)
    assert alice.set_status("ready")["status"] == "ready"
    waited = time.time() - ended

    figures = admin.call("GET", "/api/stats")
    mine = next(a for a in figures["agents"] if a["agent_id"] == row["user_id"])
    assert mine["answered"] == 1, mine
    # Counted from the end of the call, across the restart (not lost, not restarted at 0).
    # An agent's row has her time in Ticket Processing (agent_status_log), the service's row
    # the call's wrap-up: both across the restart.
    assert 1.5 <= mine["wrap_up_seconds"] <= waited + 1.0, (mine, waited)
    (service,) = [s for s in figures["services"] if s["service_id"] == 1]
    assert service["avg_wrap_up_seconds"] is not None, service
    assert 1.5 <= service["avg_wrap_up_seconds"] <= waited + 1.0, (service, waited)
    assert alice.ticket(call["ticket_id"])["outcome"] == "answered"
