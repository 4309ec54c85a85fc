"""The dial plan per service.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The defaults of ringdesk.core.dialplan as they were at this revision (a migration keeps its
# own copy: it must build the same schema whatever the code says later).
_COLUMNS = (
    ("dial_country_code", sa.String(4), True, None),
    ("dial_national_prefix", sa.String(4), False, "0"),
    ("dial_international_prefixes", sa.String(64), False, "00,011"),
    ("dial_allow_international", sa.Boolean(), False, sa.false()),
    ("dial_allow_premium", sa.Boolean(), False, sa.false()),
    ("dial_premium_prefixes", sa.Text(), True, None),  # NULL: the built-in list
    ("dial_allowed_patterns", sa.Text(), False, ""),
    ("dial_blocked_patterns", sa.Text(), False, ""),
)


def upgrade() -> None:
    # Plain ADD COLUMN, no batch: SQLite does it in place, and a batch would copy and drop the
    # services table, which (foreign keys on) deletes the rows that cascade from it. Existing
    # services get the defaults: national numbers only, premium prefixes refused.
    for name, kind, nullable, default in _COLUMNS:
        op.add_column("services", sa.Column(name, kind, nullable=nullable, server_default=default))


def downgrade() -> None:
    # DROP COLUMN in place too (SQLite 3.35+), for the same reason.
    for name, *_ in reversed(_COLUMNS):
        op.drop_column("services", name)
