"""A desk phone that does not answer by itself rings with the offer (per CTI agent).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter a table in place; existing agents keep today's behaviour.
    with op.batch_alter_table("cti_agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ring_on_offer", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("cti_agents", schema=None) as batch_op:
        batch_op.drop_column("ring_on_offer")
