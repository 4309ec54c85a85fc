"""The digit in a SIP INFO that carries DTMF (phones that send key presses in signalling).

Two bodies are in use: application/dtmf-relay ("Signal=5\\r\\nDuration=160", Signal a key or,
from some phones, the RFC 4733 event number: 10 for *, 11 for #) and application/dtmf (the body
is the key or its event number). Anything else, or a body we cannot read, gives None.
"""

from __future__ import annotations

KEYS = "0123456789*#ABCD"  # RFC 4733 event codes 0-15 in order


def _key(value: str) -> str | None:
    value = value.strip().upper()
    if len(value) == 1 and value in KEYS:
        return value
    if value.isascii() and value.isdigit() and int(value) < len(KEYS):
        return KEYS[int(value)]
    return None


def digit_from_info(content_type: str, body: bytes) -> str | None:
    """The digit of an INFO request with this Content-Type and body, None if it has none."""
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if kind == "application/dtmf":
        return _key(text)
    if kind != "application/dtmf-relay":
        return None
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip().lower() == "signal":
            return _key(value)
    return None
