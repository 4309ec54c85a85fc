"""`ringdesk migrate`: run the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from ringdesk.store.db import normalize_url
from ringdesk.store.secrets import SecretBox

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, secrets: SecretBox | None = None) -> Config:
    """`secrets`: the key migrations that seal stored secrets use (0007)."""
    cfg = Config()
    if secrets is not None:
        cfg.attributes["secrets"] = secrets
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on '%' in a password; double it.
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, secrets: SecretBox | None = None) -> None:
    """Bring the database at `url` to the newest schema (idempotent)."""
    command.upgrade(alembic_config(url, secrets), "head")
