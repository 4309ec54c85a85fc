"""Frequently used numbers: each user's own list for transfers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from sqlalchemy import select

from ringdesk.store import models as m
from ringdesk.web.auth import RuntimeDep, User
from ringdesk.web.errors import ApiError
from ringdesk.web.schemas import FavoriteBody, FavoritePatch

router = APIRouter(prefix="/api/me/favorites", tags=["favorites"])
MAX_FAVORITES = 200
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _json(f: m.Favorite) -> dict[str, Any]:
    return {"id": f.id, "label": f.label, "number": f.number}


@router.get("")
def list_favorites(user: User, runtime: RuntimeDep) -> list[dict[str, Any]]:
    with runtime.db() as db:
        rows = db.scalars(
            select(m.Favorite).where(m.Favorite.user_id == user.id).order_by(m.Favorite.id)
        ).all()
        return [_json(f) for f in rows]


@router.post("", status_code=201)
def add_favorite(body: FavoriteBody, user: User, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db() as db:
        count = len(db.scalars(select(m.Favorite.id).where(m.Favorite.user_id == user.id)).all())
        if count >= MAX_FAVORITES:
            raise ApiError(409, "too_many_favorites", f"At most {MAX_FAVORITES} numbers.")
        row = m.Favorite(user_id=user.id, label=body.label or body.number, number=body.number)
        db.add(row)
        db.commit()
        return _json(row)


def _own(db: Any, user_id: int, favorite_id: int) -> m.Favorite:
    row = db.get(m.Favorite, favorite_id)
    if row is None or row.user_id != user_id:
        raise ApiError(404, "not_found", "No such frequently used number.")
    return row  # type: ignore[no-any-return]


@router.patch("/{favorite_id}")
def rename_favorite(
    favorite_id: Id, body: FavoritePatch, user: User, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.db() as db:
        row = _own(db, user.id, favorite_id)
        if body.label is not None:
            row.label = body.label or row.number
        if body.number is not None:
            row.number = body.number
        db.commit()
        return _json(row)


@router.delete("/{favorite_id}", status_code=204)
def remove_favorite(favorite_id: Id, user: User, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        db.delete(_own(db, user.id, favorite_id))
        db.commit()
    return Response(status_code=204)
