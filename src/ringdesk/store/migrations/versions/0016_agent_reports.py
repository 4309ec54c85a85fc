"""Per-agent reports: every agent's part in a call (`call_agents`: offers, transfers received,
outbound calls) and the time in each status (`agent_status_log`), written by the recorder.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 04:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_agents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column(
            "agent_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("offered_at", sa.Float(), nullable=False),
        sa.Column("answered_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("result", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("from_agent_id", sa.Integer(), nullable=True),
        sa.Column("to_agent_id", sa.Integer(), nullable=True),
        sa.Column("to_number", sa.String(32), nullable=True),
    )
    op.create_index("ix_call_agents_call_id", "call_agents", ["call_id"])
    op.create_index("ix_call_agents_agent_offered", "call_agents", ["agent_id", "offered_at"])
    op.create_table(
        "agent_status_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False, server_default=""),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
    )
    op.create_index(
        "ix_agent_status_log_agent_started", "agent_status_log", ["agent_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_agent_status_log_agent_started", table_name="agent_status_log")
    op.drop_table("agent_status_log")
    op.drop_index("ix_call_agents_agent_offered", table_name="call_agents")
    op.drop_index("ix_call_agents_call_id", table_name="call_agents")
    op.drop_table("call_agents")
