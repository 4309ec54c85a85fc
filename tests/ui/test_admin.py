"""Admin pages: every setting of the manual is saved from the page and is there after a reload,
and the server agrees (checked through the API)."""

from __future__ import annotations

import io
import math
import re
import struct
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.server import RunningServer
from tests.ui.desk import Desk, api

# The manual's option names (with an en dash, as on the page).
IB = "Use Phone CTI \u2013 IB (Inbound)"
OB = "Use Phone CTI \u2013 OB (Outbound)"


@pytest.fixture
def admin_desk(desk: Desk) -> Iterator[Desk]:
    desk.goto("/")
    desk.login("admin")
    yield desk


def saved(desk: Desk, scope: object = None) -> None:
    where = desk.page if scope is None else scope
    expect(where.locator(".save-status.is-ok").first).to_be_visible()  # type: ignore[attr-defined]


def test_service_contract_and_routing_round_trip(admin_desk: Desk) -> None:
    page = admin_desk.page
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Customer Support").click()
    expect(page.get_by_role("heading", name="Customer Support", level=1)).to_be_visible()
    page.get_by_label(OB).uncheck()
    page.get_by_label("Strategy").select_option("round_robin")
    page.get_by_label("Maximum wait (seconds)").fill("120")
    page.get_by_label("When the maximum wait is reached").select_option("forward")
    page.get_by_label("Overflow number").fill("5550000")
    page.get_by_label("Service level target (seconds)").fill("30")
    form = page.locator("form", has_text="Contract Details")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".save-status")).to_have_text("Saved.")

    page.reload()
    expect(page.get_by_label(OB)).not_to_be_checked()
    expect(page.get_by_label(IB)).to_be_checked()
    expect(page.get_by_label("Strategy")).to_have_value("round_robin")
    expect(page.get_by_label("Maximum wait (seconds)")).to_have_value("120")
    expect(page.get_by_label("Overflow number")).to_have_value("5550000")
    expect(page.get_by_label("Service level target (seconds)")).to_have_value("30")
    with api(admin_desk.server, "admin") as http:
        service = http.get("/api/admin/services/1").json()
    assert service["outbound_enabled"] is False
    assert service["strategy"] == "round_robin"
    assert service["max_wait_seconds"] == 120
    assert service["overflow_action"] == "forward"

    # Back as it was, from the page too.
    page.get_by_label(OB).check()
    page.get_by_label("Strategy").select_option("longest_idle")
    page.get_by_label("Maximum wait (seconds)").fill("")
    page.get_by_label("When the maximum wait is reached").select_option("none")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".save-status")).to_have_text("Saved.")
    with api(admin_desk.server, "admin") as http:
        service = http.get("/api/admin/services/1").json()
    assert service["outbound_enabled"] is True
    assert service["max_wait_seconds"] is None


def test_invalid_fields_are_all_named_as_their_labels_say(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/services/1")
    page.get_by_label("Inbound number").fill("call-me")
    page.get_by_label("Maximum wait (seconds)").fill("100000")
    form = page.locator("form", has_text="Contract Details")
    form.get_by_role("button", name="Save").click()
    status = form.locator(".save-status.is-error")
    # Every error at once, each named by the field's label, not the API's field name.
    expect(status).to_contain_text("Inbound number: is not a phone number")
    expect(status).to_contain_text("Maximum wait (seconds): must be at most 86400")
    expect(status).not_to_contain_text("max_wait_seconds")
    expect(page.get_by_label("Inbound number")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Maximum wait (seconds)")).to_have_attribute("aria-invalid", "true")
    assert form.locator(".field-error").count() == 2
    # Put right, the marks and messages go.
    page.get_by_label("Maximum wait (seconds)").fill("")
    page.get_by_label("Inbound number").fill("5550100")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".save-status")).to_have_text("Saved.")
    expect(form.locator(".field-error")).to_have_count(0)
    with api(admin_desk.server, "admin") as http:
        assert http.get("/api/admin/services/1").json()["inbound_number"] == "5550100"


