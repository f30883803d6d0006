"""Dialect-specific statements (insert-or-ignore, upsert) behind one function each."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_ignore(conn: Connection, table: sa.Table, index_elements: list[str]) -> Any:
    """INSERT ... ON CONFLICT (index_elements) DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def insert_ignore_partial(conn: Connection, table: sa.Table, index_elements: list[str], where: str) -> Any:
    """Insert-or-ignore against a partial unique index."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=index_elements, index_where=sa.text(where)
        )
    return sqlite.insert(table).on_conflict_do_nothing(
        index_elements=index_elements, index_where=sa.text(where)
    )
