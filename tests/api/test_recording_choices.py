"""Recording choices on a real server: a service records always, never or as the global
setting; the new CTI settings and the notice prompt; recordings older than the retention are
deleted with their files and the ticket says so; who hears a call's recording."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.db import make_engine
from tests.api.conftest import Clients, assert_error, wait_for
from tests.support.server import RunningServer

DAY = 86_400.0
WAV = b"RIFF" + b"\0" * 40  # the router only serves the file; a header is enough here


@pytest.fixture(scope="module")
def store(api: RunningServer) -> Iterator[Engine]:
    """The running server's own database, to write what a recorded call would have written."""
    url = api.database_url or f"sqlite:///{(api.data_dir / 'ringdesk.db').resolve()}"
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def settings(http: Clients) -> Iterator[dict[str, Any]]:
    """The CTI settings as they were, put back afterwards."""
    admin = http("admin")
    before = admin.get("/api/admin/cti/settings").json()
    yield before
    admin.put("/api/admin/cti/settings", json=before).raise_for_status()


def _user_id(db: Session, username: str) -> int:
    found = db.scalar(select(m.User.id).where(m.User.username == username))
    assert found is not None
    return found


def _recorded_ticket(
    store: Engine, data_dir: Path, *, agent: str, ages: dict[str, float], kind: str = "call"
) -> int:
    """A ticket of the demo's service (its call taken by `agent`) with a recording per name in
    `ages` (days old), its file under the data dir; the ticket's id."""
    now = time.time()
    with Session(store) as db:
        ticket = m.Ticket(
            call_id=f"rec-{time.monotonic_ns()}",
            service_id=1,
            direction="inbound",
            customer_number="5551234",
            agent_id=_user_id(db, agent),
            subject="",
            notes="",
            status="open",
            created_at=now - max(ages.values()) * DAY,
        )
        db.add(ticket)
        db.flush()
        for name, age in ages.items():
            relative = f"recordings/{ticket.call_id}/{name}.wav"
            path = data_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(WAV)
            os.utime(path, (now - age * DAY, now - age * DAY))
            db.add(
                m.Recording(
                    ticket_id=ticket.id,
                    kind=kind,
                    path=relative,
                    seconds=5.0,
                    created_at=now - age * DAY,
                )
            )
        db.commit()
        ticket_id: int = ticket.id
    return ticket_id


