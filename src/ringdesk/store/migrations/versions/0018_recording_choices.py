"""Recording choices: a service records its calls always, never or as the global setting
(`services.record_calls`, NULL: the global one); the CTI settings `recording_notice` (callers
of recorded calls hear it), `recording_retention_days` (0: kept forever),
`agents_hear_own_recordings` and `supervisor_notice`.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-02 05:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter a table in place; the existing rows get the defaults.
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record_calls", sa.Boolean(), nullable=True))
    with op.batch_alter_table("cti_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recording_notice", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("recording_retention_days", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "agents_hear_own_recordings",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
            )
        )
        batch_op.add_column(
            sa.Column("supervisor_notice", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("cti_settings", schema=None) as batch_op:
        batch_op.drop_column("supervisor_notice")
        batch_op.drop_column("agents_hear_own_recordings")
        batch_op.drop_column("recording_retention_days")
        batch_op.drop_column("recording_notice")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("record_calls")
