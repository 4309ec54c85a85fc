"""Several provider trunks with priority, registration and caller-ID form.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:15:00.000000

The single trunk of the CTI settings moves into the first row (priority 1); its password is
copied as stored (sealed, never opened here). The old cti_settings.trunk_* columns stay for one
release (an older release rolled back still finds them), but are emptied: the trunks table is
the one place a trunk is configured from now on (docs/decisions.md, "Provider trunks").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SEALED_LENGTH = 400  # store/secrets.py when this was written


def upgrade() -> None:
    trunks = op.create_table(
        "trunks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False, server_default="5060"),
        sa.Column("transport", sa.String(8), nullable=False, server_default="udp"),
        sa.Column("username", sa.String(128), nullable=True),
        sa.Column("password", sa.String(SEALED_LENGTH), nullable=True),
        sa.Column("auth_username", sa.String(128), nullable=True),
        sa.Column("realm", sa.String(200), nullable=True),
        sa.Column("register", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("register_expires", sa.Integer(), nullable=False, server_default="3600"),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("sources", sa.String(1000), nullable=False, server_default=""),
        sa.Column("identity_header", sa.String(8), nullable=False, server_default="pai"),
        sa.Column("from_domain", sa.String(200), nullable=True),
        sa.Column("privacy_withheld", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("number_format", sa.String(16), nullable=False, server_default="e164"),
        sa.Column("country_code", sa.String(4), nullable=True),
    )
    bind = op.get_bind()
    settings = sa.table(
        "cti_settings",
        sa.column("id", sa.Integer()),
        sa.column("trunk_host", sa.String()),
        sa.column("trunk_port", sa.Integer()),
        sa.column("trunk_username", sa.String()),
        sa.column("trunk_password", sa.String()),
        sa.column("trunk_sources", sa.String()),
    )
    row = bind.execute(
        sa.select(
            settings.c.trunk_host,
            settings.c.trunk_port,
            settings.c.trunk_username,
            settings.c.trunk_password,
            settings.c.trunk_sources,
        ).where(settings.c.id == 1)
    ).first()
    if row is not None and row.trunk_host:
        bind.execute(
            trunks.insert().values(
                name="trunk",
                host=row.trunk_host,
                port=row.trunk_port or 5060,
                transport="udp",
                username=row.trunk_username or None,
                password=row.trunk_password or None,  # the sealed token, as stored
                register=False,
                register_expires=3600,
                priority=1,
                enabled=True,
                sources=row.trunk_sources or "",
                identity_header="pai",  # what the single trunk always sent
                privacy_withheld=True,
                number_format="e164",
            )
        )
        bind.execute(
            settings.update()
            .where(settings.c.id == 1)
            .values(trunk_host=None, trunk_username=None, trunk_password=None, trunk_sources="")
        )


def downgrade() -> None:
    bind = op.get_bind()
    trunks = sa.table(
        "trunks",
        sa.column("host", sa.String()),
        sa.column("port", sa.Integer()),
        sa.column("username", sa.String()),
        sa.column("password", sa.String()),
        sa.column("sources", sa.String()),
        sa.column("priority", sa.Integer()),
        sa.column("id", sa.Integer()),
    )
    first = bind.execute(
        sa.select(
            trunks.c.host, trunks.c.port, trunks.c.username, trunks.c.password, trunks.c.sources
        )
        .order_by(trunks.c.priority, trunks.c.id)
        .limit(1)
    ).first()
    if first is not None:
        settings = sa.table(
            "cti_settings",
            sa.column("id", sa.Integer()),
            sa.column("trunk_host", sa.String()),
            sa.column("trunk_port", sa.Integer()),
            sa.column("trunk_username", sa.String()),
            sa.column("trunk_password", sa.String()),
            sa.column("trunk_sources", sa.String()),
        )
        bind.execute(
            settings.update()
            .where(settings.c.id == 1)
            .values(
                trunk_host=first.host,
                trunk_port=first.port,
                trunk_username=first.username,
                trunk_password=first.password,
                trunk_sources=first.sources,
            )
        )
    op.drop_table("trunks")
