"""Engines for SQLite and PostgreSQL, and schema migration (Alembic) to the newest revision."""

from __future__ import annotations

import fcntl
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from wacoex.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def now_ms() -> int:
    return int(time.time() * 1000)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the user gave."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and banners."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def make_engine(url: str, *, pool_size: int = 10, read_only: bool = False) -> Engine:
    """An engine for `url`. `read_only` (SQLite) takes no write lock up front: for API reads."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = sa.create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a receipt we acknowledged survives power loss, not only a process crash.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # 64 MB page cache: a history import touches large index ranges (docs/benchmarks.md).
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock up front so concurrent writers queue on busy_timeout
            # instead of failing to upgrade a read lock; readers (WAL) never block writers.
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
    )


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` to `revision` (idempotent; safe when several processes start at once).

    PostgreSQL serialises migrations with an advisory lock (migrations/env.py); SQLite, which lives
    on one host, with a file lock beside the database file.
    """
    url = normalise_url(url)
    _ensure_sqlite_dir(url)
    path = url.split("///", 1)[-1] if url.startswith("sqlite") else ""
    if not path or path == ":memory:":
        command.upgrade(alembic_config(url), revision)
        return
    with open(path + ".migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            command.upgrade(alembic_config(url), revision)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.DBAPIError:
            return None


def require_schema(url: str, *, current: bool = True) -> None:
    """Refuse a database that does not exist or has no wacoex schema, creating and migrating nothing.

    For commands that only read (or only act on what is already there). With `current`, a schema
    older or newer than this version's newest migration is refused too.
    """
    shown = safe_url(url)
    url = normalise_url(url)
    parsed = sa.engine.make_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and path and path != ":memory:":
        if not Path(path).is_file():
            raise DatabaseUnavailable(f"database {path} does not exist: create it with `wacoex db upgrade`")
        # Read-only: opening a file that is not a database must not turn it into one.
        uri = Path(path).absolute().as_uri() + "?mode=ro"
        engine = sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    else:
        engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            try:
                migrated = sa.inspect(conn).has_table("alembic_version")
            except sa.exc.DatabaseError as exc:
                raise DatabaseUnavailable(f"{shown} is not a wacoex database: {exc.orig}") from exc
            query = sa.text("SELECT version_num FROM alembic_version")
            revision = conn.execute(query).scalar() if migrated else None
    finally:
        engine.dispose()
    if revision is None:
        raise DatabaseUnavailable(f"database {shown} has no wacoex schema: run `wacoex db upgrade`")
    if current:
        script = ScriptDirectory.from_config(alembic_config(url))
        head = script.get_current_head()
        if revision not in {r.revision for r in script.walk_revisions()}:
            raise DatabaseUnavailable(
                f"database {shown} has schema revision {revision}, made by a newer wacoex than this one"
            )
        if revision != head:
            raise DatabaseUnavailable(
                f"database {shown} has schema revision {revision}, not {head}: run `wacoex db upgrade`"
            )
