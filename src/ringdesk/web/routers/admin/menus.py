"""IVR menus: a prompt ("menu.<id>"), a choice per digit, a timeout, the tries and a fallback.

A menu is written whole: a PUT replaces it with its choices. Every target is checked against
the store (a queue's or a voicemail's service, a menu), so the engine never gets a choice that
leads nowhere; a menu still reached from a service or another menu cannot be deleted.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from ringdesk.core.prompts import per
from ringdesk.runtime import Runtime
from ringdesk.store import menus, services
from ringdesk.store import models as m
from ringdesk.store.unit import Db
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError, found
from ringdesk.web.responses import Menu, MenuKey, MenuStep
from ringdesk.web.routers.admin.common import PREFIX, Id
from ringdesk.web.routers.admin.sounds import MENU_PROMPT, prompt_of
from ringdesk.web.schemas import MenuBody, MenuStepBody

router = APIRouter(prefix=PREFIX, tags=["admin"])
_SERVICE_ACTIONS = menus.SERVICE_ACTIONS  # `target` is a service id


def _menu_or_404(db: Db, menu_id: int) -> m.Menu:
    return found(menus.get(db, menu_id=menu_id), f"No menu {menu_id}.")


def _menu_json(db: Db, runtime: Runtime, row: m.Menu, keys: list[m.MenuChoiceRow]) -> Menu:
    fallback: MenuStep = {
        "action": row.fallback_action,
        "target": row.fallback_target,
        "number": row.fallback_number,
    }
    choices: list[MenuKey] = [
        {"digit": c.digit, "action": c.action, "target": c.target, "number": c.number} for c in keys
    ]
    return {
        "id": row.id,
        "name": row.name,
        "timeout_seconds": row.timeout_seconds,
        "max_tries": row.max_tries,
        "fallback": fallback,
        "choices": choices,
        "prompt": prompt_of(db, runtime.sounds, per(MENU_PROMPT, row.id)),
    }


def _step(db: Db, step: MenuStepBody, where: str, menu_id: int | None) -> menus.ChoiceValues:
    """The step with only the fields its action uses; 422 when its target does not exist."""
    digit = getattr(step, "digit", "")
    if step.action in _SERVICE_ACTIONS:
        if step.target is None or services.get(db, service_id=step.target) is None:
            raise ApiError(
                422,
                "unknown_service",
                f"{where}: {step.action} needs an existing service as target"
                + (f"; there is no service {step.target}." if step.target else "."),
            )
        return menus.ChoiceValues(digit, step.action, step.target)
    if step.action == "menu":
        exists = step.target is not None and (
            step.target == menu_id or menus.get(db, menu_id=step.target) is not None
        )
        if not exists:
            raise ApiError(
                422,
                "unknown_menu",
                f"{where}: menu needs an existing menu as target"
                + (f"; there is no menu {step.target}." if step.target else "."),
            )
        return menus.ChoiceValues(digit, step.action, step.target)
    if step.action == "forward":
        if not step.number:
            raise ApiError(422, "invalid_input", f"{where}: forward needs a number.")
        return menus.ChoiceValues(digit, step.action, None, step.number)
    return menus.ChoiceValues(digit, step.action)  # repeat, hang_up


def _values(
    db: Db, body: MenuBody, menu_id: int | None
) -> tuple[dict[str, object], list[menus.ChoiceValues]]:
    seen: set[str] = set()
    for key in body.choices:
        if key.digit in seen:
            raise ApiError(
                422, "duplicate_digit", f"The digit {key.digit} has more than one choice."
            )
        seen.add(key.digit)
    keys = [
        _step(db, key, f"choices.{i} ({key.digit})", menu_id) for i, key in enumerate(body.choices)
    ]
    fallback = _step(db, body.fallback, "fallback", menu_id)
    values: dict[str, object] = {
        "name": body.name,
        "timeout_seconds": body.timeout_seconds,
        "max_tries": body.max_tries,
        "fallback_action": fallback.action,
        "fallback_target": fallback.target,
        "fallback_number": fallback.number,
    }
    return values, keys


def _saved(runtime: Runtime, menu_id: int, prompt_text: str | None) -> Menu:
    """After a write: the prompt's text if one came, the engine told, the menu as stored."""
    with runtime.db() as db:
        if prompt_text is not None:
            runtime.sounds.save_text(db, per(MENU_PROMPT, menu_id), " ".join(prompt_text.split()))
    runtime.reload_config()
    with runtime.db() as db:
        row = _menu_or_404(db, menu_id)
        return _menu_json(db, runtime, row, list(menus.choices(db, menu_id=menu_id)))


def _check_prompt(text: str | None) -> None:
    if text is not None and not text.strip():
        raise ApiError(422, "empty_text", "prompt_text: type what the caller should hear.")


@router.get("/menus")
def list_menus(_: Admin, runtime: RuntimeDep) -> list[Menu]:
    with runtime.db() as db:
        keys = menus.all_choices(db)
        return [_menu_json(db, runtime, row, keys.get(row.id, [])) for row in menus.list_(db)]


@router.post("/menus", status_code=201)
async def create_menu(body: MenuBody, _: Admin, runtime: RuntimeDep) -> Menu:
    _check_prompt(body.prompt_text)
    with runtime.db() as db:
        values, keys = _values(db, body, None)
        menu_id = menus.create(db, values=values, choice_values=keys).id
    return _saved(runtime, menu_id, body.prompt_text)


@router.get("/menus/{menu_id}")
def get_menu(menu_id: Id, _: Admin, runtime: RuntimeDep) -> Menu:
    with runtime.db() as db:
        row = _menu_or_404(db, menu_id)
        return _menu_json(db, runtime, row, list(menus.choices(db, menu_id=menu_id)))


@router.put("/menus/{menu_id}")
async def replace_menu(menu_id: Id, body: MenuBody, _: Admin, runtime: RuntimeDep) -> Menu:
    """The whole menu, its choices included; a prompt_text left out keeps the prompt."""
    _check_prompt(body.prompt_text)
    with runtime.db() as db:
        row = _menu_or_404(db, menu_id)
        values, keys = _values(db, body, menu_id)
        menus.replace(db, menu=row, values=values, choice_values=keys)
    return _saved(runtime, menu_id, body.prompt_text)


@router.delete("/menus/{menu_id}", status_code=204)
async def delete_menu(menu_id: Id, _: Admin, runtime: RuntimeDep) -> Response:
    """409 menu_in_use naming the services and menus that lead to it; its prompt goes too."""
    with runtime.db() as db:
        row = _menu_or_404(db, menu_id)
        try:
            menus.delete(db, menu=row)
        except menus.MenuInUse as exc:
            raise ApiError(
                409,
                "menu_in_use",
                f"The menu {row.name} is still used by {', '.join(exc.users)}: "
                "choose another menu there first.",
            ) from exc
        runtime.sounds.restore_default(db, per(MENU_PROMPT, menu_id))
    runtime.reload_config()
    return Response(status_code=204)
