"""CTI settings: the SIP domain, inbound trust and limits, and the rules of the engine, one row
for all (the trunks have their own rows: trunks.py)."""

from __future__ import annotations

from fastapi import APIRouter

from ringdesk.store import cti_config
from ringdesk.store import models as m
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.responses import CtiSettings
from ringdesk.web.routers.admin.common import PREFIX
from ringdesk.web.schemas import CtiSettingsBody

router = APIRouter(prefix=PREFIX, tags=["admin"])


def _settings_json(row: m.CtiSettingsRow) -> CtiSettings:
    return {
        "sip_domain": row.sip_domain,
        "allow_any_source": row.allow_any_source,
        "max_calls_per_source": row.max_calls_per_source,
        "max_calls_total": row.max_calls_total,
        "max_queued_per_service": row.max_queued_per_service,
        "codecs": [c for c in row.codecs.split(",") if c],
        "queue_music_mode": row.queue_music_mode,
        "default_login_status": row.default_login_status,
        "pickup_seconds": row.pickup_seconds,
        "pickup_timeout_status": row.pickup_timeout_status,
        "max_missed_offers": row.max_missed_offers,
        "outbound_ticket_on_dial": row.outbound_ticket_on_dial,
        "wrap_up_seconds": row.wrap_up_seconds,
        "record_calls": row.record_calls,
        "absent_logout_seconds": row.absent_logout_seconds,
        "recording_notice": row.recording_notice,
        "recording_retention_days": row.recording_retention_days,
        "agents_hear_own_recordings": row.agents_hear_own_recordings,
        "supervisor_notice": row.supervisor_notice,
    }


@router.get("/cti/settings")
def get_settings(_: Admin, runtime: RuntimeDep) -> CtiSettings:
    with runtime.db() as db:
        return _settings_json(cti_config.get(db))


@router.put("/cti/settings")
async def put_settings(body: CtiSettingsBody, _: Admin, runtime: RuntimeDep) -> CtiSettings:
    values = body.model_dump()
    with runtime.db() as db:
        result = _settings_json(cti_config.update(db, values=values))
    runtime.reload_config()
    return result
