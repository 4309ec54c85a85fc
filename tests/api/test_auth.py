"""Login, logout, who am I, and the 401/403 rules."""

from __future__ import annotations

from tests.api.conftest import Clients, assert_error
from tests.support.server import RunningServer


def test_healthz_reports_database_and_switch_up(api: RunningServer) -> None:
    with api.client() as http:
        response = http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["switch"]) == ("ok", "ok", "ok")


def test_login_returns_token_and_user(api: RunningServer) -> None:
    with api.client() as http:
        response = http.post(
            "/api/auth/login", json={"username": "alice", "password": "alice-demo"}
        )
    assert response.status_code == 200
    body = response.json()
    assert len(body["token"]) >= 32
    assert body["user"] == {
        "id": body["user"]["id"],
        "username": "alice",
        "name": "Alice Martin",
        "role": "agent",
    }


def test_wrong_password_is_refused(api: RunningServer) -> None:
    with api.client() as http:
        wrong = http.post("/api/auth/login", json={"username": "alice", "password": "nope"})
        unknown = http.post("/api/auth/login", json={"username": "mallory", "password": "x"})
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(unknown, 401, "invalid_credentials")


def test_me_lists_services_calling_numbers_and_cti(http: Clients) -> None:
    body = http("alice").get("/api/me").json()
    assert body["username"] == "alice"
    assert body["cti"] == {"cti_id": "1001", "cti_number": "1001"}
    [service] = body["services"]
    assert service["name"] == "Customer Support"
    assert service["inbound_enabled"] is True and service["outbound_enabled"] is True
    assert [n["number"] for n in service["calling_numbers"]] == ["5550100", "5550199"]
    admin = http("admin").get("/api/me").json()
    assert admin["role"] == "admin" and admin["cti"] is None


def test_requests_without_or_with_a_bad_token_get_401(api: RunningServer) -> None:
    with api.client() as anonymous, api.client("not-a-token") as forged:
        for path in ("/api/me", "/api/cti/state", "/api/tickets", "/api/admin/services"):
            assert_error(anonymous.get(path), 401, "not_authenticated")
            assert_error(forged.get(path), 401, "not_authenticated")
        assert_error(anonymous.put("/api/cti/status", json={"status": "ready"}), 401)


def test_agents_get_403_on_admin_endpoints(http: Clients) -> None:
    agent = http("bob")
    assert_error(agent.get("/api/admin/services"), 403, "forbidden")
    assert_error(agent.get("/api/admin/cti/settings"), 403, "forbidden")
    assert_error(agent.put("/api/admin/cti/settings", json={"sip_domain": "x"}), 403)
    assert_error(agent.post("/api/admin/users", json={}), 403)
    assert_error(agent.get("/api/board"), 403, "forbidden")
    # nothing was changed by the refused write
    settings = http("admin").get("/api/admin/cti/settings").json()
    assert settings["sip_domain"] == "ringdesk.local"


def test_logout_ends_the_session(api: RunningServer) -> None:
    token = api.login("carol", "carol-demo")
    with api.client(token) as http:
        assert http.get("/api/me").status_code == 200
        assert http.post("/api/auth/logout").status_code == 204
        assert_error(http.get("/api/me"), 401, "not_authenticated")
    # another session of the same user is untouched
    other = api.login("carol", "carol-demo")
    with api.client(other) as http:
        assert http.get("/api/me").status_code == 200


def test_openapi_is_published(api: RunningServer) -> None:
    with api.client() as http:
        spec = http.get("/openapi.json").json()
    assert "/api/cti/status" in spec["paths"]
    assert "/api/tickets/{ticket_id}" in spec["paths"]
