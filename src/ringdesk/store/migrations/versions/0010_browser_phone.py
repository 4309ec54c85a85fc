"""The browser phone per CTI agent: allowed by the admin, chosen by the agent.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter a table in place; existing agents keep their SIP phone.
    with op.batch_alter_table("cti_agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "browser_phone_allowed", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("phone_kind", sa.String(length=8), nullable=False, server_default="sip")
        )


def downgrade() -> None:
    with op.batch_alter_table("cti_agents", schema=None) as batch_op:
        batch_op.drop_column("phone_kind")
        batch_op.drop_column("browser_phone_allowed")