def test_phone_permission_round_trip(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/services/1")
    carol = page.get_by_label("Phone permission for Carol Diaz")
    expect(carol).to_be_checked()
    carol.uncheck()
    expect(page.get_by_text("Carol Diaz: phone permission removed.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Phone permission for Carol Diaz")).not_to_be_checked()
    with api(admin_desk.server, "admin") as http:
        rows = http.get("/api/admin/services/1/agents").json()
    assert {r["name"]: r["phone_permission"] for r in rows}["Carol Diaz"] is False
    page.get_by_label("Phone permission for Carol Diaz").check()
    expect(page.get_by_text("Carol Diaz: phone permission granted.")).to_be_visible()


def test_calling_numbers_add_and_remove(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/services/1")
    section = page.locator("section", has=page.get_by_role("heading", name="Calling Numbers"))
    section.get_by_label("Number").fill("5550123")
    section.get_by_label("Label").fill("Promotions")
    section.get_by_role("button", name="Add number").click()
    expect(section.locator("[data-number='5550123']")).to_contain_text("Promotions")
    page.reload()
    expect(section.locator("[data-number='5550123']")).to_be_visible()
    remove = section.get_by_role("button", name="Remove 5550123")
    remove.click()
    dialog = admin_desk.dialog()
    expect(dialog).to_contain_text("5550123")
    # Escape closes the dialog, changes nothing and gives focus back to the button.
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(remove).to_be_focused()
    expect(section.locator("[data-number='5550123']")).to_be_visible()
    # Keyboard only: Enter opens it again; Tab moves from Cancel to Remove inside the dialog.
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Remove")).to_be_focused()
    page.keyboard.press("Enter")
    expect(section.locator("[data-number='5550123']")).to_have_count(0)
    with api(admin_desk.server, "admin") as http:
        numbers = [n["number"] for n in http.get("/api/admin/services/1/calling-numbers").json()]
    assert numbers == ["5550100", "5550199"]


def test_cti_settings_round_trip(admin_desk: Desk) -> None:
    page = admin_desk.page
    with api(admin_desk.server, "admin") as http:
        original = http.get("/api/admin/cti/settings").json()
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="CTI Settings").click()
    page.get_by_label("SIP domain").fill("desk.example.org")
    page.get_by_label("G.711 µ-law (PCMU)").uncheck()
    page.get_by_label("Queue music mode").select_option("answered")
    page.get_by_label("Status after CTI Login").select_option("ready")
    page.get_by_label("Call pickup time (seconds)").fill("25")
    page.get_by_label("Status after an unanswered call").select_option("business")
    page.get_by_label("Maximum missed calls in a row").fill("5")
    page.get_by_label("Wrap-up limit (seconds)").fill("90")
    page.get_by_label("Automatic Outbound Ticket Creation", exact=False).check()
    page.get_by_label("Record calls", exact=False).check()
    form = page.locator("form.settings-form")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".save-status")).to_have_text("Saved.")

    page.reload()
    expect(page.get_by_label("SIP domain")).to_have_value("desk.example.org")
    expect(page.get_by_label("G.711 µ-law (PCMU)")).not_to_be_checked()
    expect(page.get_by_label("G.711 A-law (PCMA)")).to_be_checked()
    expect(page.get_by_label("Queue music mode")).to_have_value("answered")
    expect(page.get_by_label("Status after CTI Login")).to_have_value("ready")
    expect(page.get_by_label("Call pickup time (seconds)")).to_have_value("25")
    expect(page.get_by_label("Status after an unanswered call")).to_have_value("business")
    expect(page.get_by_label("Maximum missed calls in a row")).to_have_value("5")
    expect(page.get_by_label("Wrap-up limit (seconds)")).to_have_value("90")
    expect(page.get_by_label("Automatic Outbound Ticket Creation", exact=False)).to_be_checked()
    expect(page.get_by_label("Record calls", exact=False)).to_be_checked()
    with api(admin_desk.server, "admin") as http:
        now = http.get("/api/admin/cti/settings").json()
        assert now["codecs"] == ["PCMA"]
        assert now["outbound_ticket_on_dial"] is True
        assert now["pickup_seconds"] == 25
        assert now["wrap_up_seconds"] == 90
        assert http.put("/api/admin/cti/settings", json=original).status_code == 200


