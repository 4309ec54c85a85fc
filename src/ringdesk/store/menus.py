"""IVR menus with their choices: the rows the admin pages read and write.

A menu is one `menus` row and one `menu_choices` row per digit; the API writes a menu whole
(its choices replaced with it). Services and other menus point at a menu by id without a
foreign key (migration 0012), so deleting one still in use is refused here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.errors import Conflict, commit_or_conflict

MENU_ACTION = "menu"  # the action whose target is a menu id (core.model.MenuAction.MENU)
SERVICE_ACTIONS = ("queue", "voicemail")  # the actions whose target is a service id


@dataclass(frozen=True, slots=True)
class ChoiceValues:
    """One digit's choice as the API hands it in."""

    digit: str
    action: str
    target: int | None = None
    number: str | None = None


class MenuInUse(Conflict):
    """The menu is still reached from a service or another menu; `users` names them."""

    def __init__(self, users: list[str]) -> None:
        super().__init__("; ".join(users))
        self.users = users


def list_(db: Session) -> Sequence[m.Menu]:
    return db.scalars(select(m.Menu).order_by(m.Menu.id)).all()


def get(db: Session, *, menu_id: int) -> m.Menu | None:
    return db.get(m.Menu, menu_id)


def choices(db: Session, *, menu_id: int) -> Sequence[m.MenuChoiceRow]:
    return db.scalars(
        select(m.MenuChoiceRow)
        .where(m.MenuChoiceRow.menu_id == menu_id)
        .order_by(m.MenuChoiceRow.digit)
    ).all()


def all_choices(db: Session) -> dict[int, list[m.MenuChoiceRow]]:
    """Every menu's choices, by menu id (one query for the list)."""
    result: dict[int, list[m.MenuChoiceRow]] = {}
    for row in db.scalars(select(m.MenuChoiceRow).order_by(m.MenuChoiceRow.digit)):
        result.setdefault(row.menu_id, []).append(row)
    return result


def _add_choices(db: Session, menu_id: int, values: Sequence[ChoiceValues]) -> None:
    for c in values:
        db.add(
            m.MenuChoiceRow(
                menu_id=menu_id, digit=c.digit, action=c.action, target=c.target, number=c.number
            )
        )


def create(
    db: Session, *, values: Mapping[str, Any], choice_values: Sequence[ChoiceValues]
) -> m.Menu:
    """A new menu from its column values and its choices, in one transaction."""
    row = m.Menu(**values)
    db.add(row)
    db.flush()
    _add_choices(db, row.id, choice_values)
    commit_or_conflict(db)
    return row


def replace(
    db: Session,
    *,
    menu: m.Menu,
    values: Mapping[str, Any],
    choice_values: Sequence[ChoiceValues],
) -> m.Menu:
    """Set every column and replace all the menu's choices, in one transaction."""
    for name, value in values.items():
        setattr(menu, name, value)
    db.execute(sql_delete(m.MenuChoiceRow).where(m.MenuChoiceRow.menu_id == menu.id))
    _add_choices(db, menu.id, choice_values)
    commit_or_conflict(db)
    return menu


def users_of(db: Session, *, menu_id: int) -> list[str]:
    """Who leads to the menu: "service <name>" and "menu <name>" (a choice or the fallback of
    another menu), sorted; empty when nothing does."""
    found: list[str] = [
        f"service {name}"
        for name in db.scalars(
            select(m.Service.name).where(m.Service.menu_id == menu_id).order_by(m.Service.name)
        )
    ]
    by_choice = select(m.MenuChoiceRow.menu_id).where(
        m.MenuChoiceRow.action == MENU_ACTION, m.MenuChoiceRow.target == menu_id
    )
    menus = db.scalars(
        select(m.Menu.name)
        .where(
            m.Menu.id != menu_id,
            or_(
                m.Menu.id.in_(by_choice),
                (m.Menu.fallback_action == MENU_ACTION) & (m.Menu.fallback_target == menu_id),
            ),
        )
        .order_by(m.Menu.name)
    )
    found.extend(f"menu {name}" for name in menus)
    return found


def leading_to_service(db: Session, *, service_id: int) -> list[str]:
    """The names of the menus whose choice or fallback leads to the service, sorted."""
    by_choice = select(m.MenuChoiceRow.menu_id).where(
        m.MenuChoiceRow.action.in_(SERVICE_ACTIONS), m.MenuChoiceRow.target == service_id
    )
    return list(
        db.scalars(
            select(m.Menu.name)
            .where(
                or_(
                    m.Menu.id.in_(by_choice),
                    m.Menu.fallback_action.in_(SERVICE_ACTIONS)
                    & (m.Menu.fallback_target == service_id),
                )
            )
            .order_by(m.Menu.name)
        )
    )


def delete(db: Session, *, menu: m.Menu) -> None:
    """Delete the menu and its choices; MenuInUse when a service or another menu leads to it
    (nothing deleted then)."""
    users = users_of(db, menu_id=menu.id)
    if users:
        raise MenuInUse(users)
    db.execute(sql_delete(m.MenuChoiceRow).where(m.MenuChoiceRow.menu_id == menu.id))
    db.delete(menu)
    db.commit()


def existing_ids(db: Session, ids: set[int]) -> set[int]:
    """Those of `ids` that are menus."""
    if not ids:
        return set()
    return set(db.scalars(select(m.Menu.id).where(m.Menu.id.in_(ids))))
