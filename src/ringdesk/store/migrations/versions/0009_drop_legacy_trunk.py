"""The trunk lives in the trunks table only: cti_settings.trunk_* dropped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:10:00.000000

0008 moved the single trunk of the CTI settings into the trunks table and left the old columns
for a rollback; but the CTI settings API still wrote them, so a database used since may hold a
trunk there again. It is moved like 0008 did (unless a trunk with that host and port exists),
then the columns go: one place to configure a trunk (docs/decisions.md, "One trunk table").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SEALED_LENGTH = 400  # store/secrets.py when this was written
LEGACY = ("trunk_host", "trunk_port", "trunk_username", "trunk_password", "trunk_sources")

_settings = sa.table(
    "cti_settings",
    sa.column("id", sa.Integer()),
    sa.column("trunk_host", sa.String()),
    sa.column("trunk_port", sa.Integer()),
    sa.column("trunk_username", sa.String()),
    sa.column("trunk_password", sa.String()),
    sa.column("trunk_sources", sa.String()),
)
_trunks = sa.table(
    "trunks",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("host", sa.String()),
    sa.column("port", sa.Integer()),
    sa.column("username", sa.String()),
    sa.column("password", sa.String()),
    sa.column("sources", sa.String()),
    sa.column("priority", sa.Integer()),
)


def upgrade() -> None:
    bind = op.get_bind()
    row = bind.execute(
        sa.select(*(_settings.c[name] for name in LEGACY)).where(_settings.c.id == 1)
    ).first()
    if row is not None and row.trunk_host:
        port = row.trunk_port or 5060
        same = bind.execute(
            sa.select(_trunks.c.id).where(_trunks.c.host == row.trunk_host, _trunks.c.port == port)
        ).first()
        names = set(bind.execute(sa.select(_trunks.c.name)).scalars())
        name = next(n for n in ("trunk", *(f"trunk-{i}" for i in range(2, 100))) if n not in names)
        if same is None:
            bind.execute(
                _trunks.insert().values(
                    name=name,
                    host=row.trunk_host,
                    port=port,
                    username=row.trunk_username or None,
                    password=row.trunk_password or None,  # the sealed token, as stored
                    sources=row.trunk_sources or "",
                    priority=1,
                )
            )
    with op.batch_alter_table("cti_settings") as batch:
        for name in LEGACY:
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("cti_settings") as batch:
        batch.add_column(sa.Column("trunk_host", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("trunk_port", sa.Integer(), nullable=False, server_default="5060")
        )
        batch.add_column(sa.Column("trunk_username", sa.String(128), nullable=True))
        batch.add_column(sa.Column("trunk_password", sa.String(SEALED_LENGTH), nullable=True))
        batch.add_column(
            sa.Column("trunk_sources", sa.String(1000), nullable=False, server_default="")
        )
