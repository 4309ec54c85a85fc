"""/healthz says what the switch is bound to and what it advertises (switch/addresses.py)."""

from __future__ import annotations

from tests.support.server import RunningServer


def test_healthz_reports_bound_and_advertised_addresses(api: RunningServer) -> None:
    with api.client() as http:
        body = http.get("/healthz").json()
    addresses = body["addresses"]
    assert addresses["sip_bound"].startswith("127.0.0.1:")
    assert addresses["sip_bound"] != "127.0.0.1:0"
    assert addresses["sip_advertised"] == "127.0.0.1"
    assert addresses["rtp_bound"] == "127.0.0.1"
    assert addresses["rtp_ports"] == "20000-40000"
    assert addresses["local_nets"] == []
    assert addresses["warnings"] == []  # nobody has been told an address they cannot reach
