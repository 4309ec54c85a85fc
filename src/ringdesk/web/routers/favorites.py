"""Frequently used numbers: each user's own list for transfers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from ringdesk.store import favorites
from ringdesk.store import models as m
from ringdesk.store.unit import Db
from ringdesk.web.auth import RuntimeDep, User
from ringdesk.web.errors import ApiError, found
from ringdesk.web.responses import Favorite
from ringdesk.web.schemas import FavoriteBody, FavoritePatch

router = APIRouter(prefix="/api/me/favorites", tags=["favorites"])
MAX_FAVORITES = 200
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _json(f: m.Favorite) -> Favorite:
    return {"id": f.id, "label": f.label, "number": f.number}


@router.get("")
def list_favorites(user: User, runtime: RuntimeDep) -> list[Favorite]:
    with runtime.db() as db:
        return [_json(f) for f in favorites.list_(db, user_id=user.id)]


@router.post("", status_code=201)
def add_favorite(body: FavoriteBody, user: User, runtime: RuntimeDep) -> Favorite:
    with runtime.db() as db:
        if favorites.count(db, user_id=user.id) >= MAX_FAVORITES:
            raise ApiError(409, "too_many_favorites", f"At most {MAX_FAVORITES} numbers.")
        row = favorites.create(
            db, user_id=user.id, label=body.label or body.number, number=body.number
        )
        return _json(row)


def _own(db: Db, user_id: int, favorite_id: int) -> m.Favorite:
    row = favorites.get(db, user_id=user_id, favorite_id=favorite_id)
    return found(row, "No such frequently used number.")


@router.patch("/{favorite_id}")
def rename_favorite(
    favorite_id: Id, body: FavoritePatch, user: User, runtime: RuntimeDep
) -> Favorite:
    with runtime.db() as db:
        row = _own(db, user.id, favorite_id)
        return _json(favorites.update(db, favorite=row, label=body.label, number=body.number))


@router.delete("/{favorite_id}", status_code=204)
def remove_favorite(favorite_id: Id, user: User, runtime: RuntimeDep) -> Response:
    with runtime.db() as db:
        favorites.delete(db, favorite=_own(db, user.id, favorite_id))
    return Response(status_code=204)
