"""Stored secrets encrypted at rest: the phone and trunk passwords (and the TOTP seeds) widened
for their sealed form and sealed with the data dir's key (store.secrets).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ringdesk.store.secrets import PREFIX, SEALED_LENGTH, SecretBox, SecretKeyError

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, key column, secret column)
SECRETS = (
    ("cti_agents", "user_id", "phone_password"),
    ("cti_settings", "id", "trunk_password"),
)
SEALED_ONLY = (("user_totp", "user_id", "secret"),)  # made at its sealed length by 0004
CLEAR_LENGTH = 128


def _todo(table: str, key: str, column: str, change: str) -> list[tuple[object, str]]:
    """The rows to seal (change="seal": the clear ones) or to open ("open": the sealed ones)."""
    rows = op.get_bind().execute(
        sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")
    )
    return [(k, v) for k, v in rows if v.startswith(PREFIX) == (change == "open")]


def _need_box(change: str) -> SecretBox | None:
    """The key, checked before any table is touched: SQLite's table rebuilds are not undone
    by a failed migration, so a missing key must stop it first."""
    if not any(_todo(table, key, column, change) for table, key, column in SECRETS + SEALED_ONLY):
        return None
    cfg = op.get_context().config
    box = cfg.attributes.get("secrets") if cfg is not None else None
    if not isinstance(box, SecretBox):
        raise SecretKeyError(
            f"stored secrets to {change} and no secret key was given: run `ringdesk migrate` "
            "(it reads the key from the data dir or RINGDESK_SECRET_KEY)"
        )
    return box


def _rewrite(box: SecretBox | None, change: str) -> None:
    if box is None:
        return
    for table, key, column in SECRETS + SEALED_ONLY:
        for k, value in _todo(table, key, column, change):
            new = box.seal(value) if change == "seal" else box.open(value)
            op.get_bind().execute(
                sa.text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"), {"v": new, "k": k}
            )


def _resize(old: int, new: int) -> None:
    for table, _key, column in SECRETS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=old),
                type_=sa.String(length=new),
                existing_nullable=True,
            )


def upgrade() -> None:
    box = _need_box("seal")
    _resize(CLEAR_LENGTH, SEALED_LENGTH)
    _rewrite(box, "seal")


def downgrade() -> None:
    box = _need_box("open")
    _rewrite(box, "open")
    _resize(SEALED_LENGTH, CLEAR_LENGTH)
