"""Initial schema: every table of the store.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 17:31:17.800436
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cti_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sip_domain", sa.String(length=200), nullable=False),
        sa.Column("trunk_host", sa.String(length=200), nullable=True),
        sa.Column("trunk_port", sa.Integer(), nullable=False),
        sa.Column("trunk_username", sa.String(length=128), nullable=True),
        sa.Column("trunk_password", sa.String(length=128), nullable=True),
        sa.Column("allow_any_source", sa.Boolean(), nullable=False),
        sa.Column("codecs", sa.String(length=64), nullable=False),
        sa.Column("queue_music_mode", sa.String(length=16), nullable=False),
        sa.Column("default_login_status", sa.String(length=16), nullable=False),
        sa.Column("pickup_seconds", sa.Float(), nullable=False),
        sa.Column("pickup_timeout_status", sa.String(length=16), nullable=False),
        sa.Column("max_missed_offers", sa.Integer(), nullable=False),
        sa.Column("outbound_ticket_on_dial", sa.Boolean(), nullable=False),
        sa.Column("wrap_up_seconds", sa.Float(), nullable=True),
        sa.Column("record_calls", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_phone"), ["phone"], unique=False)

    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("inbound_number", sa.String(length=32), nullable=True),
        sa.Column("inbound_enabled", sa.Boolean(), nullable=False),
        sa.Column("outbound_enabled", sa.Boolean(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("max_wait_seconds", sa.Float(), nullable=True),
        sa.Column("overflow_action", sa.String(length=32), nullable=False),
        sa.Column("overflow_number", sa.String(length=32), nullable=True),
        sa.Column("service_level_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_number"),
    )
    op.create_table(
        "sounds",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "agent_states",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("logged_in", sa.Boolean(), nullable=False),
        sa.Column("chosen", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "calling_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service_id", "number"),
    )
    with op.batch_alter_table("calling_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calling_numbers_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "cti_agents",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("cti_id", sa.String(length=32), nullable=False),
        sa.Column("cti_number", sa.String(length=32), nullable=False),
        sa.Column("phone_password", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("cti_id"),
        sa.UniqueConstraint("cti_number"),
    )
    op.create_table(
        "favorites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("favorites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_favorites_user_id"), ["user_id"], unique=False)

    op.create_table(
        "service_agents",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone_permission", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("service_id", "user_id"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("customer_number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("connected_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tickets_customer_number"), ["customer_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tickets_service_id"), ["service_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_status"), ["status"], unique=False)

    op.create_table(
        "call_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("customer_number", sa.String(length=32), nullable=False),
        sa.Column("called_number", sa.String(length=32), nullable=True),
        sa.Column("calling_number", sa.String(length=32), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("arrived_at", sa.Float(), nullable=False),
        sa.Column("offered_at", sa.Float(), nullable=True),
        sa.Column("connected_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("wait_seconds", sa.Float(), nullable=True),
        sa.Column("talk_seconds", sa.Float(), nullable=True),
        sa.Column("wrap_up_seconds", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id"),
    )
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_records_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index("ix_call_records_arrived", ["arrived_at"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_index("ix_call_records_arrived")
        batch_op.drop_index(batch_op.f("ix_call_records_agent_id"))

    op.drop_table("call_records")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_tickets_service_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_customer_number"))
        batch_op.drop_index(batch_op.f("ix_tickets_created_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_agent_id"))

    op.drop_table("tickets")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_id"))

    op.drop_table("sessions")
    op.drop_table("service_agents")
    with op.batch_alter_table("favorites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_favorites_user_id"))

    op.drop_table("favorites")
    op.drop_table("cti_agents")
    with op.batch_alter_table("calling_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calling_numbers_service_id"))

    op.drop_table("calling_numbers")
    op.drop_table("agent_states")
    op.drop_table("users")
    op.drop_table("sounds")
    op.drop_table("services")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_phone"))

    op.drop_table("customers")
    op.drop_table("cti_settings")
