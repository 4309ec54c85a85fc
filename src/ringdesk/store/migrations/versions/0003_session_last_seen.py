"""When each session was last used, for the idle lifetime.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.Float(), nullable=True))
    # Existing sessions count as last used at login: the idle lifetime then ends the old ones.
    op.execute("UPDATE sessions SET last_seen_at = created_at")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column("last_seen_at", existing_type=sa.Float(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
