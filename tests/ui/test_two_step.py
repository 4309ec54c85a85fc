"""Two-step sign-in in the browser: an admin sets it up on the account page (a QR code to scan,
drawn under the CSP, and the key shown to type into an app; a code from it; the recovery codes
shown once), then signs in with a code from the app, and once more with a recovery code. Codes
come from pyotp, as from an authenticator app; the QR code is read from a screenshot of the page
by zxing-cpp, as a phone's camera would."""

from __future__ import annotations

import struct
import time
import zlib

import pyotp
import zxingcpp
from playwright.sync_api import ConsoleMessage, expect

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


def _grey(png: bytes) -> tuple[bytearray, int, int]:
    """A screenshot (8-bit RGB or RGBA PNG, as chromium writes them) as grey-scale pixels."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data = 8, b""
    width = height = channels = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        chunk = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += chunk
        pos += 12 + length
    raw = zlib.decompress(data)
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):  # the PNG filters: none, sub, up, average, Paeth
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        previous = line
    grey = bytearray(width * height)
    for y, line in enumerate(rows):
        for x in range(width):
            r, g, b = line[x * channels : x * channels + 3]
            grey[y * width + x] = (r * 299 + g * 587 + b * 114) // 1000
    return grey, width, height


def _scan(png: bytes) -> list[str]:
    grey, width, height = _grey(png)
    found = zxingcpp.read_barcodes(memoryview(grey).cast("B", (height, width)))
    return [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]


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

    violations: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(message.text)

    page.on("console", note)
    section.get_by_label("Your password").fill(PASSWORD)
    section.get_by_role("button", name="Set up two-step sign-in").click()
    qr = section.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    assert qr.evaluate("e => e.tagName") == "svg"
    assert qr.locator("path").count() == 1
    box = qr.bounding_box()
    assert box is not None and 150 <= box["width"] == box["height"] <= 400, box
    secret = section.locator("[data-totp=secret]").inner_text()
    assert len(secret) == 32
    uri = section.locator("[data-totp=uri]").inner_text()
    assert f"secret={secret}" in uri
    # What a phone's camera sees: the page's pixels read as the address shown beside them.
    assert _scan(qr.screenshot()) == [uri]
    assert violations == []
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
