"""What a database failure means to the person who ran a command, in one line."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.util import CommandError

from wacoex.store.engine import safe_url


def explain(exc: Exception, url: str | None) -> str | None:
    """One line for a failure of the database at `url` a user can cause or fix; None for anything else."""
    shown = safe_url(url) if url else "the database"
    if isinstance(exc, sa.exc.DBAPIError):
        # The driver's own words, without SQLAlchemy's statement and parameters (they may hold tokens).
        return f"database {shown}: {exc.orig if exc.orig is not None else exc}"
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return f"database {shown}: {str(exc).split(chr(10))[0]}"
    if isinstance(exc, ImportError) and (exc.name or "").partition(".")[0] in ("psycopg", "sqlite3"):
        return f"database {shown}: its driver {exc.name} is not installed"
    if isinstance(exc, CommandError):  # e.g. a schema migrated by a newer wacoex
        return f"database {shown}: {exc}"
    if isinstance(exc, OSError) and exc.filename:
        database = sa.engine.make_url(url).database if url and url.startswith("sqlite") else None
        if database and Path(database).is_relative_to(Path(str(exc.filename))):
            return f"cannot create the folder {exc.filename} of database {database}: {exc.strerror}"
        return f"cannot create or open {exc.filename}: {exc.strerror}"
    return None


def check_url(url: str) -> bool:
    """Whether `url` is a database URL at all (which database it names is checked on connecting)."""
    try:
        sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return False
    return True
