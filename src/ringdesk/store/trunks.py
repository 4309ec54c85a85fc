"""Provider trunks (the `trunks` table): the admin's view, read into the snapshot, and saved by
the admin API. Passwords are sealed at rest (store/secrets.py) and never read back out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.errors import commit_or_conflict

# "auto": located by RFC 3263 NAPTR -> SRV -> A/AAAA, the transport taken from what DNS says
# (a host name with port 0); with a port or a numeric host it means UDP (switch/trunk_targets.py).
Transport = Literal["udp", "tcp", "tls", "auto"]
IdentityHeader = Literal["none", "pai", "rpid"]
NumberFormat = Literal["e164", "e164_plain", "national"]


@dataclass(frozen=True, slots=True)
class TrunkConfig:
    id: int
    name: str
    host: str
    port: int = 5060
    transport: Transport = "udp"
    username: str | None = None
    password: str | None = None
    auth_username: str | None = None
    realm: str | None = None
    register: bool = False
    register_expires: int = 3600
    priority: int = 1
    enabled: bool = True
    sources: tuple[str, ...] = ()
    identity_header: IdentityHeader = "pai"
    from_domain: str | None = None
    privacy_withheld: bool = True
    number_format: NumberFormat = "e164"
    country_code: str | None = None


FIELDS = tuple(name for name in TrunkConfig.__dataclass_fields__ if name != "id")


def from_row(row: m.TrunkRow) -> TrunkConfig:
    values: dict[str, Any] = {name: getattr(row, name) for name in FIELDS}
    values["sources"] = tuple(s for s in row.sources.split(",") if s)
    for name in ("username", "password", "auth_username", "realm", "from_domain", "country_code"):
        values[name] = values[name] or None
    return TrunkConfig(id=row.id, **values)


def load(db: Session) -> tuple[TrunkConfig, ...]:
    """Every trunk, by priority then id."""
    rows = db.scalars(select(m.TrunkRow).order_by(m.TrunkRow.priority, m.TrunkRow.id))
    return tuple(from_row(row) for row in rows)


def apply(row: m.TrunkRow, values: dict[str, Any]) -> None:
    """Set the given fields on a row; a password of None is left as it was (write-only: the
    API sends it only to change it), "" clears it."""
    for name, value in values.items():
        if name not in FIELDS:
            continue
        if name == "password":
            if value is None:
                continue
            value = value or None
        if name == "sources":
            value = ",".join(dict.fromkeys(value))
        setattr(row, name, value)


def rows(db: Session) -> list[m.TrunkRow]:
    return list(db.scalars(select(m.TrunkRow).order_by(m.TrunkRow.priority, m.TrunkRow.id)))


def get(db: Session, trunk_id: int) -> m.TrunkRow | None:
    return db.get(m.TrunkRow, trunk_id)


def create(db: Session, values: dict[str, Any]) -> m.TrunkRow:
    """Conflict when the name is taken."""
    row = m.TrunkRow()
    apply(row, values)
    db.add(row)
    commit_or_conflict(db)
    return row


def update(db: Session, row: m.TrunkRow, values: dict[str, Any]) -> m.TrunkRow:
    apply(row, values)
    commit_or_conflict(db)
    return row


def delete(db: Session, row: m.TrunkRow) -> None:
    db.delete(row)
    db.commit()
