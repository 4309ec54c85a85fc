"""A switch bound to '::' seen from a dual-stack namespace (tests/support/netns.py): a caller
there, once over IPv4 and once over IPv6, is told the address of our interface toward it (the
veth's, chosen by the route lookup), never loopback or '::', in the Contact and the SDP of our
183 (IN IP4 / IN IP6 as it asked).

The namespace and its veth exist only for this test (10.201.9.0/24 and fd00:201:9::/64, on
the veth alone); nothing leaves the machine."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ringdesk.core.telephony import CallArrived, StartQueueMusic
from ringdesk.switch import Switch
from ringdesk.switch.addresses import Addresses
from tests.support.netns import Namespace, require_tools, run
from tests.unit.switch.harness import Events, FakeDirectory, FakeMedia, sdp

pytestmark = pytest.mark.e2e

OURS4, THEIRS4 = "10.201.9.1", "10.201.9.2"
OURS6, THEIRS6 = "fd00:201:9::1", "fd00:201:9::2"

# Runs in the namespace: one INVITE to the switch, then prints what comes back until a 183.
_CALLER = r"""
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
host, port, me, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((me, 0))
s.settimeout(10)
mine = s.getsockname()[1]
uh = f"[{host}]" if ":" in host else host
mh = f"[{me}]" if ":" in me else me
msg = (
    f"INVITE sip:5550100@{uh}:{port} SIP/2.0\r\n"
    f"Via: SIP/2.0/UDP {mh}:{mine};branch=z9hG4bK{sys.argv[5]};rport\r\n"
    f"Max-Forwards: 70\r\nFrom: <sip:5551234@{mh}>;tag=ns1\r\nTo: <sip:5550100@{uh}>\r\n"
    f"Call-ID: {sys.argv[5]}\r\nCSeq: 1 INVITE\r\nContact: <sip:c@{mh}:{mine}>\r\n"
    f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
)
s.sendto(msg.encode(), (host, port))
print("sent", flush=True)
while True:
    data = s.recv(65535).decode()
    print(data.replace("\r\n", "|"), flush=True)
    if data.startswith("SIP/2.0 183"):
        break
"""


@pytest.fixture
def dual_ns() -> Iterator[Namespace]:
    require_tools()
    tag = secrets.token_hex(2)
    ns = Namespace(f"rd{tag}-v6")
    ours, theirs = f"rd{tag}v6a", f"rd{tag}v6b"
    run("ip", "netns", "add", ns.name)
    try:
        ns.run("ip", "link", "set", "lo", "up")
        run("ip", "link", "add", ours, "type", "veth", "peer", "name", theirs)
        run("ip", "link", "set", theirs, "netns", ns.name)
        run("ip", "addr", "add", f"{OURS4}/24", "dev", ours)
        run("ip", "addr", "add", f"{OURS6}/64", "dev", ours, "nodad")
        run("ip", "link", "set", ours, "up")
        ns.run("ip", "addr", "add", f"{THEIRS4}/24", "dev", theirs)
        ns.run("ip", "addr", "add", f"{THEIRS6}/64", "dev", theirs, "nodad")
        ns.run("ip", "link", "set", theirs, "up")
        yield ns
    finally:
        run("ip", "netns", "del", ns.name, check=False)
        run("ip", "link", "del", ours, check=False)


async def _call(
    ns: Namespace, switch: Switch, events: Events, ours: str, theirs: str, call_id: str
) -> str:
    body = sdp(30000, host=theirs)
    proc = await asyncio.create_subprocess_exec(
        *ns.exec_args(
            sys.executable, "-c", _CALLER, ours, str(switch.local_port), theirs, body, call_id
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    arrived = await events.wait_for(CallArrived, timeout=20)
    assert isinstance(arrived, CallArrived)
    switch.execute(StartQueueMusic(arrived.call_id, arrived.leg_id))
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_dual_stack_switch_tells_each_family_its_routed_address(
    dual_ns: Namespace, tmp_path: Path
) -> None:
    events = Events()
    switch = Switch(
        "::",
        0,
        directory=FakeDirectory(tmp_path),
        sink=events,
        data_dir=tmp_path,
        media=FakeMedia(),
        addresses=Addresses("::"),
        media_addresses=Addresses("::"),
    )
    await switch.start()
    try:
        port = switch.local_port
        v4 = await _call(dual_ns, switch, events, OURS4, THEIRS4, "ns-v4")
        assert f"Contact: <sip:ringdesk@{OURS4}:{port}>" in v4
        assert f"c=IN IP4 {OURS4}|" in v4
        v6 = await _call(dual_ns, switch, events, OURS6, THEIRS6, "ns-v6")
        assert f"Contact: <sip:ringdesk@[{OURS6}]:{port}>" in v6
        assert f"c=IN IP6 {OURS6}|" in v6
        for text in (v4, v6):
            assert "127.0.0.1" not in text and "[::1]" not in text
    finally:
        await switch.stop()
