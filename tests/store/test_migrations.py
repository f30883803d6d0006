"""Migrations: idempotent, on both engines, safe when several processes start at once."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from wacoex.cli import app
from wacoex.errors import Conflict
from wacoex.store.engine import alembic_config, current_revision, make_engine, upgrade
from wacoex.store.tables import metadata


def _head(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def test_upgrade_is_idempotent_and_creates_every_table(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        assert {t.name for t in metadata.sorted_tables} <= names
        assert current_revision(engine) == _head(db_url)
    finally:
        engine.dispose()


def test_a_missing_sqlite_folder_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/does/not/exist/yet.db"
    result = CliRunner().invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "does/not/exist/yet.db").exists()


def test_processes_migrating_at_once_all_succeed(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        db_url = f"sqlite:///{tmp_path}/fresh.db"
    else:
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    code = f"from wacoex.store.engine import upgrade; upgrade({db_url!r})"

    def migrate(_: int) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=False)

    with ThreadPoolExecutor(3) as pool:  # three processes started at once
        outcomes = list(pool.map(migrate, range(3)))
    assert [o.returncode for o in outcomes] == [0, 0, 0], [o.stderr.decode()[-500:] for o in outcomes]
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == _head(db_url)
    finally:
        engine.dispose()


def _fresh(db_url: str, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or the session's PostgreSQL database emptied."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/fresh.db"
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return db_url


def test_shared_display_numbers_stop_the_migration_and_are_named(db_url: str, tmp_path: Path) -> None:
    url = _fresh(db_url, tmp_path)
    upgrade(url, "0005")  # before display numbers were unique
    engine = make_engine(url)
    insert = sa.text(
        "INSERT INTO numbers (phone_number_id, display_phone_number, waba_id, provider, coexistence,"
        " state, history_state, created_at, updated_at)"
        " VALUES (:p, :d, 'w', 'meta', false, 'connected', 'none', 0, 0)"
    )
    try:
        with engine.begin() as conn:
            for pnid, display in [("a", "155"), ("b", "155"), ("c", "166"), ("d", "177"), ("e", "166")]:
                conn.execute(insert, {"p": pnid, "d": display})
        with pytest.raises(Conflict) as caught:
            upgrade(url)
        assert caught.value.message.startswith(
            "cannot make display numbers unique (migration 0006): "
            "+155 is registered for numbers a, b; +166 is registered for numbers c, e."
        )
        assert current_revision(engine) == "0005"  # nothing changed
        with engine.begin() as conn:  # what the operator does: correct one, delete the other
            conn.execute(
                sa.text("UPDATE numbers SET display_phone_number = '156' WHERE phone_number_id = 'b'")
            )
            conn.execute(sa.text("DELETE FROM numbers WHERE phone_number_id = 'e'"))
        upgrade(url)
        assert current_revision(engine) == _head(url)
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM numbers")).scalar() == 4
    finally:
        engine.dispose()


# SQLAlchemy cannot reflect SQLite's expression indexes (it warns and skips them, and Alembic then
# skips them on both sides): test_the_read_orders_are_indexed_as_declared checks those two instead.
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning"
)
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index:UserWarning"
)
def test_the_migrations_build_exactly_the_tables_and_0007_goes_down_and_up(db_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        command.downgrade(alembic_config(db_url), "0006")
        inspector = sa.inspect(engine)
        assert "contact_aliases" not in inspector.get_table_names()
        assert "phone_changed_at" not in {c["name"] for c in inspector.get_columns("contacts")}
        upgrade(db_url)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()


def test_the_read_orders_are_indexed_as_declared(db_url: str) -> None:
    """Migration 0008's expression indexes, as the database itself describes them."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            names = "('ix_conversations_activity', 'ix_messages_timeline_at')"
            if conn.dialect.name == "sqlite":
                sql = f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN {names}"
            else:
                sql = f"SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN {names}"
            found = {name: " ".join(d.split()) for name, d in conn.execute(sa.text(sql))}
    finally:
        engine.dispose()
    if db_url.startswith("sqlite"):
        assert found == {
            "ix_conversations_activity": "CREATE INDEX ix_conversations_activity ON conversations "
            "(number_id, coalesce(last_message_at, 0), id)",
            "ix_messages_timeline_at": "CREATE INDEX ix_messages_timeline_at ON messages "
            "(conversation_id, coalesce(occurred_at, received_at), wamid)",
        }
    else:
        assert found == {
            "ix_conversations_activity": "CREATE INDEX ix_conversations_activity ON public.conversations "
            "USING btree (number_id, COALESCE(last_message_at, (0)::bigint), id)",
            "ix_messages_timeline_at": "CREATE INDEX ix_messages_timeline_at ON public.messages "
            "USING btree (conversation_id, COALESCE(occurred_at, received_at), wamid)",
        }
