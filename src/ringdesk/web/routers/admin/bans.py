"""SIP bans: the sources the switch's gate drops (too many failed logins, or a flood), and
lifting one. Bans live in the switch's memory only: a restart lifts them all, which is the
price of keeping the per-packet check a dictionary lookup."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from typing_extensions import TypedDict

from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError
from ringdesk.web.routers.admin.common import PREFIX

router = APIRouter(prefix=PREFIX, tags=["admin"])

# An IPv4 or IPv6 address as the switch saw it (no port: bans are per address).
BanAddress = Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[0-9A-Fa-f:.]+$")]


class SipBan(TypedDict):
    address: str
    reason: str  # "auth_failures" or "flood"
    since: float  # Unix time the ban began
    until: float  # Unix time it ends by itself


@router.get("/sip/bans")
def sip_bans(_: Admin, runtime: RuntimeDep) -> list[SipBan]:
    return [
        {"address": b.address, "reason": b.reason, "since": b.since, "until": b.until}
        for b in runtime.sip_bans()
    ]


@router.delete("/sip/bans/{address}", status_code=204)
def lift_sip_ban(address: BanAddress, _: Admin, runtime: RuntimeDep) -> Response:
    if not runtime.lift_sip_ban(address):
        raise ApiError(404, "not_found", f"No ban of {address}.")
    return Response(status_code=204)
