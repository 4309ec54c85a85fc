"""What the caller meets: opening hours and holidays per service, what a closed service does,
IVR menus, queue announcements, voicemail (its longest message, the recordings kept with
tickets), prompts as text, and the caller's route on the call record.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "menus",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("fallback_action", sa.String(16), nullable=False),
        sa.Column("fallback_target", sa.Integer(), nullable=True),
        sa.Column("fallback_number", sa.String(32), nullable=True),
    )
    op.create_table(
        "menu_choices",
        sa.Column(
            "menu_id",
            sa.Integer(),
            sa.ForeignKey("menus.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("digit", sa.String(1), primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(32), nullable=True),
    )
    op.create_table(
        "service_hours",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
    )
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("first_day", sa.String(10), nullable=False),
        sa.Column("last_day", sa.String(10), nullable=False),
        sa.Column("yearly", sa.Boolean(), nullable=False),
    )
    # Plain ADD COLUMN on services (no batch: copying and dropping the table would delete the
    # rows that cascade from it, see 0005). Existing services stay as they were: always open,
    # no menu, no announcements.
    op.add_column(
        "services", sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC")
    )
    op.add_column(
        "services",
        sa.Column("closed_action", sa.String(16), nullable=False, server_default="message"),
    )
    op.add_column("services", sa.Column("closed_number", sa.String(32), nullable=True))
    # No foreign key: SQLite adds one only inside a column's definition, where it is not read
    # back; the store refuses to delete a menu a service or a menu still leads to.
    op.add_column("services", sa.Column("menu_id", sa.Integer(), nullable=True))
    op.add_column(
        "services",
        sa.Column("announce_position", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "services",
        sa.Column("announce_message", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "services",
        sa.Column("announce_every_seconds", sa.Integer(), nullable=False, server_default="60"),
    )
    op.add_column(
        "services",
        sa.Column("voicemail_max_seconds", sa.Integer(), nullable=False, server_default="120"),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey("tickets.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    with op.batch_alter_table("sounds", schema=None) as batch_op:
        batch_op.alter_column("filename", existing_type=sa.String(200), nullable=True)
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
    op.add_column("call_records", sa.Column("route", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("call_records", "route")
    op.execute("DELETE FROM sounds WHERE filename IS NULL")
    with op.batch_alter_table("sounds", schema=None) as batch_op:
        batch_op.drop_column("text")
        batch_op.alter_column("filename", existing_type=sa.String(200), nullable=False)
    # DROP COLUMN in place (SQLite 3.35+), for the same reason as above.
    op.drop_table("recordings")
    for column in (
        "voicemail_max_seconds",
        "announce_every_seconds",
        "announce_message",
        "announce_position",
        "menu_id",
        "closed_number",
        "closed_action",
        "timezone",
    ):
        op.drop_column("services", column)
    op.drop_table("holidays")
    op.drop_table("service_hours")
    op.drop_table("menu_choices")
    op.drop_table("menus")
