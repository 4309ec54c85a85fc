"""Call limits per source, in total and per service queue, and inbound trust.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The defaults of store/cti_settings.py when this was written (a migration keeps its values).
COLUMNS = (
    ("trunk_sources", sa.String(1000), ""),
    ("max_calls_per_source", sa.Integer(), "10"),
    ("max_calls_total", sa.Integer(), "200"),
    ("max_queued_per_service", sa.Integer(), "50"),
)


def upgrade() -> None:
    # batch mode: SQLite cannot alter a table in place; the existing row gets the defaults.
    # allow_any_source is left as the admin set it (a fresh install and the demo now say false).
    with op.batch_alter_table("cti_settings", schema=None) as batch_op:
        for name, kind, default in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=False, server_default=default))


def downgrade() -> None:
    with op.batch_alter_table("cti_settings", schema=None) as batch_op:
        for name, _, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
