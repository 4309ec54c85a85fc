"""A store on an in-memory SQLite database with the schema, one service and one agent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.db import make_engine


@pytest.fixture
def db() -> Iterator[Session]:
    engine = make_engine("sqlite://")
    m.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(m.Service(id=1, name="Support"))
        session.add(
            m.User(
                id=7, username="alice", name="Alice", role="agent", password_hash="x", created_at=0
            )
        )
        session.commit()
        yield session
