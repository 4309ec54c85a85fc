"""An agent whose browser is gone is logged out of CTI after `absent_logout_seconds` (0: never).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter a table in place; the existing row gets the default.
    with op.batch_alter_table("cti_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("absent_logout_seconds", sa.Integer(), nullable=False, server_default="120")
        )


def downgrade() -> None:
    with op.batch_alter_table("cti_settings", schema=None) as batch_op:
        batch_op.drop_column("absent_logout_seconds")
