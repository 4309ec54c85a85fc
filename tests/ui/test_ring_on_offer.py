"""The widget of an agent whose desk phone rings with the offer: the offer card says the phone
is ringing, and picking the phone up (baresip `accept`) turns the widget to the call."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support import rtp
from tests.support.baresip import Baresip
from tests.support.server import RunningServer
from tests.ui.calls import PHONE_PASSWORDS, call_in
from tests.ui.desk import Desk, api


@pytest.fixture
def carol_phone(server: RunningServer, tmp_path: Path) -> Iterator[Baresip]:
    """Carol's (1003) desk phone, which does not answer by itself, and the setting on."""
    with api(server, "admin") as http:
        row = next(a for a in http.get("/api/admin/cti/agents").json() if a["cti_id"] == "1003")
        url = f"/api/admin/cti/agents/{row['user_id']}"
        on = http.put(url, json={"cti_id": "1003", "cti_number": "1003", "ring_on_offer": True})
        assert on.json()["ring_on_offer"] is True
        wav = rtp.write_wav(tmp_path / "voice.wav", rtp.test_signal(1.0, seed=9) * 60)
        phone = Baresip(
            tmp_path,
            user="1003",
            password=PHONE_PASSWORDS["1003"],
            registrar=(server.sip_host, server.sip_port),
            source_wav=wav,
            answermode="manual",
            name="phone-1003",
        )
        try:
            phone.start()
            phone.wait_registered(timeout=60)
            yield phone
        finally:
            phone.stop()
            back = {"cti_id": "1003", "cti_number": "1003", "ring_on_offer": False}
            assert http.put(url, json=back).is_success


def test_the_offer_card_says_the_phone_rings_and_picking_it_up_answers(
    desk: Desk, carol_phone: Baresip, tmp_path: Path
) -> None:
    desk.goto("/")
    desk.login("carol")
    desk.cti_login()
    expect(desk.widget.get_by_text("Phone not registered")).to_have_count(0)
    desk.set_status("Ready")
    mark = carol_phone.mark()
    customer = call_in(desk.server, tmp_path)
    widget = desk.open_widget()
    offer = widget.locator(".offer-card")
    expect(offer).to_contain_text("5551234")
    expect(offer.locator(".phone-ringing")).to_have_text(re.compile("Your phone is ringing"))
    carol_phone.wait_event("CALL_INCOMING", since=mark)
    carol_phone.accept()
    customer.wait_answered()
    expect(widget.locator(".offer-card")).to_have_count(0)
    expect(widget.locator(".call-card")).to_contain_text("On call with")
    desk.expect_status("On Call")
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