def test_inbound_trust_and_call_limits_round_trip(admin_desk: Desk) -> None:
    page = admin_desk.page
    with api(admin_desk.server, "admin") as http:
        original = http.get("/api/admin/cti/settings").json()
    admin_desk.goto("/admin/cti-settings")
    expect(page.get_by_label("Calls per source address")).to_have_value("10")
    expect(page.get_by_label("Calls in total")).to_have_value("200")
    expect(page.get_by_label("Waiting calls per service")).to_have_value("50")
    form = page.locator("form.settings-form")
    page.get_by_label("Calls per source address").fill("3")
    page.get_by_label("Calls in total").fill("40")
    page.get_by_label("Waiting calls per service").fill("0")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".save-status")).to_have_text("Saved.")

    page.reload()
    expect(page.get_by_label("Calls per source address")).to_have_value("3")
    expect(page.get_by_label("Calls in total")).to_have_value("40")
    expect(page.get_by_label("Waiting calls per service")).to_have_value("0")
    with api(admin_desk.server, "admin") as http:
        now = http.get("/api/admin/cti/settings").json()
        assert (now["max_calls_per_source"], now["max_calls_total"]) == (3, 40)
        assert now["max_queued_per_service"] == 0
        assert now["allow_any_source"] is False
        assert http.put("/api/admin/cti/settings", json=original).status_code == 200


def tone_wav(path: Path, *, hz: float, seconds: float = 0.5, rate: int = 8000) -> Path:
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate)))
        for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


def wav_frames(data: bytes) -> bytes:
    with wave.open(io.BytesIO(data)) as w:
        frames: bytes = w.readframes(w.getnframes())
    return frames


def test_hold_music_upload_play_and_restore(admin_desk: Desk, tmp_path: Path) -> None:
    server: RunningServer = admin_desk.server
    page = admin_desk.page
    with api(server, "admin") as http:
        default = http.get("/api/admin/cti/sounds/hold_music").content
    admin_desk.goto("/admin/cti-settings")
    row = page.locator("[data-sound='hold_music']")
    row.get_by_label("New hold music (WAV)").set_input_files(
        str(tone_wav(tmp_path / "t.wav", hz=440))
    )
    row.get_by_role("button", name="Upload Hold music").click()
    expect(row.locator(".save-status")).to_have_text("Uploaded.")
    with api(server, "admin") as http:
        uploaded = http.get("/api/admin/cti/sounds/hold_music").content
    assert uploaded != default
    assert len(wav_frames(uploaded)) > 0
    # Play loads the sound into an <audio> element (with the token, as a blob).
    row.get_by_role("button", name="Play Hold music").click()
    audio = row.locator("audio")
    expect(audio).to_be_visible()
    src = audio.get_attribute("src") or ""
    assert src.startswith("blob:"), src
    duration = page.wait_for_function(
        "el => el.readyState >= 1 && el.duration > 0 ? el.duration : null",
        arg=audio.element_handle(),
    ).json_value()
    assert 0.3 < duration < 10

    # A file that is not a WAV is refused with the server's reason.
    (tmp_path / "notes.txt").write_text("not audio")
    row.get_by_label("New hold music (WAV)").set_input_files(str(tmp_path / "notes.txt"))
    row.get_by_role("button", name="Upload Hold music").click()
    expect(row.locator(".save-status.is-error")).to_be_visible()

    row.get_by_role("button", name="Restore default Hold music").click()
    admin_desk.dialog().get_by_role("button", name="Restore default").click()
    expect(row.locator(".save-status")).to_have_text("Default restored.")
    with api(server, "admin") as http:
        assert http.get("/api/admin/cti/sounds/hold_music").content == default


