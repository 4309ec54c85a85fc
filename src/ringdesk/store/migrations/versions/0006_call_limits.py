"""Call limits per source, in total and per service queue, and inbound trust.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:30:00.000000
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