def test_a_service_records_always_never_or_as_the_global_setting(http: Clients) -> None:
    admin = http("admin")
    created = admin.post(
        "/api/admin/services", json={"name": f"Rec {time.monotonic_ns()}", "record_calls": False}
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    try:
        assert created.json()["record_calls"] is False
        turned = admin.patch(f"/api/admin/services/{sid}", json={"record_calls": True})
        assert turned.status_code == 200 and turned.json()["record_calls"] is True
        kept = admin.patch(f"/api/admin/services/{sid}", json={"name": f"Rec {sid}"})
        assert kept.json()["record_calls"] is True  # not given: unchanged
        back = admin.patch(f"/api/admin/services/{sid}", json={"record_calls": None})
        assert back.status_code == 200 and back.json()["record_calls"] is None
        assert admin.get(f"/api/admin/services/{sid}").json()["record_calls"] is None
        bad = admin.patch(f"/api/admin/services/{sid}", json={"record_calls": "sometimes"})
        assert_error(bad, 422)
        prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
        assert prompts["recording_notice"]["kind"] == "default"
        assert "may be recorded" in prompts["recording_notice"]["text"]
        assert f"recording_notice.{sid}" in prompts  # a service's own notice
        typed = admin.put(
            f"/api/admin/cti/prompts/recording_notice.{sid}",
            json={"text": "Calls to this line are recorded."},
        )
        assert typed.status_code == 200, typed.text
    finally:
        admin.delete(f"/api/admin/services/{sid}")


def test_the_recording_settings_default_save_and_are_checked(
    http: Clients, settings: dict[str, Any]
) -> None:
    admin = http("admin")
    assert settings["recording_notice"] is True
    assert settings["recording_retention_days"] == 0  # kept forever unless an admin says
    assert settings["agents_hear_own_recordings"] is True
    assert settings["supervisor_notice"] is True
    changed = dict(
        settings,
        recording_notice=False,
        recording_retention_days=30,
        agents_hear_own_recordings=False,
        supervisor_notice=False,
    )
    saved = admin.put("/api/admin/cti/settings", json=changed)
    assert saved.status_code == 200, saved.text
    assert admin.get("/api/admin/cti/settings").json() == saved.json()
    assert {k: saved.json()[k] for k in changed} == changed
    refused = admin.put("/api/admin/cti/settings", json=dict(settings, recording_retention_days=-1))
    assert_error(refused, 422, "invalid_input")


def test_recordings_older_than_the_retention_go_with_their_files(
    api: RunningServer, http: Clients, store: Engine, settings: dict[str, Any]
) -> None:
    admin = http("admin")
    ticket = _recorded_ticket(store, api.data_dir, agent="alice", ages={"old": 40, "new": 1})
    voicemail = _recorded_ticket(
        store, api.data_dir, agent="alice", ages={"message": 40}, kind="voicemail"
    )
    orphan = api.data_dir / "recordings" / "no-ticket" / "a-b.wav"  # a call that got no ticket
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(WAV)
    os.utime(orphan, (time.time() - 40 * DAY, time.time() - 40 * DAY))
    before = admin.get(f"/api/tickets/{ticket}").json()
    assert len(before["recordings"]) == 2  # 0 days: nothing goes
    saved = admin.put("/api/admin/cti/settings", json=dict(settings, recording_retention_days=30))
    assert saved.status_code == 200, saved.text

    def swept() -> dict[str, Any] | None:
        body: dict[str, Any] = admin.get(f"/api/tickets/{ticket}").json()
        return body if len(body["recordings"]) == 1 else None

    after = wait_for(swept, timeout=30, message="the old recording deleted")
    assert after["recordings"][0]["url"].endswith(str(after["recordings"][0]["id"]))
    lines = [e["detail"] for e in after["timeline"] if e["kind"] == "recording_deleted"]
    assert lines == ["Recording deleted after 30 days"]
    folder = api.data_dir / "recordings" / before["call_id"]
    assert not (folder / "old.wav").exists() and (folder / "new.wav").exists()
    assert not orphan.exists() and not orphan.parent.exists()
    message = admin.get(f"/api/tickets/{voicemail}").json()
    assert message["recordings"] == []
    assert [e["detail"] for e in message["timeline"] if e["kind"] == "recording_deleted"] == [
        "Voicemail deleted after 30 days"
    ]


def _hears(client: httpx.Client, ticket: int, rid: int) -> tuple[list[str], int]:
    """The kinds of recording the ticket lists for the client, and the status of the call
    recording `rid`'s download."""
    body = client.get(f"/api/tickets/{ticket}")
    assert body.status_code == 200, body.text
    status = client.get(f"/api/tickets/{ticket}/recordings/{rid}").status_code
    return [r["kind"] for r in body.json()["recordings"]], status


def test_who_hears_a_calls_recording(
    api: RunningServer, http: Clients, store: Engine, settings: dict[str, Any]
) -> None:
    admin = http("admin")
    ticket = _recorded_ticket(store, api.data_dir, agent="alice", ages={"talk": 0.1})
    with Session(store) as db:
        rid = db.scalar(select(m.Recording.id).where(m.Recording.ticket_id == ticket))
        assert rid is not None
        # Carol leads the service: the supervisor role, set as the users API sets it.
        db.execute(update(m.User).where(m.User.username == "carol").values(role="supervisor"))
        db.commit()
    try:
        alice, bob, carol = http("alice"), http("bob"), http("carol")
        assert _hears(alice, ticket, rid) == (["call"], 200)  # her own call
        assert _hears(bob, ticket, rid) == ([], 403)  # a colleague of the service: the ticket only
        assert _hears(carol, ticket, rid) == (["call"], 200)
        assert _hears(admin, ticket, rid) == (["call"], 200)
        off = dict(settings, agents_hear_own_recordings=False)
        assert admin.put("/api/admin/cti/settings", json=off).status_code == 200
        assert _hears(alice, ticket, rid) == ([], 403)
        refused = alice.get(f"/api/tickets/{ticket}/recordings/{rid}")
        assert (
            "supervisors and admins" in assert_error(refused, 403, "recording_not_yours")["message"]
        )
        assert _hears(carol, ticket, rid) == (["call"], 200)
        assert _hears(admin, ticket, rid) == (["call"], 200)
    finally:
        with Session(store) as db:
            db.execute(update(m.User).where(m.User.username == "carol").values(role="agent"))
            db.commit()
