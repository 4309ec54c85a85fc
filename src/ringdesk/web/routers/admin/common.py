"""What the admin routers share: the prefix, the id parameter, the rows they look up by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from ringdesk.store import models as m
from ringdesk.store import services, users
from ringdesk.store.unit import Db
from ringdesk.web.errors import found

PREFIX = "/api/admin"
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def service_or_404(db: Db, service_id: int) -> m.Service:
    return found(services.get(db, service_id=service_id), f"No service {service_id}.")


def user_or_404(db: Db, user_id: int) -> m.User:
    return found(users.get(db, user_id=user_id), f"No user {user_id}.")
