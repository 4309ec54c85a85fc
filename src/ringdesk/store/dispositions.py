"""Wrap-up codes (dispositions): each service's list and whether one is required, for the admin
API and the configuration snapshot, and the codes picked counted for the reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ringdesk.core.model import DispositionCode, ServiceConfig
from ringdesk.store import models as m
from ringdesk.store.errors import commit_or_conflict

Rules = dict[int, tuple[tuple[DispositionCode, ...], bool]]


def load(db: Session) -> Rules:
    """Every service's codes (in their order) and whether one is required."""
    codes: dict[int, list[DispositionCode]] = defaultdict(list)
    query = select(m.DispositionCode).order_by(m.DispositionCode.position, m.DispositionCode.id)
    for row in db.scalars(query):
        codes[row.service_id].append(DispositionCode(row.id, row.label))
    required = {r.service_id: r.required for r in db.scalars(select(m.DispositionRule))}
    return {
        sid: (tuple(codes.get(sid, ())), required.get(sid, False))
        for sid in codes.keys() | required.keys()
    }


def apply(config: ServiceConfig, rules: Rules) -> ServiceConfig:
    """The service's engine config with its wrap-up codes."""
    codes, required = rules.get(config.id, ((), False))
    return replace(config, dispositions=codes, disposition_required=required)


def get(db: Session, *, service_id: int) -> tuple[bool, Sequence[m.DispositionCode]]:
    rule = db.get(m.DispositionRule, service_id)
    query = (
        select(m.DispositionCode)
        .where(m.DispositionCode.service_id == service_id)
        .order_by(m.DispositionCode.position, m.DispositionCode.id)
    )
    return (rule.required if rule else False), db.scalars(query).all()


def replace_all(
    db: Session, *, service_id: int, required: bool, codes: Sequence[tuple[int | None, str]]
) -> None:
    """The service's list as given, in that order: a code with its id keeps it (renamed), one
    without is new, one left out is deleted (the calls it was picked for keep its label)."""
    existing = {
        c.id: c
        for c in db.scalars(
            select(m.DispositionCode).where(m.DispositionCode.service_id == service_id)
        )
    }
    keep = {code_id for code_id, _ in codes if code_id is not None}
    if keep - existing.keys():
        raise LookupError("unknown code")
    gone = [code_id for code_id in existing if code_id not in keep]
    if gone:
        db.execute(delete(m.DispositionCode).where(m.DispositionCode.id.in_(gone)))
    # Free the labels first: a swap of two names must not collide with the unique constraint.
    for position, (code_id, _) in enumerate(codes):
        if code_id is not None:
            existing[code_id].label = f"\x01{position}"
    db.flush()
    for position, (code_id, label) in enumerate(codes):
        if code_id is None:
            db.add(m.DispositionCode(service_id=service_id, label=label, position=position))
        else:
            existing[code_id].label = label
            existing[code_id].position = position
    rule = db.get(m.DispositionRule, service_id)
    if rule is None:
        db.add(m.DispositionRule(service_id=service_id, required=required))
    else:
        rule.required = required
    commit_or_conflict(db)


def per_service(
    db: Session, start: float, end: float, service_id: int | None = None
) -> list[dict[str, Any]]:
    """How often each code was picked for the calls arrived in the span, per service."""
    d, r = m.CallDisposition, m.CallRecord
    query = (
        select(d.service_id, d.label, func.count().label("count"))
        .join(r, r.call_id == d.call_id)
        .where(r.arrived_at >= start, r.arrived_at < end, d.service_id.is_not(None))
        .group_by(d.service_id, d.label)
        .order_by(d.service_id, d.label)
    )
    if service_id is not None:
        query = query.where(d.service_id == service_id)
    return [
        {"service_id": sid, "label": str(label), "count": int(count)}
        for sid, label, count in db.execute(query)
        if sid is not None
    ]
