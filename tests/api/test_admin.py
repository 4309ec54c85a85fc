"""Every admin setting of the manual: saved, read back, and enforced where it matters."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable

from tests.api.conftest import Clients, assert_error, wait_for
from tests.api.phone import RegisteringPhone


def _wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x10\x00" * int(seconds * rate))
    return buffer.getvalue()


def test_service_contract_round_trip(http: Clients) -> None:
    admin = http("admin")
    created = admin.post(
        "/api/admin/services",
        json={
            "name": "Billing",
            "inbound_number": "5550200",
            "inbound_enabled": False,
            "outbound_enabled": True,
            "strategy": "round_robin",
            "max_wait_seconds": 90,
            "overflow_action": "forward",
            "overflow_number": "5550999",
            "service_level_seconds": 30,
        },
    )
    assert created.status_code == 201, created.text
    service = created.json()
    sid = service["id"]
    assert admin.get(f"/api/admin/services/{sid}").json() == service
    patched = admin.patch(
        f"/api/admin/services/{sid}",
        json={"inbound_enabled": True, "strategy": "ring_all", "overflow_action": "none"},
    ).json()
    assert patched["inbound_enabled"] is True and patched["strategy"] == "ring_all"
    assert patched["overflow_action"] == "none" and patched["max_wait_seconds"] == 90
    listed = admin.get("/api/admin/services").json()
    assert [s["id"] for s in listed].count(sid) == 1
    # the same inbound number cannot belong to two services
    clash = admin.post("/api/admin/services", json={"name": "X", "inbound_number": "5550200"})
    assert_error(clash, 409, "already_exists")
    assert admin.delete(f"/api/admin/services/{sid}").status_code == 204
    assert_error(admin.get(f"/api/admin/services/{sid}"), 404, "not_found")


def test_forward_overflow_needs_a_number(http: Clients) -> None:
    response = http("admin").post(
        "/api/admin/services", json={"name": "Y", "overflow_action": "forward"}
    )
    assert_error(response, 422, "invalid_input")


def test_phone_permission_and_calling_numbers_round_trip(http: Clients) -> None:
    admin = http("admin")
    sid = admin.post("/api/admin/services", json={"name": "Sales"}).json()["id"]
    agents = admin.get(f"/api/admin/services/{sid}/agents").json()
    assert {a["name"] for a in agents} >= {"Alice Martin", "Bob Chen", "Carol Diaz"}
    assert not any(a["phone_permission"] for a in agents)
    carol = next(a for a in agents if a["name"] == "Carol Diaz")["user_id"]
    granted = admin.put(
        f"/api/admin/services/{sid}/agents/{carol}", json={"phone_permission": True}
    )
    assert granted.json()["phone_permission"] is True
    agents = admin.get(f"/api/admin/services/{sid}/agents").json()
    assert [a["user_id"] for a in agents if a["phone_permission"]] == [carol]
    # carol now sees the new service in /api/me
    assert "Sales" in [s["name"] for s in http("carol").get("/api/me").json()["services"]]

    added = admin.post(
        f"/api/admin/services/{sid}/calling-numbers", json={"number": "5550300", "label": "Sales"}
    )
    assert added.status_code == 201
    number_id = added.json()["id"]
    numbers = admin.get(f"/api/admin/services/{sid}/calling-numbers").json()
    assert numbers == [{"id": number_id, "number": "5550300", "label": "Sales"}]
    dup = admin.post(f"/api/admin/services/{sid}/calling-numbers", json={"number": "5550300"})
    assert_error(dup, 409, "already_exists")
    assert admin.delete(f"/api/admin/services/{sid}/calling-numbers/{number_id}").status_code == 204
    assert admin.get(f"/api/admin/services/{sid}/calling-numbers").json() == []
    admin.delete(f"/api/admin/services/{sid}")


def test_users_round_trip(http: Clients, api) -> None:  # type: ignore[no-untyped-def]
    admin = http("admin")
    created = admin.post(
        "/api/admin/users",
        json={
            "username": "dave",
            "name": "Dave Lister",
            "password": "red-dwarf-mining",
            "role": "agent",
        },
    )
    assert created.status_code == 201, created.text
    uid = created.json()["id"]
    assert_error(
        admin.post(
            "/api/admin/users",
            json={
                "username": "dave",
                "name": "Other",
                "password": "another-secret-7",
                "role": "agent",
            },
        ),
        409,
        "already_exists",
    )
    token = api.login("dave", "red-dwarf-mining")
    patched = admin.patch(
        f"/api/admin/users/{uid}", json={"name": "Dave L.", "password": "starbug-pilot-3"}
    )
    assert patched.json()["name"] == "Dave L."
    assert api.login("dave", "starbug-pilot-3")
    assert any(u["username"] == "dave" for u in admin.get("/api/admin/users").json())
    assert admin.delete(f"/api/admin/users/{uid}").status_code == 204
    with api.client(token) as gone:
        assert_error(gone.get("/api/me"), 401, "not_authenticated")
    own_id = admin.get("/api/me").json()["id"]
    assert_error(admin.delete(f"/api/admin/users/{own_id}"), 409, "cannot_delete_self")


def test_cti_settings_round_trip(http: Clients) -> None:
    admin = http("admin")
    before = admin.get("/api/admin/cti/settings").json()
    wanted = dict(
        before,
        codecs=["PCMA"],
        queue_music_mode="answered",
        default_login_status="ready",
        pickup_seconds=15,
        pickup_timeout_status="business",
        max_missed_offers=5,
        outbound_ticket_on_dial=True,
        wrap_up_seconds=30,
        record_calls=True,
    )
    saved = admin.put("/api/admin/cti/settings", json=wanted)
    assert saved.status_code == 200, saved.text
    assert admin.get("/api/admin/cti/settings").json() == saved.json()
    assert saved.json()["codecs"] == ["PCMA"] and saved.json()["pickup_seconds"] == 15
    assert saved.json()["record_calls"] is True and saved.json()["wrap_up_seconds"] == 30
    # The trunk is not a CTI setting any more (/api/admin/trunks): asked for, it is refused.
    assert not any(key.startswith("trunk") for key in saved.json())
    stale = admin.put("/api/admin/cti/settings", json=dict(before, trunk_host="10.0.0.5"))
    assert stale.status_code == 422, stale.text
    restored = admin.put("/api/admin/cti/settings", json=before)
    assert restored.json() == before


def test_default_login_status_setting_is_applied(http: Clients) -> None:
    admin = http("admin")
    settings = admin.get("/api/admin/cti/settings").json()
    admin.put("/api/admin/cti/settings", json=dict(settings, default_login_status="rest"))
    try:
        carol = http("carol")
        state = carol.post("/api/cti/login").json()
        assert state["status"] == "rest" and state["logged_in"] is True
        assert carol.post("/api/cti/logout").json()["status"] == "logged_out"
    finally:
        admin.put("/api/admin/cti/settings", json=settings)


def test_sounds_upload_download_and_restore(http: Clients) -> None:
    admin = http("admin")
    default = admin.get("/api/admin/cti/sounds/hold_music")
    assert default.status_code == 200
    assert default.headers["content-type"] == "audio/wav"
    assert default.content[:4] == b"RIFF"
    mine = _wav()
    uploaded = admin.put(
        "/api/admin/cti/sounds/hold_music", files={"file": ("hold.wav", mine, "audio/wav")}
    )
    assert uploaded.status_code == 204, uploaded.text
    assert admin.get("/api/admin/cti/sounds/hold_music").content == mine
    refused = admin.put(
        "/api/admin/cti/sounds/force_disconnect",
        files={"file": ("x.wav", b"this is not a wav file", "audio/wav")},
    )
    assert_error(refused, 415, "not_a_wav")
    assert admin.delete("/api/admin/cti/sounds/hold_music").status_code == 204
    assert admin.get("/api/admin/cti/sounds/hold_music").content == default.content
    assert_error(admin.get("/api/admin/cti/sounds/elevator"), 422, "invalid_input")


def test_cti_agent_management_round_trip_and_login_rules(http: Clients) -> None:
    admin = http("admin")
    carol_id = http("carol").get("/api/me").json()["id"]
    rows = {a["user_id"]: a for a in admin.get("/api/admin/cti/agents").json()}
    assert rows[carol_id]["cti_id"] == "1003" and rows[carol_id]["has_phone_password"] is True
    assert "phone_password" not in rows[carol_id]  # never sent back
    # a CTI number already used by alice is refused
    clash = admin.put(
        f"/api/admin/cti/agents/{carol_id}", json={"cti_id": "1003", "cti_number": "1001"}
    )
    assert_error(clash, 409, "already_exists")
    moved = admin.put(
        f"/api/admin/cti/agents/{carol_id}", json={"cti_id": "1013", "cti_number": "1013"}
    )
    assert moved.json()["cti_id"] == "1013" and moved.json()["has_phone_password"] is True
    # unassigned: CTI login is refused with the manual's reason
    assert admin.delete(f"/api/admin/cti/agents/{carol_id}").status_code == 204
    carol = http("carol")
    assert_error(carol.post("/api/cti/login"), 409, "cti_not_assigned")
    assert carol.get("/api/me").json()["cti"] is None
    restored = admin.put(
        f"/api/admin/cti/agents/{carol_id}",
        json={"cti_id": "1003", "cti_number": "1003", "phone_password": "phone1003-demo"},
    )
    assert restored.status_code == 200
    # without phone permission on any service: refused too
    admin.put(f"/api/admin/services/1/agents/{carol_id}", json={"phone_permission": False})
    assert_error(carol.post("/api/cti/login"), 409, "phone_permission_missing")
    admin.put(f"/api/admin/services/1/agents/{carol_id}", json={"phone_permission": True})
    assert carol.post("/api/cti/login").json()["logged_in"] is True
    carol.post("/api/cti/logout")


def test_dial_enforces_contract_calling_number_and_registration(
    http: Clients, register_phone: Callable[[str], RegisteringPhone]
) -> None:
    admin, bob = http("admin"), http("bob")
    bob.post("/api/cti/login")
    dial = {"service_id": 1, "number": "5551234", "calling_number": "5550100"}
    try:
        assert_error(bob.post("/api/calls/dial", json=dial), 409, "phone_not_registered")
        register_phone("bob")
        wait_for(
            lambda: bob.get("/api/cti/state").json()["phone_registered"],
            message="bob's phone registered",
        )
        unregistered = dict(dial, calling_number="5550123")
        assert_error(
            bob.post("/api/calls/dial", json=unregistered), 409, "calling_number_not_registered"
        )
        admin.patch("/api/admin/services/1", json={"outbound_enabled": False})
        try:
            assert_error(bob.post("/api/calls/dial", json=dial), 409, "outbound_disabled")
        finally:
            admin.patch("/api/admin/services/1", json={"outbound_enabled": True})
        assert bob.get("/api/cti/state").json()["call"] is None  # nothing was placed
        registered = {a["user_id"]: a for a in admin.get("/api/admin/cti/agents").json()}
        assert registered[bob.get("/api/me").json()["id"]]["registered"] is True
    finally:
        bob.post("/api/cti/logout")
