"""A trunk configured by name is told the address chosen for where the name resolves, in the
REGISTER and the INVITE (Contact and Via): the name itself is in no local network and has no
route, so it would get the external address (or, bound to 0.0.0.0 with none set, loopback)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ringdesk.core.telephony import Originate
from ringdesk.sip.message import Request, make_response
from ringdesk.sip.uri import parse_name_addr
from ringdesk.switch import Switch
from ringdesk.switch.addresses import Addresses
from ringdesk.switch.lookup import TrunkSettings

from .harness import Events, FakeDirectory, FakeMedia, Peer

EXTERNAL = "203.0.113.5"  # what peers outside the local networks are told


def _ours(msg: Request) -> tuple[str | None, str]:
    """The host of our Contact and our Via's sent-by."""
    contact = parse_name_addr(msg.headers.get("contact") or "").uri.host
    via = (msg.headers.get("via") or "").split()[1]
    return contact, via.split(";")[0].rsplit(":", 1)[0]


async def test_a_trunk_by_name_is_told_the_address_for_what_it_resolves_to(
    tmp_path: Path,
) -> None:
    directory = FakeDirectory(tmp_path)
    switch = Switch(
        "127.0.0.1",
        0,
        directory=directory,
        sink=Events(),
        data_dir=tmp_path,
        media=FakeMedia(),
        addresses=Addresses("127.0.0.1", EXTERNAL, ()),
    )
    await switch.start()
    trunk = await Peer().open(("127.0.0.1", switch.local_port))
    try:
        # `localhost` is 127.0.0.1: loopback, local, so it is told the bound address.
        directory.trunk_settings = TrunkSettings(
            host="localhost", port=trunk.port, register=True, username="acct", password="pw"
        )
        register = await trunk.expect_request("REGISTER")
        assert _ours(register) == ("127.0.0.1", "127.0.0.1")
        contact = register.headers.get("contact") or ""
        trunk.send(make_response(register, 200, headers=[("Contact", f"{contact};expires=60")]))
        for _ in range(100):  # calls go to a registering trunk once it is registered
            if switch.trunk_registrations.ready(directory.trunk_settings):
                break
            await asyncio.sleep(0.05)
        switch.execute(Originate("c1", "out-1", "5551234", "5550199"))
        invite = await trunk.expect_request("INVITE")
        assert invite.uri.host == "localhost"  # the URI keeps the name
        assert _ours(invite) == ("127.0.0.1", "127.0.0.1")
    finally:
        trunk.close()
        await switch.stop()
