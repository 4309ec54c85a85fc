"""What the caller meets, as the admin sets it: opening hours and holidays, what a closed
service does, IVR menus, queue announcements and the prompts (text spoken or uploaded)."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import PASSWORDS, Clients, assert_error
from tests.support.server import start_server


def _wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x20\x00" * int(seconds * rate))
    return buffer.getvalue()


def _range(start: datetime, end: datetime) -> dict[str, Any]:
    """A weekly range from `start` to `end` (UTC, under a day apart) on start's weekday."""
    return {
        "weekday": start.weekday(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
    }


@pytest.fixture
def admin(http: Clients) -> httpx.Client:
    return http("admin")


@pytest.fixture
def service(admin: httpx.Client) -> Iterator[dict[str, Any]]:
    """A fresh service of this test's own, deleted afterwards."""
    created = admin.post("/api/admin/services", json={"name": f"Flow {time.monotonic_ns()}"})
    assert created.status_code == 201, created.text
    yield created.json()
    admin.delete(f"/api/admin/services/{created.json()['id']}")


def _menu(admin: httpx.Client, **body: Any) -> dict[str, Any]:
    response = admin.post("/api/admin/menus", json={"name": "Main", **body})
    assert response.status_code == 201, response.text
    return response.json()


# ---- services -----------------------------------------------------------------------------------
def test_a_new_service_is_always_open_with_the_defaults(service: dict[str, Any]) -> None:
    assert service["timezone"] == "UTC" and service["closed_action"] == "message"
    assert service["menu_id"] is None and service["closed_number"] is None
    assert service["announce_position"] is False and service["announce_every_seconds"] == 60
    assert service["open_now"] is True and service["next_change"] is None


def test_service_caller_fields_round_trip_and_checks(
    admin: httpx.Client, service: dict[str, Any]
) -> None:
    sid = service["id"]
    menu = _menu(admin)
    patched = admin.patch(
        f"/api/admin/services/{sid}",
        json={
            "timezone": "Europe/Berlin",
            "closed_action": "forward",
            "closed_number": "5550777",
            "menu_id": menu["id"],
            "announce_position": True,
            "announce_message": True,
            "announce_every_seconds": 0,
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["timezone"] == "Europe/Berlin" and body["closed_number"] == "5550777"
    assert body["menu_id"] == menu["id"] and body["announce_every_seconds"] == 0
    assert admin.get(f"/api/admin/services/{sid}").json() == body
    bad_zone = assert_error(
        admin.patch(f"/api/admin/services/{sid}", json={"timezone": "Mars/Olympus"}),
        422,
        "invalid_timezone",
    )
    assert "Mars/Olympus" in bad_zone["message"]
    assert_error(
        admin.patch(f"/api/admin/services/{sid}", json={"menu_id": 999_999}), 422, "unknown_menu"
    )
    assert_error(
        admin.patch(
            f"/api/admin/services/{sid}",
            json={"closed_action": "forward", "closed_number": None},
        ),
        422,
        "invalid_input",
    )
    assert_error(
        admin.patch(f"/api/admin/services/{sid}", json={"announce_every_seconds": 3601}),
        422,
        "invalid_input",
    )
    assert_error(
        admin.post("/api/admin/services", json={"name": "Z", "timezone": "Nowhere"}),
        422,
        "invalid_timezone",
    )
    # nothing of the refused changes stuck
    assert admin.get(f"/api/admin/services/{sid}").json() == body
    cleared = admin.patch(f"/api/admin/services/{sid}", json={"menu_id": None}).json()
    assert cleared["menu_id"] is None
    assert admin.delete(f"/api/admin/menus/{menu['id']}").status_code == 204


# ---- opening hours ------------------------------------------------------------------------------
def test_hours_round_trip_and_open_now_by_a_calendar_around_now(
    admin: httpx.Client, service: dict[str, Any]
) -> None:
    sid = service["id"]
    now = datetime.now(UTC)
    body = {
        "timezone": "UTC",
        "weekly": [_range(now - timedelta(hours=1), now + timedelta(hours=1))],
        "holidays": [
            {"name": "Christmas", "first": "2026-12-24", "last": "2026-12-26", "yearly": True},
            {"name": "Turn of the year", "first": "2030-12-31", "last": "2031-01-01"},
        ],
    }
    saved = admin.put(f"/api/admin/services/{sid}/hours", json=body)
    assert saved.status_code == 200, saved.text
    hours = saved.json()
    assert hours["weekly"] == body["weekly"]
    assert [h["name"] for h in hours["holidays"]] == ["Christmas", "Turn of the year"]
    assert hours["holidays"][1]["yearly"] is False
    christmas = (now.month, now.day) in ((12, 24), (12, 25), (12, 26))
    assert hours["open_now"] is not christmas
    assert admin.get(f"/api/admin/services/{sid}/hours").json()["weekly"] == body["weekly"]
    # the engine's snapshot has it: the service says open now, closing in about an hour
    got = admin.get(f"/api/admin/services/{sid}").json()
    if not christmas:
        assert got["open_now"] is True
        closes = (now + timedelta(hours=1)).replace(second=0, microsecond=0).timestamp()
        assert abs(got["next_change"] - closes) <= 60

    # open only two hours from now: closed now, opening then
    later = {
        "timezone": "UTC",
        "weekly": [_range(now + timedelta(hours=2), now + timedelta(hours=3))],
    }
    closed = admin.put(f"/api/admin/services/{sid}/hours", json=later).json()
    assert closed["open_now"] is False and closed["holidays"] == []
    opens = (now + timedelta(hours=2)).replace(second=0, microsecond=0).timestamp()
    assert abs(closed["next_change"] - opens) <= 60
    listed = next(s for s in admin.get("/api/admin/services").json() if s["id"] == sid)
    assert listed["open_now"] is False

    # a holiday today closes a day open around the clock
    today = now.date().isoformat()
    holiday = {
        "timezone": "UTC",
        "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
        "holidays": [{"name": "Today", "first": today, "last": today, "yearly": False}],
    }
    assert admin.put(f"/api/admin/services/{sid}/hours", json=holiday).json()["open_now"] is False
    assert admin.get(f"/api/admin/services/{sid}").json()["open_now"] is False

    # empty: always open again
    empty = admin.put(f"/api/admin/services/{sid}/hours", json={"timezone": "UTC"}).json()
    assert empty["open_now"] is True and empty["next_change"] is None
    assert admin.get(f"/api/admin/services/{sid}").json()["open_now"] is True


def test_hours_in_a_time_zone_and_past_midnight(
    admin: httpx.Client, service: dict[str, Any]
) -> None:
    sid = service["id"]
    now = datetime.now(UTC)
    # 22:00 to 02:00 local in Asia/Tokyo (UTC+9, no summer time), around now in Tokyo
    tokyo = now + timedelta(hours=9)
    start = tokyo - timedelta(hours=2)
    body = {"timezone": "Asia/Tokyo", "weekly": [_range(start, start + timedelta(hours=4))]}
    hours = admin.put(f"/api/admin/services/{sid}/hours", json=body).json()
    assert hours["timezone"] == "Asia/Tokyo" and hours["open_now"] is True
    assert admin.get(f"/api/admin/services/{sid}").json()["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"timezone": "Not/AZone"}, "invalid_timezone"),
        ({"weekly": [{"weekday": 0, "start": "25:00", "end": "26:00"}]}, "invalid_time"),
        ({"weekly": [{"weekday": 0, "start": "24:00", "end": "10:00"}]}, "invalid_time"),
        ({"weekly": [{"weekday": 0, "start": "9:00", "end": "17:00"}]}, "invalid_time"),
        ({"weekly": [{"weekday": 7, "start": "09:00", "end": "17:00"}]}, "invalid_input"),
        (
            {"holidays": [{"name": "X", "first": "2026-02-30", "last": "2026-03-01"}]},
            "invalid_date",
        ),
        ({"holidays": [{"name": "X", "first": "tomorrow", "last": "2026-03-01"}]}, "invalid_date"),
        (
            {"holidays": [{"name": "X", "first": "2026-03-02", "last": "2026-03-01"}]},
            "invalid_holiday",
        ),
        ({"weekly": [{"weekday": 0, "start": "09:00", "end": "10:00"}] * 51}, "invalid_input"),
        (
            {"holidays": [{"name": "X", "first": "2026-03-01", "last": "2026-03-01"}] * 201},
            "invalid_input",
        ),
    ],
)
def test_bad_hours_are_refused_and_change_nothing(
    admin: httpx.Client, service: dict[str, Any], body: dict[str, Any], code: str
) -> None:
    sid = service["id"]
    good = {
        "timezone": "Europe/Berlin",
        "weekly": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
        "holidays": [{"name": "New Year", "first": "2026-12-31", "last": "2027-01-01"}],
    }
    assert admin.put(f"/api/admin/services/{sid}/hours", json=good).status_code == 200
    refused = assert_error(admin.put(f"/api/admin/services/{sid}/hours", json=body), 422, code)
    assert refused["message"].endswith(".")
    kept = admin.get(f"/api/admin/services/{sid}/hours").json()
    assert kept["timezone"] == "Europe/Berlin" and kept["weekly"] == good["weekly"]
    assert len(kept["holidays"]) == 1


def test_yearly_holiday_over_new_year_and_a_past_midnight_range_are_accepted(
    admin: httpx.Client, service: dict[str, Any]
) -> None:
    sid = service["id"]
    body = {
        "weekly": [{"weekday": 4, "start": "22:00", "end": "02:00"}],
        "holidays": [
            {"name": "Winter", "first": "2026-12-24", "last": "2027-01-02", "yearly": True}
        ],
    }
    saved = admin.put(f"/api/admin/services/{sid}/hours", json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["weekly"] == body["weekly"]
    assert saved.json()["holidays"][0]["yearly"] is True


def test_hours_of_an_unknown_service_is_404(admin: httpx.Client) -> None:
    assert_error(admin.get("/api/admin/services/999999/hours"), 404, "not_found")
    assert_error(
        admin.put("/api/admin/services/999999/hours", json={"timezone": "UTC"}), 404, "not_found"
    )


# ---- menus --------------------------------------------------------------------------------------
def test_menu_round_trip_replace_and_delete(admin: httpx.Client, service: dict[str, Any]) -> None:
    sid = service["id"]
    sub = _menu(admin, name="Billing questions")
    created = admin.post(
        "/api/admin/menus",
        json={
            "name": "Main menu",
            "timeout_seconds": 8,
            "max_tries": 2,
            "fallback": {"action": "queue", "target": sid},
            "choices": [
                {"digit": "1", "action": "queue", "target": sid},
                {"digit": "2", "action": "menu", "target": sub["id"]},
                {"digit": "0", "action": "forward", "number": "5550123"},
                {"digit": "*", "action": "repeat"},
                {"digit": "#", "action": "hang_up", "target": sid},
            ],
            "prompt_text": "For support press 1. For billing press 2.",
        },
    )
    assert created.status_code == 201, created.text
    menu = created.json()
    mid = menu["id"]
    assert menu["name"] == "Main menu" and menu["timeout_seconds"] == 8 and menu["max_tries"] == 2
    assert menu["fallback"] == {"action": "queue", "target": sid, "number": None}
    digits = {c["digit"]: c for c in menu["choices"]}
    assert set(digits) == {"0", "1", "2", "*", "#"}
    assert digits["2"] == {"digit": "2", "action": "menu", "target": sub["id"], "number": None}
    assert digits["0"]["number"] == "5550123"
    assert digits["#"]["target"] is None  # hang_up takes no target
    assert menu["prompt"] == {"kind": "text", "text": "For support press 1. For billing press 2."}
    assert admin.get(f"/api/admin/menus/{mid}").json() == menu
    assert mid in [m["id"] for m in admin.get("/api/admin/menus").json()]
    assert sub["prompt"]["kind"] == "default" and sub["prompt"]["text"]

    replaced = admin.put(
        f"/api/admin/menus/{mid}",
        json={"name": "Main menu 2", "choices": [{"digit": "9", "action": "menu", "target": mid}]},
    )
    assert replaced.status_code == 200, replaced.text
    again = replaced.json()
    assert again["name"] == "Main menu 2" and again["timeout_seconds"] == 6
    assert again["choices"] == [{"digit": "9", "action": "menu", "target": mid, "number": None}]
    assert again["fallback"]["action"] == "hang_up"
    assert again["prompt"]["kind"] == "text"  # a PUT without prompt_text keeps the prompt
    # the prompt is listed under the menu's name
    prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    assert prompts[f"menu.{mid}"]["label"] == "Menu prompt: Main menu 2"
    assert prompts[f"menu.{mid}"]["kind"] == "text"

    assert admin.delete(f"/api/admin/menus/{mid}").status_code == 204
    assert_error(admin.get(f"/api/admin/menus/{mid}"), 404, "not_found")
    assert admin.delete(f"/api/admin/menus/{sub['id']}").status_code == 204
    prompts = {p["name"] for p in admin.get("/api/admin/cti/prompts").json()}
    assert f"menu.{mid}" not in prompts


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        (
            [{"digit": "1", "action": "queue"}, {"digit": "1", "action": "hang_up"}],
            "duplicate_digit",
        ),
        ([{"digit": "1", "action": "queue", "target": 999_999}], "unknown_service"),
        ([{"digit": "1", "action": "queue"}], "unknown_service"),
        ([{"digit": "1", "action": "voicemail", "target": 999_999}], "unknown_service"),
        ([{"digit": "1", "action": "menu", "target": 999_999}], "unknown_menu"),
        ([{"digit": "1", "action": "forward"}], "invalid_input"),
        ([{"digit": "1", "action": "forward", "number": "not a number"}], "invalid_input"),
        ([{"digit": "A", "action": "hang_up"}], "invalid_input"),
        ([{"digit": "1", "action": "dance"}], "invalid_input"),
    ],
)
def test_bad_menu_choices_are_refused(
    admin: httpx.Client, choices: list[dict[str, Any]], code: str
) -> None:
    before = len(admin.get("/api/admin/menus").json())
    refused = assert_error(
        admin.post("/api/admin/menus", json={"name": "Bad", "choices": choices}), 422, code
    )
    assert refused["message"]
    assert len(admin.get("/api/admin/menus").json()) == before


def test_bad_menu_fields_are_refused(admin: httpx.Client) -> None:
    for body in (
        {"name": "T", "timeout_seconds": 0.5},
        {"name": "T", "timeout_seconds": 61},
        {"name": "T", "max_tries": 0},
        {"name": "T", "max_tries": 11},
        {"name": ""},
        {"name": "T", "prompt_text": "x" * 1001},
        {"name": "T", "prompt_text": ""},
    ):
        assert_error(admin.post("/api/admin/menus", json=body), 422, "invalid_input")
    assert_error(
        admin.post(
            "/api/admin/menus",
            json={"name": "T", "fallback": {"action": "menu", "target": 999_999}},
        ),
        422,
        "unknown_menu",
    )
    assert_error(
        admin.post("/api/admin/menus", json={"name": "T", "prompt_text": "   "}), 422, "empty_text"
    )
    assert_error(admin.put("/api/admin/menus/999999", json={"name": "T"}), 404, "not_found")
    assert_error(admin.delete("/api/admin/menus/999999"), 404, "not_found")


def test_a_menu_in_use_cannot_be_deleted(admin: httpx.Client, service: dict[str, Any]) -> None:
    sid = service["id"]
    target = _menu(admin, name="Target menu")
    parent = _menu(
        admin,
        name="Parent menu",
        choices=[{"digit": "3", "action": "menu", "target": target["id"]}],
    )
    admin.patch(f"/api/admin/services/{sid}", json={"menu_id": target["id"]}).raise_for_status()
    conflict = assert_error(admin.delete(f"/api/admin/menus/{target['id']}"), 409, "menu_in_use")
    assert service["name"] in conflict["message"] and "Parent menu" in conflict["message"]
    admin.patch(f"/api/admin/services/{sid}", json={"menu_id": None}).raise_for_status()
    conflict = assert_error(admin.delete(f"/api/admin/menus/{target['id']}"), 409, "menu_in_use")
    assert "Parent menu" in conflict["message"] and service["name"] not in conflict["message"]
    # the fallback counts too
    admin.put(
        f"/api/admin/menus/{parent['id']}",
        json={"name": "Parent menu", "fallback": {"action": "menu", "target": target["id"]}},
    ).raise_for_status()
    assert_error(admin.delete(f"/api/admin/menus/{target['id']}"), 409, "menu_in_use")
    assert admin.get(f"/api/admin/menus/{target['id']}").status_code == 200
    assert admin.delete(f"/api/admin/menus/{parent['id']}").status_code == 204
    assert admin.delete(f"/api/admin/menus/{target['id']}").status_code == 204


# ---- prompts ------------------------------------------------------------------------------------
def test_prompts_list_set_listen_and_reset(admin: httpx.Client, service: dict[str, Any]) -> None:
    sid = service["id"]
    prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    for name in ("closed", "menu", "queue_message", "overflow", "hold_music", "voicemail"):
        assert name in prompts
    closed = prompts["closed"]
    assert closed["kind"] == "default" and closed["text"] == closed["default_text"] != ""
    own = prompts[f"closed.{sid}"]
    assert own["label"] == f"Closed message: {service['name']}" and own["kind"] == "default"
    assert f"queue_message.{sid}" in prompts

    # a global text: the service's own prompt falls back to it
    text = "We are closed for the holidays."
    set_global = admin.put("/api/admin/cti/prompts/closed", json={"text": text})
    assert set_global.status_code == 200, set_global.text
    assert set_global.json()["kind"] == "text" and set_global.json()["text"] == text
    prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    assert (
        prompts[f"closed.{sid}"]["text"] == text and prompts[f"closed.{sid}"]["kind"] == "default"
    )

    mine = admin.put(f"/api/admin/cti/prompts/closed.{sid}", json={"text": "Support is closed."})
    assert mine.json()["kind"] == "text" and mine.json()["default_text"] == text
    listen = admin.get(f"/api/admin/cti/sounds/closed.{sid}")
    assert listen.status_code == 200, listen.text
    assert listen.headers["content-type"] == "audio/wav" and listen.content[:4] == b"RIFF"
    with wave.open(io.BytesIO(listen.content)) as spoken:
        assert spoken.getframerate() == 8000 and spoken.getnframes() > 8000 * 0.5
    # an upload takes the text's place, and is what one listens to
    upload = _wav()
    put = admin.put(
        f"/api/admin/cti/sounds/closed.{sid}", files={"file": ("c.wav", upload, "audio/wav")}
    )
    assert put.status_code == 204, put.text
    assert admin.get(f"/api/admin/cti/sounds/closed.{sid}").content == upload
    prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    assert prompts[f"closed.{sid}"]["kind"] == "upload"
    # reset: back to the global one
    assert admin.delete(f"/api/admin/cti/sounds/closed.{sid}").status_code == 204
    prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    assert prompts[f"closed.{sid}"]["kind"] == "default"
    assert prompts[f"closed.{sid}"]["text"] == text
    assert admin.delete("/api/admin/cti/sounds/closed").status_code == 204
    prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    assert prompts["closed"]["kind"] == "default" and prompts["closed"]["text"] != text
    # the default of a prompt is spoken too
    default = admin.get("/api/admin/cti/sounds/goodbye")
    assert default.status_code == 200 and default.content[:4] == b"RIFF"


def test_bad_prompts_are_refused(admin: httpx.Client) -> None:
    assert_error(
        admin.put("/api/admin/cti/prompts/closed", json={"text": "x" * 1001}), 422, "invalid_input"
    )
    assert_error(
        admin.put("/api/admin/cti/prompts/closed", json={"text": ""}), 422, "invalid_input"
    )
    assert_error(
        admin.put("/api/admin/cti/prompts/closed", json={"text": " \n "}), 422, "empty_text"
    )
    assert_error(
        admin.put("/api/admin/cti/prompts/hold_music", json={"text": "La la la"}),
        422,
        "music_upload_only",
    )
    assert_error(
        admin.put("/api/admin/cti/prompts/elevator", json={"text": "Hello"}), 422, "invalid_input"
    )
    # an object's prompt needs the object (and a prompt it has)
    for name in ("closed.999999", "menu.999999", "goodbye.1"):
        assert_error(
            admin.put(f"/api/admin/cti/prompts/{name}", json={"text": "Hello"}), 404, "not_found"
        )
    upload = admin.put(
        "/api/admin/cti/sounds/voicemail.999999", files={"file": ("v.wav", _wav(), "audio/wav")}
    )
    assert_error(upload, 404, "not_found")
    assert_error(admin.get("/api/admin/cti/sounds/closed.x"), 422, "invalid_input")
    assert_error(admin.get("/api/admin/cti/sounds/closed."), 422, "invalid_input")


def test_the_position_announcement_is_a_template_of_text_only(
    admin: httpx.Client, service: dict[str, Any]
) -> None:
    sid = service["id"]
    prompts = {p["name"]: p for p in admin.get("/api/admin/cti/prompts").json()}
    assert "{position}" in prompts["queue_position"]["default_text"]
    assert f"queue_position.{sid}" in prompts
    for text, why in (
        ("Please hold.", "{position}"),
        ("You are {place} in line.", "{place}"),
        ("You are {position in line.", "brace"),
    ):
        refused = assert_error(
            admin.put(f"/api/admin/cti/prompts/queue_position.{sid}", json={"text": text}),
            422,
            "bad_template",
        )
        assert why in refused["message"], refused
    upload = admin.put(
        "/api/admin/cti/sounds/queue_position", files={"file": ("p.wav", _wav(), "audio/wav")}
    )
    assert_error(upload, 422, "text_only")
    mine = "Sie sind Nummer {position}. Die Wartezeit ist {wait}."
    saved = admin.put(f"/api/admin/cti/prompts/queue_position.{sid}", json={"text": mine})
    assert saved.status_code == 200 and saved.json()["text"] == mine, saved.text
    # Listen says it with example figures, not the braces.
    listen = admin.get(f"/api/admin/cti/sounds/queue_position.{sid}")
    assert listen.status_code == 200 and listen.content[:4] == b"RIFF", listen.text
    assert admin.delete(f"/api/admin/cti/sounds/queue_position.{sid}").status_code == 204


def test_agents_cannot_reach_the_admin_caller_flow(http: Clients, service: dict[str, Any]) -> None:
    alice = http("alice")
    assert_error(alice.get("/api/admin/menus"), 403)
    assert_error(alice.get(f"/api/admin/services/{service['id']}/hours"), 403)
    assert_error(alice.get("/api/admin/cti/prompts"), 403)


def test_a_service_a_menu_leads_to_cannot_be_deleted(
    admin: httpx.Client, service: dict[str, Any]
) -> None:
    sid = service["id"]
    menu = _menu(
        admin, name="Leads there", choices=[{"digit": "1", "action": "queue", "target": sid}]
    )
    conflict = assert_error(admin.delete(f"/api/admin/services/{sid}"), 409, "service_in_use")
    assert "Leads there" in conflict["message"]
    assert admin.get(f"/api/admin/services/{sid}").status_code == 200
    admin.put(
        f"/api/admin/menus/{menu['id']}",
        json={"name": "Leads there", "fallback": {"action": "voicemail", "target": sid}},
    ).raise_for_status()
    assert_error(admin.delete(f"/api/admin/services/{sid}"), 409, "service_in_use")
    assert admin.delete(f"/api/admin/menus/{menu['id']}").status_code == 204
    assert admin.delete(f"/api/admin/services/{sid}").status_code == 204


def test_listening_to_a_text_prompt_without_espeak_is_a_503_with_the_hint(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A server on a machine without espeak-ng (not on its PATH): the music still plays, a
    text prompt is a 503 that says how to install the engine."""
    empty = tmp_path_factory.mktemp("no-espeak-bin")
    server = start_server(tmp_path_factory.mktemp("no-espeak"), env={"PATH": str(empty)})
    try:
        with server.client(server.login("admin", PASSWORDS["admin"])) as admin:
            refused = assert_error(
                admin.get("/api/admin/cti/sounds/closed"), 503, "speech_unavailable"
            )
            assert "espeak-ng" in refused["message"] and "apt install" in refused["message"]
            music = admin.get("/api/admin/cti/sounds/hold_music")
            assert music.status_code == 200 and music.content[:4] == b"RIFF"
            # an uploaded prompt needs no speech
            put = admin.put(
                "/api/admin/cti/sounds/closed", files={"file": ("c.wav", _wav(), "audio/wav")}
            )
            assert put.status_code == 204, put.text
            assert admin.get("/api/admin/cti/sounds/closed").content == _wav()
    finally:
        server.stop()
