"""Wrap-up codes (dispositions): each service's codes (`disposition_codes`), whether one is
required (`disposition_rules`), and the code picked for each call by each agent
(`call_dispositions`, written by the recorder).

It follows 0018 (recording choices), which was written against 0016 before this one existed.

Revision ID: 0017
Revises: 0018
Create Date: 2026-12-02 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disposition_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.UniqueConstraint("service_id", "label"),
    )
    op.create_table(
        "disposition_rules",
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("required", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "call_dispositions",
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
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_call_dispositions_call_id", "call_dispositions", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_call_dispositions_call_id", table_name="call_dispositions")
    op.drop_table("call_dispositions")
    op.drop_table("disposition_rules")
    op.drop_table("disposition_codes")
