"""A customer's tickets and calls: indexes on `tickets.customer_id` (the customer page, a
ticket's previous tickets, an offer's last ticket) and `call_records.customer_number` (the
customer's calls), which were read by scanning the tables.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-02 05:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_customer_id", "tickets", ["customer_id"])
    op.create_index("ix_call_records_customer_number", "call_records", ["customer_number"])


def downgrade() -> None:
    op.drop_index("ix_call_records_customer_number", table_name="call_records")
    op.drop_index("ix_tickets_customer_id", table_name="tickets")
