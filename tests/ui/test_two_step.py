"""Two-step sign-in in the browser: an admin sets it up on the account page (the key shown to type
into an app, a code from it, the recovery codes shown once), then signs in with a code from the
app, and once more with a recovery code. Codes come from pyotp, as from an authenticator app."""

from __future__ import annotations

import time

import pyotp
from playwright.sync_api import expect

from tests.api.conftest import PASSWORDS
from tests.ui.desk import Desk

PASSWORD = "two-step-pass-1"


def _codes(secret: str) -> list[str]:
    """The codes of the step before now, now and the next, in the order they may be used.

    Made at least 10 s before the step ends, so the first is still accepted when it arrives.
    """
    totp = pyotp.TOTP(secret)
    while time.time() % 30 > 20:
        time.sleep(0.2)
    current = totp.timecode(time.time())
    return [totp.generate_otp(step) for step in (current - 1, current, current + 1)]


def test_set_up_two_step_sign_in_then_log_in_with_a_code_and_a_recovery_code(
    desk: Desk,
) -> None:
    with desk.server.client(desk.server.login("admin", PASSWORDS["admin"])) as admin:
        created = admin.post(
            "/api/admin/users",
            json={"username": "tina", "name": "Tina Ray", "password": PASSWORD, "role": "admin"},
        )
        assert created.status_code == 201, created.text
    page = desk.page
    desk.goto("/")
    desk.login("tina", PASSWORD)
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()
    section = page.locator("section", has=page.get_by_role("heading", name="Two-step sign-in"))
    expect(section).to_contain_text("Off.")

    section.get_by_label("Your password").fill(PASSWORD)
    section.get_by_role("button", name="Set up two-step sign-in").click()
    secret = section.locator("[data-totp=secret]").inner_text()
    assert len(secret) == 32
    expect(section.locator("[data-totp=uri]")).to_contain_text(f"secret={secret}")
    codes = _codes(secret)
    section.get_by_label("Code from the app").fill(codes[0])
    section.get_by_role("button", name="Turn on").click()
    shown = section.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(shown).to_have_count(10)
    recovery = shown.all_inner_texts()
    section.get_by_role("button", name="I have saved them").click()
    expect(section).to_contain_text("10 recovery codes left")

    # Log in again: the password, then the code the app shows now.
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").fill("tina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code = page.get_by_label("Authentication code")
    expect(code).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    code.fill("000000" if codes[1] != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong code")
    code.fill(codes[1])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator(".topbar")).to_contain_text("Tina Ray")

    # Without the phone: a recovery code instead.
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").fill("tina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Use a recovery code").click()
    expect(page.get_by_label("Authentication code")).to_be_hidden()
    page.get_by_label("Recovery code").fill(recovery[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.get_by_role("link", name="Account").click()
    section = page.locator("section", has=page.get_by_role("heading", name="Two-step sign-in"))
    expect(section).to_contain_text("9 recovery codes left")
