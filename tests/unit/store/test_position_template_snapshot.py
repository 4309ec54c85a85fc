"""The engine is told each service's position announcement: its own text, else the global one,
else the built-in wording (an empty template)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store import snapshot


def _templates(db: Session) -> dict[int, str]:
    return {s.id: s.position_template for s in snapshot.load(db, {}).services}


def test_a_services_own_template_then_the_global_one(db: Session) -> None:
    db.add(m.Service(id=2, name="Sales"))
    db.commit()
    assert _templates(db) == {1: "", 2: ""}
    db.add(m.Sound(name="queue_position", text="Number {position}.", uploaded_at=0))
    db.commit()
    assert _templates(db) == {1: "Number {position}.", 2: "Number {position}."}
    db.add(m.Sound(name="queue_position.2", text="Platz {position}.", uploaded_at=0))
    db.commit()
    assert _templates(db) == {1: "Number {position}.", 2: "Platz {position}."}
