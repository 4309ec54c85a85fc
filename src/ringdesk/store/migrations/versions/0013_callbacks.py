"""Queued callback: the services' callback settings, and the callbacks waiting or done (a
callback survives a restart: recovery puts the waiting ones back in their queues).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "services",
        sa.Column("callback_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "services",
        sa.Column("callback_retry_seconds", sa.Integer(), nullable=False, server_default="300"),
    )
    op.add_column(
        "services",
        sa.Column("callback_max_attempts", sa.Integer(), nullable=False, server_default="3"),
    )
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("call_id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey("tickets.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("called", sa.String(32), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("arrived_at", sa.Float(), nullable=False),
        sa.Column("requested_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_try_at", sa.Float(), nullable=True),
        sa.Column("last_reason", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("callbacks")
    # DROP COLUMN in place (SQLite 3.35+): a batch copy would lose the services' other settings.
    for column in ("callback_max_attempts", "callback_retry_seconds", "callback_enabled"):
        op.drop_column("services", column)
