"""Ids for rows a batch will insert, allocated before it writes them (so others can point at them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_BLOCK_MIN, _BLOCK_MAX = 32, 4096


class RowIds:
    """Next ids per table within one transaction.

    SQLite: one past the largest id, read once (the apply transaction holds the write lock, so no
    one else inserts meanwhile; `reset` after anyone else in this transaction inserted rows).
    PostgreSQL: the table's own sequence, in blocks that grow with use (ids are never reused; an
    id taken and not used is a gap, as after any rolled-back insert).
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._postgres = conn.dialect.name == "postgresql"
        self._next: dict[str, int] = {}
        self._left: dict[str, list[int]] = {}
        self._block: dict[str, int] = {}
        self.statements = 0

    def reset(self) -> None:
        self._next.clear()
        self._left.clear()

    def next(self, table: str, above: int = 0) -> int:
        """The next id of `table`, greater than `above` (an id that still means a row to someone)."""
        if self._postgres:
            left = self._left.get(table)
            if not left:
                left = self._left[table] = self._take(table)
            return left.pop()
        value = self._next.get(table)
        if value is None:
            self.statements += 1
            value = int(
                self._conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").scalar_one()
            )
        value = max(value, above + 1)
        self._next[table] = value + 1
        return value

    def _take(self, table: str) -> list[int]:
        size = self._block[table] = min(_BLOCK_MAX, max(_BLOCK_MIN, 2 * self._block.get(table, 0)))
        self.statements += 1
        rows = self._conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": size},
        ).scalars()
        return sorted((int(r) for r in rows), reverse=True)
