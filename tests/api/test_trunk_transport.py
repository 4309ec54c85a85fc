"""Admin -> Trunks, the transports: "auto" (RFC 3263 NAPTR/SRV pick it) needs a host name and no
port, and an omitted port then means 0; nonsense combinations get a 422 naming the field with a
sentence; a TLS trunk is saved as given; the list says where DNS located a trunk and the last
transport error toward it (none yet)."""

from __future__ import annotations

from tests.api.conftest import Clients, assert_error

# Disabled: the switch leaves a disabled trunk alone, so no DNS query leaves the test.
BASE = {"name": "auto-carrier", "host": "sip.provider.test", "transport": "auto", "enabled": False}


def test_auto_and_tls_transports_and_their_refusals(http: Clients) -> None:
    admin = http("admin")
    bad = assert_error(
        admin.post("/api/admin/trunks", json=dict(BASE, host="192.0.2.7")), 422, "invalid_input"
    )
    assert bad["fields"][0]["field"] == "body.transport"
    assert "host name" in bad["message"], bad
    bad = assert_error(
        admin.post("/api/admin/trunks", json=dict(BASE, port=5060)), 422, "invalid_input"
    )
    assert bad["fields"][0]["field"] == "body.port"
    assert "port 0" in bad["message"], bad

    auto = admin.post("/api/admin/trunks", json=BASE)
    assert auto.status_code == 201, auto.text
    row = auto.json()
    assert (row["transport"], row["port"]) == ("auto", 0)
    assert row["last_error"] is None and row["located"] == []
    explicit = admin.put(f"/api/admin/trunks/{row['id']}", json=dict(BASE, port=0))
    assert explicit.status_code == 200 and explicit.json()["port"] == 0

    tls = admin.post(
        "/api/admin/trunks",
        json={
            "name": "tls-carrier",
            "host": "192.0.2.8",
            "port": 5061,
            "transport": "tls",
            "enabled": False,
        },
    )
    assert tls.status_code == 201, tls.text
    assert (tls.json()["transport"], tls.json()["port"]) == ("tls", 5061)
    listed = {t["name"]: t for t in admin.get("/api/admin/trunks").json()}
    assert listed["tls-carrier"]["last_error"] is None
    for created in (row, tls.json()):
        assert admin.delete(f"/api/admin/trunks/{created['id']}").status_code == 204
