"""Shared fixtures: every store-touching test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

from wacoex.store.engine import make_engine, normalise_url, upgrade
from wacoex.store.tables import DEFAULT_WORKSPACE_ID, metadata, workspaces

# No example has a time limit: hypothesis's default deadline (200 ms) is a timing assertion, and on a
# shared 2-core machine a pure function's example has taken longer (it failed a property that holds).
settings.register_profile("wacoex", deadline=None)
settings.load_profile("wacoex")

POSTGRES_URL = os.environ.get("WACOEX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_reachable() -> str | None:
    try:
        engine = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    reason = _postgres_reachable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
        pytest.skip(reason)
    with new_postgres_database() as url:
        yield url


@contextmanager
def new_postgres_database() -> Iterator[str]:
    """A fresh migrated PostgreSQL database, dropped afterwards."""
    name = f"wacoex_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = normalise_url(POSTGRES_URL).rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a fresh SQLite file, or the session's PostgreSQL database truncated."""
    if request.param == "sqlite":
        path = tmp_path / "wacoex.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("_postgres_database")
    truncate_all(url)
    yield url


def truncate_all(url: str) -> None:
    """Empty every table of a migrated database, ids restarting at 1, but for workspace 1, "default",
    which the schema always has (migration 0009 creates it)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):  # rowids restart at 1 in empty tables
                conn.execute(table.delete())
        conn.execute(workspaces.insert().values(id=DEFAULT_WORKSPACE_ID, name="default", created_at=0))
        if conn.dialect.name == "postgresql":  # the next workspace is 2, as after the migration
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('workspaces', 'id'), 1)"))
    engine.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
