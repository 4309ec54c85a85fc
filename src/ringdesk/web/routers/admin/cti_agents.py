"""CTI agent management: a user's CTI ID (SIP user), CTI number and phone password."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Response

from ringdesk.runtime import Runtime
from ringdesk.store import cti_agents as ctis
from ringdesk.store import models as m
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError, unique
from ringdesk.web.responses import CtiAgent
from ringdesk.web.routers.admin.common import PREFIX, Id, user_or_404
from ringdesk.web.schemas import CtiAgentBody

router = APIRouter(prefix=PREFIX, tags=["admin"])

# Letters and digits without look-alikes (0/O, 1/l/I): typed by hand into a desk phone's keypad
# menu as often as pasted. 20 of 56 symbols: about 116 bits.
PASSWORD_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
GENERATED_LENGTH = 20


class CtiAgentSaved(CtiAgent):
    # The generated phone password, shown this once (the API never returns a stored one).
    generated_phone_password: str | None


def generate_phone_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GENERATED_LENGTH))


def _cti_json(runtime: Runtime, user: m.User, cti: m.CtiAgent | None) -> CtiAgent:
    return {
        "user_id": user.id,
        "name": user.name,
        "cti_id": cti.cti_id if cti else None,
        "cti_number": cti.cti_number if cti else None,
        "has_phone_password": bool(cti and cti.phone_password),
        "registered": bool(cti) and runtime.phone_registered(user.id),
        "auto_answer": bool(cti and cti.auto_answer),
        "ring_on_offer": bool(cti and cti.ring_on_offer),
        "browser_phone_allowed": bool(cti and cti.browser_phone_allowed),
        "phone_kind": cti.phone_kind if cti else "sip",
        "phone_contacts": _contacts(runtime, cti.cti_id) if cti else [],
    }


def _contacts(runtime: Runtime, cti_id: str) -> list[str]:
    """The agent's registered contacts as the switch has them (transport and source)."""
    switch = runtime.switch
    bindings = switch.registrar.lookup(cti_id, switch.stack.now()) if switch.started else []
    return [f"{b.transport} {b.source[0]}:{b.source[1]}" for b in bindings]


@router.get("/cti/agents")
def cti_agents(_: Admin, runtime: RuntimeDep) -> list[CtiAgent]:
    with runtime.db() as db:
        return [_cti_json(runtime, u, cti) for u, cti in ctis.list_(db)]


@router.get("/cti/agents/{user_id}")
def cti_agent(user_id: Id, _: Admin, runtime: RuntimeDep) -> CtiAgent:
    with runtime.db() as db:
        return _cti_json(runtime, user_or_404(db, user_id), ctis.get(db, user_id=user_id))


@router.put("/cti/agents/{user_id}")
async def assign_cti(
    user_id: Id, body: CtiAgentBody, _: Admin, runtime: RuntimeDep
) -> CtiAgentSaved:
    if body.generate_phone_password and body.phone_password is not None:
        raise ApiError(422, "invalid_input", "Give a phone_password or generate one, not both.")
    generated = generate_phone_password() if body.generate_phone_password else None
    password = generated if generated is not None else body.phone_password
    with runtime.db() as db:
        user = user_or_404(db, user_id)
        if ctis.taken(db, user_id=user_id, cti_id=body.cti_id, cti_number=body.cti_number):
            raise ApiError(409, "already_exists", "This CTI ID or CTI number belongs to another.")
        if password is None and ctis.get(db, user_id=user_id) is None:
            raise ApiError(422, "invalid_input", "A new CTI agent needs a phone_password.")
        with unique("This CTI ID or CTI number"):
            ctis.assign(
                db,
                user_id=user_id,
                cti_id=body.cti_id,
                cti_number=body.cti_number,
                phone_password=password,
                auto_answer=body.auto_answer,
                browser_phone_allowed=body.browser_phone_allowed,
                ring_on_offer=body.ring_on_offer,
            )
    runtime.reload_config()
    with runtime.db() as db:
        saved = _cti_json(runtime, user, ctis.get(db, user_id=user_id))
    return {**saved, "generated_phone_password": generated}


@router.delete("/cti/agents/{user_id}", status_code=204)
async def unassign_cti(user_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        user_or_404(db, user_id)
        if ctis.logged_in(db, user_id=user_id):
            raise ApiError(409, "agent_logged_in", "Log the agent out of CTI first.")
        ctis.unassign(db, user_id=user_id)
    runtime.reload_config()
    return Response(status_code=204)