def test_cti_agent_management_round_trip(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/cti-agents")
    carol = page.locator("form[data-user]", has_text="Carol Diaz")
    expect(carol.get_by_text("Phone not registered")).to_be_visible()
    carol.get_by_label("CTI number").fill("1033")
    carol.get_by_label("Phone password", exact=True).fill("new-secret-1003")
    carol.get_by_role("button", name="Save CTI for Carol Diaz").click()
    expect(carol.locator(".save-status")).to_have_text("Saved.")
    page.reload()
    carol = page.locator("form[data-user]", has_text="Carol Diaz")
    expect(carol.get_by_label("CTI ID")).to_have_value("1003")
    expect(carol.get_by_label("CTI number")).to_have_value("1033")
    expect(carol.get_by_label("Phone password", exact=True)).to_have_attribute(
        "placeholder", "Unchanged"
    )
    with api(admin_desk.server, "admin") as http:
        rows = {r["name"]: r for r in http.get("/api/admin/cti/agents").json()}
        assert rows["Carol Diaz"]["cti_number"] == "1033"
        back = {"cti_id": "1003", "cti_number": "1003", "phone_password": "phone1003-demo"}
        assert http.put(
            f"/api/admin/cti/agents/{rows['Carol Diaz']['user_id']}", json=back
        ).is_success


def test_users_add_edit_and_delete(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/users")
    form = page.locator("form", has_text="New user")
    form.get_by_label("Username").fill("dave")
    form.get_by_label("Full name").fill("Dave Park")
    form.get_by_label("Password").fill("park-ranger-42")
    form.get_by_label("Role").select_option("agent")
    form.get_by_role("button", name="Add user").click()
    expect(page.locator("tr", has_text="dave")).to_contain_text("Dave Park")
    page.reload()
    expect(page.locator("tr", has_text="dave")).to_be_visible()

    page.get_by_role("button", name="Edit Dave Park").click()
    dialog = admin_desk.dialog()
    dialog.get_by_label("Full name").fill("David Park")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text="dave")).to_contain_text("David Park")
    # The new user can log in with the password set here.
    assert admin_desk.server.login("dave", "park-ranger-42")

    page.get_by_role("button", name="Delete David Park").click()
    admin_desk.dialog().get_by_role("button", name="Delete").click()
    expect(page.locator("tr", has_text="dave")).to_have_count(0)
    page.reload()
    expect(page.locator("tr", has_text="Bob Chen")).to_be_visible()
    expect(page.locator("tr", has_text="dave")).to_have_count(0)


