"""Counting the statements a process sends to its database, at the driver (DBAPI) level.

`install()` makes every engine created afterwards hand out counting cursors (SQLAlchemy's
`do_connect` hook on the Engine class): each `execute`, each `executemany` and each `COPY` counts
one, whoever calls it — SQLAlchemy, or code that goes to the driver's cursor itself. So the count
is the same for any version of the code, and an executemany of 500 rows is 1 (on PostgreSQL psycopg
pipelines its rows). BEGIN, SAVEPOINT and RELEASE count too: they are statements the database runs.
"""

from __future__ import annotations

import collections
import re
import sqlite3
from typing import Any

_WORDS = re.compile(r"^\s*(\w+)(?:.*?\b(?:FROM|INTO|UPDATE)\s+\"?(\w+))?", re.IGNORECASE | re.DOTALL)


class Count:
    """Statements so far, in all and by kind ("INSERT messages", "SAVEPOINT", …)."""

    def __init__(self) -> None:
        self.total = 0
        self.kinds: collections.Counter[str] = collections.Counter()

    def add(self, sql: Any) -> None:
        self.total += 1
        text = sql if isinstance(sql, str) else str(sql)
        found = _WORDS.match(text[:400])
        if found is None:
            self.kinds["? " + text[:30]] += 1
            return
        verb = found.group(1).upper()
        if verb == "UPDATE":
            table = text.split(None, 2)[1].strip('"') if len(text.split(None, 2)) > 1 else ""
        else:
            table = found.group(2) or ""
        if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "PRAGMA"):
            table = ""
        self.kinds[f"{verb} {table}".strip()] += 1

    def snapshot(self) -> tuple[int, collections.Counter[str]]:
        return self.total, collections.Counter(self.kinds)


COUNT = Count()


class _SqliteCursor(sqlite3.Cursor):
    def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
        COUNT.add(sql)
        return super().execute(sql, *args)

    def executemany(self, sql: str, seq: Any) -> Any:  # type: ignore[override]
        COUNT.add(sql)
        return super().executemany(sql, seq)


class _SqliteConnection(sqlite3.Connection):
    # sqlite3.Connection.execute/executemany go through self.cursor(), so they count as well.
    def cursor(self, factory: Any = _SqliteCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


def _pg_cursor() -> Any:
    import psycopg

    class Cursor(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            COUNT.add(query)
            return super().execute(query, *args, **kwargs)

        def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            COUNT.add(query)
            return super().executemany(query, *args, **kwargs)

        def copy(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
            COUNT.add(statement)
            return super().copy(statement, *args, **kwargs)

    return Cursor


_installed = False


def install() -> Count:
    global _installed
    if _installed:
        return COUNT
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

    pg_cursor: list[Any] = []

    @sa.event.listens_for(Engine, "do_connect")
    def _connect(dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        if dialect.name == "sqlite":
            cparams["factory"] = _SqliteConnection
        elif dialect.name == "postgresql":
            if not pg_cursor:
                pg_cursor.append(_pg_cursor())
            cparams["cursor_factory"] = pg_cursor[0]

    _installed = True
    return COUNT
