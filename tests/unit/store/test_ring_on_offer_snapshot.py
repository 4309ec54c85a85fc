"""What the engine is told about 'Phone rings with the offer': only for a SIP phone (the
browser page answers by itself, so ringing it with the offer would answer every offer)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store import snapshot
from ringdesk.store.db import make_engine


@pytest.mark.parametrize(
    ("ring_on_offer", "phone_kind", "told"),
    [(True, "sip", True), (True, "browser", False), (False, "sip", False)],
)
def test_ring_on_offer_reaches_the_engine_for_a_sip_phone_only(
    ring_on_offer: bool, phone_kind: str, told: bool
) -> None:
    engine = make_engine("sqlite://")
    m.Base.metadata.create_all(engine)
    with Session(engine) as db:
        user = m.User(username="alice", name="Alice", role="agent", password_hash="x", created_at=0)
        db.add(user)
        db.flush()
        db.add(
            m.CtiAgent(
                user_id=user.id,
                cti_id="1001",
                cti_number="1001",
                ring_on_offer=ring_on_offer,
                phone_kind=phone_kind,
            )
        )
        db.commit()
        agents = snapshot.load(db, {}).agents
    assert [(a.cti_id, a.ring_on_offer, a.auto_answer) for a in agents] == [("1001", told, False)]
