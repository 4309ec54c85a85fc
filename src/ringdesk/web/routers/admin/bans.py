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
    reason: str  # "auth_failures", "flood" or "connections"
    since: float  # Unix time the ban began
    until: float  # Unix time it ends by itself


@router.get("/sip/bans")
def sip_bans(_: Admin, runtime: RuntimeDep) -> list[SipBan]:
    return [
        {"address": b.address, "reason": b.reason, "since": b.since, "until": b.until}
        for b in runtime.sip_bans()
    ]


class SipRefused(TypedDict):
    untrusted: int  # not from the trunk while allow_any_source is off (403)
    source_limit: int  # the source address had max_calls_per_source live calls (486)
    total_limit: int  # max_calls_total live inbound calls (503, Retry-After)
    queue_full: int  # the service's queue held max_queued_per_service calls (486)


class SipRefusals(TypedDict):
    """Inbound calls refused at the SIP edge since the server started (kept in memory, like
    the bans). The queue-full ones are also call records: they count in /api/stats."""

    refused: SipRefused
    live_inbound_calls: int  # customer legs now, against max_calls_total
    dropped_packets: int  # packets the gate dropped: banned sources, over the rate


@router.get("/sip/refusals")
def sip_refusals(_: Admin, runtime: RuntimeDep) -> SipRefusals:
    refused, live, dropped = runtime.sip_refusals()
    return {
        "refused": {
            "untrusted": refused.get("untrusted", 0),
            "source_limit": refused.get("source_limit", 0),
            "total_limit": refused.get("total_limit", 0),
            "queue_full": refused.get("queue_full", 0),
        },
        "live_inbound_calls": live,
        "dropped_packets": dropped,
    }


class SipConnectionCounts(TypedDict):
    refused_banned: int  # from a banned source, closed at once
    refused_per_source: int  # the source had conn_per_source open
    refused_total: int  # conn_total were open
    message_timeout: int  # a message unfinished message_timeout s after its first byte
    idle_timeout: int  # silent for conn_idle s without a registration or a call on it
    handshake_timeout: int  # a TLS handshake not done within tls_handshake_timeout s
    handshake_failed: int  # not TLS, or a TLS the server does not speak


class SipConnections(TypedDict):
    """SIP over TCP and TLS since the server started (in memory, like the bans): refusals and
    timeouts are strikes with the gate, which bans a source after conn_strikes in a minute."""

    open: int  # connections the peers opened, TLS ones in their handshake included
    browser_phones: int  # SIP WebSockets of browser phones open (not limited per source)
    per_source_limit: int
    total_limit: int  # as configured, at most half the process's file-descriptor limit
    closed: SipConnectionCounts


@router.get("/sip/connections")
def sip_connections(_: Admin, runtime: RuntimeDep) -> SipConnections:
    open_now, per_source, total, counts = runtime.sip_connections()
    return {
        "open": open_now,
        "browser_phones": runtime.browser_phone_sockets(),
        "per_source_limit": per_source,
        "total_limit": total,
        "closed": {
            "refused_banned": counts.get("refused_banned", 0),
            "refused_per_source": counts.get("refused_per_source", 0),
            "refused_total": counts.get("refused_total", 0),
            "message_timeout": counts.get("message_timeout", 0),
            "idle_timeout": counts.get("idle_timeout", 0),
            "handshake_timeout": counts.get("handshake_timeout", 0),
            "handshake_failed": counts.get("handshake_failed", 0),
        },
    }


@router.delete("/sip/bans/{address}", status_code=204)
def lift_sip_ban(address: BanAddress, _: Admin, runtime: RuntimeDep) -> Response:
    if not runtime.lift_sip_ban(address):
        raise ApiError(404, "not_found", f"No ban of {address}.")
    return Response(status_code=204)
