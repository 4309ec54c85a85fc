"""The Alembic migrations, on SQLite and on the real PostgreSQL of the test session: every step
up from an empty database and back down, the schema at head equal to the models, and data
written by the first schema kept through every later migration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from ringdesk.store import models as m
from ringdesk.store.db import make_engine
from ringdesk.store.migrate import alembic_config
from ringdesk.store.secrets import PREFIX, SecretBox, SecretKeyError
from tests.support.postgres import PostgresCluster

FIRST = "0001"
SEALING = "0007"  # the migration that encrypts the stored secrets
BOX = SecretBox.generate()  # the data dir's key in a real install


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    made = make_engine(database_url, BOX)
    try:
        yield made
    finally:
        made.dispose()


def _revisions(cfg: Config) -> list[str]:
    """Every revision from the first to head, in order (a single line of history)."""
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1, f"more than one head: {script.get_heads()}"
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def _current(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def _diff_with_models(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, m.Base.metadata))


def test_every_step_up_and_down_and_up_again(database_url: str, engine: sa.Engine) -> None:
    cfg = alembic_config(database_url)
    revisions = _revisions(cfg)
    assert revisions[0] == FIRST and len(revisions) >= 2
    assert _current(engine) is None and _tables(engine) == set()

    first_tables: set[str] = set()
    for revision in revisions:
        command.upgrade(cfg, revision)
        assert _current(engine) == revision
        if revision == FIRST:
            first_tables = _tables(engine)
    model_tables = set(m.Base.metadata.tables)
    assert _tables(engine) == model_tables
    assert _diff_with_models(engine) == []

    for previous in [*reversed(revisions[:-1]), None]:
        command.downgrade(cfg, "-1")
        assert _current(engine) == previous
        if previous == FIRST:
            # Back at the first schema: its tables are all there, the later ones gone (0004
            # added the TOTP tables).
            assert _tables(engine) == first_tables
            assert first_tables <= model_tables and "users" in first_tables
            assert {"user_totp", "recovery_codes"}.isdisjoint(first_tables)
    assert _tables(engine) == set(), "base must leave no table behind"

    command.upgrade(cfg, "head")
    assert _current(engine) == revisions[-1]
    assert _tables(engine) == model_tables
    assert _diff_with_models(engine) == []


def test_data_written_at_the_first_schema_survives_the_upgrade_to_head(
    database_url: str, engine: sa.Engine
) -> None:
    cfg = alembic_config(database_url, BOX)
    command.upgrade(cfg, FIRST)
    # Plain SQL with the columns of 0001 only: the ORM models describe head, not 0001.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO services (id, name, inbound_number, inbound_enabled, "
                "outbound_enabled, strategy, overflow_action, service_level_seconds) "
                "VALUES (1, 'Customer Support', '5550100', true, false, 'round_robin', "
                "'none', 30)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, name, role, password_hash, created_at) "
                "VALUES (2, 'alice', 'Alice Martin', 'agent', 'argon2-hash', 1700000000.5)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO cti_agents (user_id, cti_id, cti_number, phone_password) "
                "VALUES (2, '1001', '1001', 'phone1001-demo')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO service_agents (service_id, user_id, phone_permission) "
                "VALUES (1, 2, true)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO tickets (id, call_id, service_id, direction, customer_number, "
                "agent_id, subject, notes, status, created_at, connected_at, ended_at, "
                "duration_seconds, outcome) VALUES (7, 'call-7', 1, 'inbound', '5551234', 2, "
                "'Billing question', 'Asks about the March invoice.', 'open', 1700000100.0, "
                "1700000105.0, 1700000165.0, 60.0, 'answered')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO ticket_events (ticket_id, at, kind, detail) "
                "VALUES (7, 1700000105.0, 'call_connected', 'Alice Martin')"
            )
        )

    command.upgrade(cfg, "head")

    with Session(engine) as db:
        service = db.get_one(m.Service, 1)
        assert (service.name, service.inbound_number, service.strategy) == (
            "Customer Support",
            "5550100",
            "round_robin",
        )
        assert (service.inbound_enabled, service.outbound_enabled) == (True, False)
        assert service.service_level_seconds == 30
        user = db.get_one(m.User, 2)
        assert (user.username, user.name, user.role) == ("alice", "Alice Martin", "agent")
        cti = db.get_one(m.CtiAgent, 2)
        assert (cti.cti_id, cti.cti_number, cti.phone_password) == (
            "1001",
            "1001",
            "phone1001-demo",
        )
        stored = db.execute(sa.text("SELECT phone_password FROM cti_agents")).scalar_one()
        assert stored.startswith(PREFIX) and "phone1001" not in stored  # sealed by 0007
        assert cti.auto_answer is False  # the column 0002 added, filled for existing agents
        permission = db.get_one(m.ServiceAgent, (1, 2))
        assert permission.phone_permission is True
        ticket = db.get_one(m.Ticket, 7)
        assert (ticket.call_id, ticket.service_id, ticket.agent_id) == ("call-7", 1, 2)
        assert (ticket.subject, ticket.notes) == (
            "Billing question",
            "Asks about the March invoice.",
        )
        assert (ticket.duration_seconds, ticket.outcome) == (60.0, "answered")
        events = db.scalars(sa.select(m.TicketEvent).where(m.TicketEvent.ticket_id == 7)).all()
        assert [(e.kind, e.detail) for e in events] == [("call_connected", "Alice Martin")]
        # The upgraded schema keeps working: a new agent gets the new column's default.
        db.add(
            m.User(
                id=3,
                username="bob",
                name="Bob Chen",
                role="agent",
                password_hash="x",
                created_at=1.0,
            )
        )
        db.flush()  # no ORM relationship orders the two inserts; the user comes first
        db.add(m.CtiAgent(user_id=3, cti_id="1002", cti_number="1002"))
        db.commit()
        assert db.get_one(m.CtiAgent, 3).auto_answer is False


def test_the_sealing_migration_needs_the_key_and_its_downgrade_gives_the_clear_text_back(
    database_url: str, engine: sa.Engine
) -> None:
    before = [r for r in _revisions(alembic_config(database_url)) if r < SEALING][-1]
    # Written at the first schema, as an install from before the sealing would have them.
    command.upgrade(alembic_config(database_url), FIRST)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, name, role, password_hash, created_at) "
                "VALUES (2, 'alice', 'Alice Martin', 'agent', 'argon2-hash', 1.0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO cti_agents (user_id, cti_id, cti_number, phone_password) "
                "VALUES (2, '1001', '1001', 'phone1001-demo')"
            )
        )
        conn.execute(sa.text("DELETE FROM cti_settings"))
        conn.execute(
            sa.text(
                "INSERT INTO cti_settings (id, sip_domain, trunk_port, trunk_password, "
                "allow_any_source, codecs, queue_music_mode, default_login_status, "
                "pickup_seconds, pickup_timeout_status, max_missed_offers, "
                "outbound_ticket_on_dial, record_calls) VALUES (1, 'x', 5060, 'trunk-secret', "
                "false, 'PCMU', 'early_media', 'business', 20, 'rest', 3, false, false)"
            )
        )
    command.upgrade(alembic_config(database_url), before)

    with pytest.raises(SecretKeyError, match="no secret key was given"):
        command.upgrade(alembic_config(database_url), SEALING)
    assert _current(engine) == before  # nothing half-done

    command.upgrade(alembic_config(database_url, BOX), SEALING)
    raw = (
        "SELECT (SELECT phone_password FROM cti_agents), (SELECT trunk_password FROM cti_settings)"
    )
    with engine.connect() as conn:
        phone, trunk = conn.execute(sa.text(raw)).one()
    assert phone.startswith(PREFIX) and trunk.startswith(PREFIX)
    assert "phone1001" not in phone and "trunk-secret" not in trunk
    # Only the column (the table at this revision lacks the columns later migrations add).
    password = sa.select(m.CtiAgent.phone_password).where(m.CtiAgent.user_id == 2)
    with Session(engine) as db:
        assert db.scalar(password) == "phone1001-demo"
    assert BOX.open(trunk) == "trunk-secret"
    other_key = make_engine(database_url, SecretBox.generate())
    with Session(other_key) as db, pytest.raises(SecretKeyError, match="not the one this"):
        db.scalar(password)
    other_key.dispose()

    command.downgrade(alembic_config(database_url, BOX), before)
    with engine.connect() as conn:
        assert tuple(conn.execute(sa.text(raw)).one()) == ("phone1001-demo", "trunk-secret")


def test_the_second_factor_rows_go_with_their_user(database_url: str, engine: sa.Engine) -> None:
    """0004's tables at head: a user's TOTP and recovery codes are deleted with the user (the
    foreign keys cascade on both databases), and a lookup group is unique per user only."""
    command.upgrade(alembic_config(database_url, BOX), "head")
    with Session(engine) as db:
        for user_id in (2, 3):
            db.add(
                m.User(
                    id=user_id,
                    username=f"u{user_id}",
                    name="U",
                    role="admin",
                    password_hash="x",
                    created_at=1.0,
                )
            )
        db.flush()
        for user_id in (2, 3):
            db.add(m.UserTotp(user_id=user_id, secret="JBSWY3DPEHPK3PXP", created_at=1.0))
            db.add(m.RecoveryCode(user_id=user_id, lookup="ab12", code_hash="h", created_at=1.0))
        db.commit()
        assert db.get_one(m.UserTotp, 2).enabled is False  # the column's default
        assert db.get_one(m.UserTotp, 2).secret == "JBSWY3DPEHPK3PXP"
        db.add(m.RecoveryCode(user_id=2, lookup="ab12", code_hash="h2", created_at=1.0))
        with pytest.raises(sa.exc.IntegrityError):
            db.commit()
        db.rollback()
        db.delete(db.get_one(m.User, 2))
        db.commit()
        assert db.get(m.UserTotp, 2) is None
        left = db.scalars(sa.select(m.RecoveryCode.user_id)).all()
        assert left == [3] and db.get(m.UserTotp, 3) is not None


def test_the_single_trunk_moves_into_the_trunks_table_with_its_password_still_sealed(
    database_url: str, engine: sa.Engine
) -> None:
    cfg = alembic_config(database_url, BOX)
    command.upgrade(cfg, "0007")
    sealed = _legacy_trunk(engine, "sip.provider.test", 5070, "trunk-secret")

    command.upgrade(cfg, "0008")
    raw = "SELECT name, host, port, username, password, priority, enabled, sources FROM trunks"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(raw)).all()
        old = conn.execute(sa.text("SELECT trunk_host, trunk_password FROM cti_settings")).one()
    assert len(rows) == 1
    name, host, port, username, password, priority, enabled, sources = rows[0]
    assert (name, host, port, username, priority, bool(enabled), sources) == (
        "trunk",
        "sip.provider.test",
        5070,
        "acct",
        1,
        True,
        "192.0.2.7",
    )
    assert password == sealed  # copied as stored, never opened
    assert tuple(old) == (None, None)  # the old columns stay one release, emptied
    with Session(engine) as db:
        assert db.scalars(sa.select(m.TrunkRow)).one().password == "trunk-secret"

    command.downgrade(cfg, "0007")
    with engine.connect() as conn:
        back = conn.execute(
            sa.text("SELECT trunk_host, trunk_port, trunk_password FROM cti_settings")
        ).one()
    assert (back.trunk_host, back.trunk_port, BOX.open(back.trunk_password)) == (
        "sip.provider.test",
        5070,
        "trunk-secret",
    )


def _legacy_trunk(engine: sa.Engine, host: str, port: int, password: str) -> str:
    """The CTI settings row of 0007/0008 with a trunk in its trunk_* columns; its password
    sealed as the app wrote it. Returns the sealed password as stored."""
    sealed = BOX.seal(password)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM cti_settings"))
        conn.execute(
            sa.text(
                "INSERT INTO cti_settings (id, sip_domain, trunk_host, trunk_port, "
                "trunk_username, trunk_password, allow_any_source, codecs, queue_music_mode, "
                "default_login_status, pickup_seconds, pickup_timeout_status, "
                "max_missed_offers, outbound_ticket_on_dial, record_calls, trunk_sources, "
                "max_calls_per_source, max_calls_total, max_queued_per_service) VALUES "
                "(1, 'x', :host, :port, 'acct', :password, false, 'PCMU', 'early_media', "
                "'business', 20, 'rest', 3, false, false, '192.0.2.7', 10, 200, 50)"
            ),
            {"host": host, "port": port, "password": sealed},
        )
    assert sealed.startswith(PREFIX)
    return sealed


def test_a_trunk_set_in_the_old_settings_after_0008_moves_too_and_the_columns_go(
    database_url: str, engine: sa.Engine
) -> None:
    """Between 0008 and 0009 the settings API still wrote the old columns (the demo did): 0009
    moves such a trunk like 0008 did, keeps a row that is already there, drops the columns."""
    cfg = alembic_config(database_url, BOX)
    command.upgrade(cfg, "0008")
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO trunks (name, host, port) VALUES ('trunk', 'a.test', 5060)")
        )
    sealed = _legacy_trunk(engine, "127.0.0.1", 5080, "demo-secret")
    command.upgrade(cfg, "0009")
    raw = "SELECT name, host, port, username, password, priority, sources FROM trunks ORDER BY id"
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(raw))]
    assert rows == [
        ("trunk", "a.test", 5060, None, None, 1, ""),
        ("trunk-2", "127.0.0.1", 5080, "acct", sealed, 1, "192.0.2.7"),  # copied as stored
    ]
    columns = {c["name"] for c in sa.inspect(engine).get_columns("cti_settings")}
    assert not {c for c in columns if c.startswith("trunk")}, columns
    # Upgraded again from 0008 with the same trunk already a row: not copied twice.
    command.downgrade(cfg, "0008")
    _legacy_trunk(engine, "127.0.0.1", 5080, "demo-secret")
    command.upgrade(cfg, "0009")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM trunks")).scalar_one() == 2