def test_new_service_is_created_and_opened(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/services")
    form = page.locator("form", has_text="New service")
    form.get_by_label("Service name").fill("Billing")
    form.get_by_label("Inbound number").fill("5550200")
    form.get_by_role("button", name="Create service").click()
    expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()
    expect(page.get_by_label("Inbound number")).to_have_value("5550200")
    page.get_by_role("link", name="All services").click()
    expect(page.get_by_role("link", name="Billing")).to_be_visible()


def test_cti_agent_auto_answer_checkbox_round_trip(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/cti-agents")
    bob = page.locator("form[data-user]", has_text="Bob Chen")
    box = bob.get_by_label("Auto Answer")
    expect(box).not_to_be_checked()
    box.check()
    bob.get_by_role("button", name="Save CTI for Bob Chen").click()
    expect(bob.locator(".save-status")).to_have_text("Saved.")
    with api(admin_desk.server, "admin") as http:
        rows = {r["name"]: r for r in http.get("/api/admin/cti/agents").json()}
        assert rows["Bob Chen"]["auto_answer"] is True
        assert rows["Alice Martin"]["auto_answer"] is False  # only Bob's row was saved
        try:
            page.reload()
            bob = page.locator("form[data-user]", has_text="Bob Chen")
            expect(bob.get_by_label("Auto Answer")).to_be_checked()
            bob.get_by_label("Auto Answer").uncheck()
            bob.get_by_role("button", name="Save CTI for Bob Chen").click()
            expect(bob.locator(".save-status")).to_have_text("Saved.")
            bob_id = rows["Bob Chen"]["user_id"]
            assert http.get(f"/api/admin/cti/agents/{bob_id}").json()["auto_answer"] is False
        finally:
            back = {"cti_id": "1002", "cti_number": "1002", "auto_answer": False}
            url = f"/api/admin/cti/agents/{rows['Bob Chen']['user_id']}"
            assert http.put(url, json=back).is_success


def test_cti_agent_ring_on_offer_checkbox_round_trip(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/cti-agents")
    carol = page.locator("form[data-user]", has_text="Carol Diaz")
    box = carol.get_by_label("Phone rings with the offer")
    expect(box).not_to_be_checked()
    expect(box).to_have_accessible_description(re.compile("does not answer by itself"))
    box.check()
    carol.get_by_role("button", name="Save CTI for Carol Diaz").click()
    expect(carol.locator(".save-status")).to_have_text("Saved.")
    with api(admin_desk.server, "admin") as http:
        rows = {r["name"]: r for r in http.get("/api/admin/cti/agents").json()}
        try:
            assert rows["Carol Diaz"]["ring_on_offer"] is True
            assert rows["Carol Diaz"]["auto_answer"] is False
            assert rows["Alice Martin"]["ring_on_offer"] is False  # only Carol's row was saved
            page.reload()
            carol = page.locator("form[data-user]", has_text="Carol Diaz")
            expect(carol.get_by_label("Phone rings with the offer")).to_be_checked()
        finally:
            back = {"cti_id": "1003", "cti_number": "1003", "ring_on_offer": False}
            url = f"/api/admin/cti/agents/{rows['Carol Diaz']['user_id']}"
            assert http.put(url, json=back).is_success


def test_trunks_page_adds_edits_and_refuses_a_bad_source(admin_desk: Desk) -> None:
    page = admin_desk.page
    admin_desk.goto("/admin/trunks")
    # The demo's own trunk is listed (priority 100); ours goes in front of it.
    expect(page.locator("tr", has_text="Demo trunk")).to_contain_text("127.0.0.1:5080 (UDP)")
    form = page.locator("form.settings-form")
    form.get_by_label("Name", exact=True).fill("carrier-a")
    # A name the hosts file answers: the test server asks no DNS server for it.
    form.get_by_label("Host", exact=True).fill("localhost")
    form.get_by_label("Number format out").select_option("national")
    form.get_by_label("Country code").fill("49")
    form.get_by_label("Caller ID header").select_option("rpid")
    # A host name is not a source: the server's sentence is shown and the field marked.
    form.get_by_label("Other sources").fill("sbc.example.com")
    form.get_by_role("button", name="Add trunk").click()
    expect(form.locator(".save-status")).to_contain_text("sources")
    expect(form.locator("[name=sources]")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Other sources").fill("192.0.2.7")
    form.get_by_role("button", name="Add trunk").click()
    expect(form.locator(".save-status")).to_contain_text("carrier-a saved.")
    row = page.locator("tr", has_text="carrier-a")
    expect(row).to_contain_text("localhost:5060 (UDP)")
    expect(row).to_contain_text("Not used")
    row.get_by_role("button", name="Edit carrier-a").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Country code")).to_have_value("49")
    dialog.get_by_label("Priority").fill("7")
    # Auto (NAPTR/SRV) is located by DNS: choosing it sets the port to 0. Disabled, so the
    # test server asks no DNS server.
    dialog.get_by_label("Transport").select_option("auto")
    expect(dialog.get_by_label("Port", exact=True)).to_have_value("0")
    dialog.get_by_label("Enabled").uncheck()
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text="carrier-a").locator("td").first).to_have_text("7")
    expect(page.locator("tr", has_text="carrier-a")).to_contain_text("localhost (AUTO)")
    with api(admin_desk.server, "admin") as http:
        trunks = http.get("/api/admin/trunks").json()
        first = trunks[0]
        assert (first["name"], first["priority"], first["identity_header"]) == (
            "carrier-a",
            7,
            "rpid",
        )
        assert first["sources"] == ["192.0.2.7"]
        assert [t["name"] for t in trunks] == ["carrier-a", "Demo trunk"]
        assert (trunks[0]["transport"], trunks[0]["port"]) == ("auto", 0)
        assert http.delete(f"/api/admin/trunks/{trunks[0]['id']}").status_code == 204
