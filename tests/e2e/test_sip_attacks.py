"""The SIP edge under attack, with the real attacker tools of Debian's sipvicious (svmap, svwar,
svcrack) and raw sockets, all on loopback: password cracking fails and bans its source, no
extension can be told from an unknown one, a captured REGISTER cannot be replayed, and a
REGISTER flood from one source is cut and banned while a phone elsewhere still registers.

Loopback has many addresses (127.0.0.0/8): the attackers that need a source of their own use
127.0.0.x, the legitimate phones 127.0.0.1."""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import Rig
from tests.support.rtp import free_udp_port
from tests.support.sipp import digest_register, header

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("svcrack") is None, reason="sipvicious is not installed"),
]


def _run(args: list[str], timeout: float = 120) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    return done.stdout + done.stderr


def _register(
    switch: tuple[str, int],
    user: str,
    *,
    local: tuple[str, int],
    contact: str,
    call_id: str | None = None,
    cseq: int = 1,
    auth: str | None = None,
    expires: int = 600,
) -> str:
    host, port = switch
    lines = [
        f"REGISTER sip:{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport",
        f"From: <sip:{user}@{host}:{port}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <sip:{user}@{host}:{port}>",
        f"Call-ID: {call_id or uuid.uuid4().hex}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <{contact}>",
        f"Expires: {expires}",
        "Max-Forwards: 70",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    return "\r\n".join([*lines, "Content-Length: 0", "", ""])


def _exchange(sock: socket.socket, text: str, switch: tuple[str, int], wait: float = 3.0) -> str:
    """The final response, or "" when none comes (a banned source is not answered)."""
    sock.sendto(text.encode(), switch)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(65535).decode(errors="replace")
        except TimeoutError:
            return ""
        if not re.match(r"SIP/2.0 1\d\d", data):
            return data
    return ""


def _status(reply: str) -> int | None:
    return int(reply.split()[1]) if reply.startswith("SIP/2.0 ") else None


def _authorization(
    challenge: str, user: str, password: str, uri: str, *, nc: int = 1, cnonce: str = "f00d"
) -> str:
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))

    def h(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    nc_text = f"{nc:08x}"
    ha1, ha2 = h(f"{user}:{params['realm']}:{password}"), h(f"REGISTER:{uri}")
    response = h(f"{ha1}:{params['nonce']}:{nc_text}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", response="{response}", algorithm=MD5, qop=auth, nc={nc_text}, '
        f'cnonce="{cnonce}"'
    )


def _socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    return sock


def _bans(rig: Rig) -> list[dict[str, object]]:
    bans: list[dict[str, object]] = rig.admin().call("GET", "/api/admin/sip/bans")
    return bans


def test_svcrack_does_not_find_a_real_password_and_is_banned(rig: Rig, tmp_path: Path) -> None:
    # The real password is in the dictionary, after 40 wrong ones: without the ban it would be
    # found in a fraction of a second.
    words = [f"guess{n:05d}" for n in range(40)] + ["phone1001-demo"]
    dictionary = tmp_path / "words.txt"
    dictionary.write_text("\n".join(words) + "\n")
    host, port = rig.switch
    out = _run(
        [
            "svcrack",
            "-u",
            "1001",
            "-d",
            str(dictionary),
            "-p",
            str(port),
            "-P",
            str(free_udp_port()),
            "--maximumtime=3",
            host,
        ]
    )
    assert "phone1001-demo" not in out, out
    [ban] = _bans(rig)
    assert ban["address"] == "127.0.0.1" and ban["reason"] == "auth_failures"
    assert float(str(ban["until"])) - float(str(ban["since"])) == pytest.approx(600)
    assert "banned" in rig.server.log_tail(200)

    # Dropped without an answer while banned, whoever asks from there.
    with _socket() as sock:
        local = sock.getsockname()
        contact = f"sip:1002@127.0.0.1:{local[1]}"
        assert (
            _exchange(sock, _register(rig.switch, "1002", local=local, contact=contact), rig.switch)
            == ""
        )

    # Lifted by an admin: answered again, and the real password works.
    rig.admin().call("DELETE", "/api/admin/sip/bans/127.0.0.1", expect=204)
    assert _bans(rig) == []
    rig.admin().call("DELETE", "/api/admin/sip/bans/127.0.0.1", expect=404)
    code, _ = digest_register(rig.switch, "1002", "phone1002-demo")
    assert code == 200


def test_svwar_learns_no_extension(rig: Rig) -> None:
    host, port = rig.switch
    target = ["-p", str(port), "-P", str(free_udp_port()), "--maximumtime=3", host]
    assert "SIP" in _run(["svmap", "-p", str(port), "-P", str(free_udp_port()), host])
    # 1001-1003 exist, the rest do not: svwar gets the same challenge for all and gives up.
    out = _run(["svwar", "-e", "995-1010", "-m", "REGISTER", *target])
    assert "unknown extension" in out or "found nothing" in out, out
    assert not re.search(r"\|\s*100[123]\s*\|", out), out
    # Forced to go on, it can only report every number alike, the unknown ones too.
    out = _run(["svwar", "--force", "-e", "995-1010", "-m", "REGISTER", *target])
    found = set(re.findall(r"\|\s*(\d+)\s*\|\s*(\w+)", out))
    assert not found or {e for e, _ in found} == {str(n) for n in range(995, 1011)}, out
    assert len({kind for _, kind in found}) <= 1, out


def test_unknown_user_gets_the_same_answers_as_a_wrong_password(rig: Rig) -> None:
    answers = []
    with _socket() as sock:
        local = sock.getsockname()
        for user in ("1001", "9999"):
            contact = f"sip:{user}@127.0.0.1:{local[1]}"
            call_id = uuid.uuid4().hex
            first = _exchange(
                sock,
                _register(rig.switch, user, local=local, contact=contact, call_id=call_id),
                rig.switch,
            )
            challenge = header(first, "WWW-Authenticate") or ""
            uri = f"sip:{rig.switch[0]}:{rig.switch[1]}"
            auth = _authorization(challenge, user, "not-the-password", uri)
            second = _exchange(
                sock,
                _register(
                    rig.switch,
                    user,
                    local=local,
                    contact=contact,
                    call_id=call_id,
                    cseq=2,
                    auth=auth,
                ),
                rig.switch,
            )
            bogus = auth.replace(re.findall(r'nonce="([^"]+)"', auth)[0], "00.bogus.nonce")
            third = _exchange(
                sock,
                _register(
                    rig.switch,
                    user,
                    local=local,
                    contact=contact,
                    call_id=call_id,
                    cseq=3,
                    auth=bogus,
                ),
                rig.switch,
            )
            answers.append(
                (
                    first.split("\r\n")[0],
                    re.sub(r'nonce="[^"]+"', "", challenge),
                    second.split("\r\n")[0],
                    third.split("\r\n")[0],
                )
            )
    assert answers[0] == answers[1]
    assert [a[0] for a in answers] == ["SIP/2.0 401 Unauthorized"] * 2
    assert [a[2] for a in answers] == ["SIP/2.0 403 Forbidden"] * 2
    assert [a[3] for a in answers] == ["SIP/2.0 401 Unauthorized"] * 2


def test_a_replayed_register_is_refused_and_adds_no_binding(rig: Rig) -> None:
    uri = f"sip:{rig.switch[0]}:{rig.switch[1]}"
    with _socket() as phone, _socket("127.0.0.4") as attacker:
        local = phone.getsockname()
        contact = f"sip:1002@127.0.0.1:{local[1]}"
        call_id = uuid.uuid4().hex
        first = _exchange(
            phone,
            _register(rig.switch, "1002", local=local, contact=contact, call_id=call_id),
            rig.switch,
        )
        auth = _authorization(
            header(first, "WWW-Authenticate") or "", "1002", "phone1002-demo", uri
        )
        ok = _exchange(
            phone,
            _register(
                rig.switch, "1002", local=local, contact=contact, call_id=call_id, cseq=2, auth=auth
            ),
            rig.switch,
        )
        assert _status(ok) == 200

        # The captured Authorization, sent from elsewhere with another Call-ID and Contact.
        there = attacker.getsockname()
        evil = f"sip:1002@127.0.0.4:{there[1]}"
        replay = _exchange(
            attacker,
            _register(rig.switch, "1002", local=there, contact=evil, auth=auth),
            rig.switch,
        )
        assert _status(replay) in (401, 403), replay
        assert not re.findall(r"(?im)^(?:Contact|m):.*127\.0\.0\.4", replay), replay

        # The phone's own next registration (same nonce, next nc) lists only its binding.
        again = _authorization(
            header(first, "WWW-Authenticate") or "", "1002", "phone1002-demo", uri, nc=2
        )
        refresh = _exchange(
            phone,
            _register(
                rig.switch,
                "1002",
                local=local,
                contact=contact,
                call_id=call_id,
                cseq=3,
                auth=again,
            ),
            rig.switch,
        )
        assert _status(refresh) == 200, refresh
        contacts = re.findall(r"(?im)^(?:Contact|m):\s*(.*)$", refresh)
        assert contacts and all("127.0.0.4" not in c for c in contacts), contacts
    assert "nonce count reused" in rig.server.log_tail(100)


def test_a_register_flood_is_cut_and_banned_while_a_phone_registers(rig: Rig) -> None:
    received = 0
    stop = threading.Event()
    flood_sock = _socket("127.0.0.5")
    flood_sock.settimeout(0.2)
    local = flood_sock.getsockname()

    def listen() -> None:
        nonlocal received
        while not stop.is_set():
            try:
                flood_sock.recv(65535)
                received += 1
            except (TimeoutError, OSError):
                continue

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    sent = 0
    contact = f"sip:7777@127.0.0.5:{local[1]}"
    started = time.monotonic()
    try:
        while time.monotonic() - started < 3.0:
            for _ in range(200):
                text = _register(rig.switch, f"7{sent % 1000:03d}", local=local, contact=contact)
                flood_sock.sendto(text.encode(), rig.switch)
                sent += 1
            if sent == 2000:
                # In the middle of the flood a phone on another source registers.
                code, _ = digest_register(rig.switch, "1003", "phone1003-demo")
                assert code == 200
            time.sleep(0.01)
    finally:
        time.sleep(0.5)
        stop.set()
        listener.join()
        flood_sock.close()
    assert sent > 5000
    assert received < 200, f"{received} answers to {sent} flooded REGISTERs"
    bans = {b["address"]: b["reason"] for b in _bans(rig)}
    assert bans == {"127.0.0.5": "flood"}
    log = rig.server.log_tail(400)
    assert log.count("SIP source 127.0.0.5 banned") == 1
    # And the legitimate source still works after it.
    code, _ = digest_register(rig.switch, "1002", "phone1002-demo")
    assert code == 200
