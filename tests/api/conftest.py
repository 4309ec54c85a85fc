"""The API suite runs every test module against SQLite and against PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.phone import RegisteringPhone
from tests.support.postgres import PostgresCluster
from tests.support.server import RunningServer, start_server

PASSWORDS = {
    "admin": "admin-demo",
    "alice": "alice-demo",
    "bob": "bob-demo",
    "carol": "carol-demo",
}
PHONES = {
    "alice": ("1001", "phone1001-demo"),
    "bob": ("1002", "phone1002-demo"),
    "carol": ("1003", "phone1003-demo"),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real `ringdesk serve` with the demo tenant, on the database named by the param."""
    database_url = installed = None
    if request.param == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        database_url, installed = cluster.installed_database()
    running = start_server(
        tmp_path_factory.mktemp(request.param), database_url=database_url, installed=installed
    )
    try:
        yield running
    finally:
        running.stop()


class Clients:
    """Logged-in HTTP clients per demo user, made on first use and closed at the end."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.tokens: dict[str, str] = {}
        self._clients: list[httpx.Client] = []

    def token(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = self.server.login(username, PASSWORDS[username])
        return self.tokens[username]

    def __call__(self, username: str | None = None) -> httpx.Client:
        client = self.server.client(self.token(username) if username else None)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def http(api: RunningServer) -> Iterator[Clients]:
    clients = Clients(api)
    try:
        yield clients
    finally:
        clients.close()


@pytest.fixture
def register_phone(api: RunningServer) -> Iterator[Callable[[str], RegisteringPhone]]:
    """Register a demo agent's SIP phone with the switch; unregistered again afterwards."""
    phones: list[tuple[RegisteringPhone, str, str]] = []

    def register(username: str) -> RegisteringPhone:
        user, password = PHONES[username]
        phone = RegisteringPhone(api.sip_host, api.sip_port)
        status = phone.register(user, password)
        assert status == 200, f"REGISTER for {user} answered {status}"
        phones.append((phone, user, password))
        return phone

    try:
        yield register
    finally:
        for phone, user, password in phones:
            try:
                phone.register(user, password, expires=0)
            finally:
                phone.close()


def wait_for(probe: Callable[[], Any], *, timeout: float = 30.0, message: str = "condition") -> Any:
    """Poll until probe() returns something truthy (a loaded machine may be slow)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error format: a 4xx with {"code", "message"} (and the code we expect)."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    if code is not None:
        assert body["code"] == code, body
    return body
