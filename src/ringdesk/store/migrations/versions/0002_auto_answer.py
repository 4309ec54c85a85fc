"""Auto Answer per CTI agent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 19:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter a table in place; existing agents get false.
    with op.batch_alter_table("cti_agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_answer", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("cti_agents", schema=None) as batch_op:
        batch_op.drop_column("auto_answer")
