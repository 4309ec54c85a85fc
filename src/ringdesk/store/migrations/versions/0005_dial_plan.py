"""The dial plan per service.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:30:00.000000
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
