"""The global CTI settings row as the admin page reads and saves it (defaults:
store/cti_settings.py; the row is created by store/snapshot.py when missing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.snapshot import settings_row


def get(db: Session) -> m.CtiSettingsRow:
    return settings_row(db)


def update(db: Session, *, values: Mapping[str, Any]) -> m.CtiSettingsRow:
    """Save every setting; `codecs` is a list, stored comma-separated without repeats."""
    row = settings_row(db)
    columns = dict(values)
    columns["codecs"] = ",".join(dict.fromkeys(columns["codecs"]))
    if "trunk_sources" in columns:
        columns["trunk_sources"] = ",".join(dict.fromkeys(columns["trunk_sources"]))
    for name, value in columns.items():
        setattr(row, name, value)
    db.commit()
    return row
