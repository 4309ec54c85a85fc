"""A service's own recording choice beats the global setting, with real calls: "Do not record"
gets no recording while the global setting is on; "Record" is recorded with the global setting
off, and its caller hears the notice (the service's own text, spoken by the server, compared
frame by frame) before an agent takes the call."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SERVICE_ID, Rig
from tests.support.rtp import read_wav

pytestmark = pytest.mark.e2e


def test_do_not_record_and_record_beat_the_global_setting_and_the_caller_is_told(
    rig: Rig,
) -> None:
    admin = rig.admin()
    service = f"/api/admin/services/{SERVICE_ID}"
    admin.update_settings(record_calls=True)
    admin.call("PATCH", service, json={"record_calls": False})
    alice = rig.agent("alice")
    phone = rig.phone("alice")
    alice.ready()
    customer, _rtp, call = rig.connect_inbound("alice")
    phone.wait_heard(2.0)
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    assert alice.ticket(call["ticket_id"])["recordings"] == []
    folder = rig.server.data_dir / "recordings"
    assert not folder.exists() or not any(folder.iterdir()), "no file recorded either"

    admin.update_settings(record_calls=False)
    admin.call("PATCH", service, json={"record_calls": True})
    admin.call(
        "PUT",
        f"/api/admin/cti/prompts/recording_notice.{SERVICE_ID}",
        json={"text": "This call is recorded for quality and for training."},
    )
    notice = read_wav(admin.sound(f"recording_notice.{SERVICE_ID}"))
    # Alice is in Ticket Processing after her call: the caller waits and hears the notice.
    customer, rtp = rig.customer()
    admin.wait_queue(SERVICE_ID, 1)
    # 30 frames in a row (0.6 s of speech) anywhere in it: a loaded machine may drop a packet.
    heard, _ = rtp.wait_matching(notice, frames=30, min_loud=20)
    assert heard.matched == 30, f"the caller hears the recording notice: {heard}"
    alice.set_status("ready")
    offer = alice.wait_offer()
    alice.answer(offer["call_id"])
    customer.wait_answered()
    rig.aim(customer, rtp)
    second = alice.wait_talking()
    phone.wait_heard(2.0)
    customer.hang_up()
    assert customer.wait_ended() == "by_customer"
    ticket = alice.ticket(second["ticket_id"])
    (recording,) = ticket["recordings"]
    assert recording["kind"] == "call" and recording["seconds"] >= 1.5, recording
    assert alice.call("GET", recording["url"])[:4] == b"RIFF"
