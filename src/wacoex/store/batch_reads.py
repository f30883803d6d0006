"""The reads of set-wise apply: one query per kind of lookup, for a whole batch.

Lookups that run for every batch go to the driver's cursor (SQLAlchemy's per-call work for an
expanding IN of up to 500 values cost more than SQLite's own); rows the batch decides on are locked
on PostgreSQL, in id order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from wacoex.services.ports import ExistingMessage, NumberRef
from wacoex.store.batch_sql import EXISTING_FIELDS, existing_of
from wacoex.store.numbers import number_ref
from wacoex.store.tables import contact_aliases, contacts, conversations, messages, numbers

_B = sa.bindparam
_IN_CHUNK = 500  # values per IN (...) on SQLite; PostgreSQL takes one array


@dataclass(slots=True)
class ContactState:
    """A contact as the batch knows it (every column the rules read)."""

    id: int
    number_id: int
    wa_id: str | None
    phone_key: str | None
    user_id: str | None
    profile_name: str | None
    profile_name_at: int | None
    book_full_name: str | None
    book_first_name: str | None
    book_updated_at: int | None
    book_removed: bool

    @classmethod
    def of(cls, row: Any) -> ContactState:
        return cls(**{name: row[name] for name in _CONTACT_FIELDS})

    def absorb(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name in _CONTACT_FIELDS:
                setattr(self, name, value)


_CONTACT_FIELDS = tuple(f.name for f in fields(ContactState))


def _any(dialect: str, column: Any, name: str) -> Any:
    """`column IN :name` for a list: one array on PostgreSQL (plans stay right), expanded on SQLite."""
    if dialect == "postgresql":
        return column == sa.any_(_B(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(_B(name, expanding=True))


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(conn: Connection, name: str) -> Any:
    dialect = conn.dialect.name
    stmt = _STATEMENTS.get((dialect, name))
    if stmt is None:
        stmt = _STATEMENTS[(dialect, name)] = _BUILD[name](dialect)
    return stmt


_BUILD: dict[str, Any] = {
    "numbers": lambda d: sa.select(numbers).where(_any(d, numbers.c.phone_number_id, "keys")),
}


# name -> (table, columns read, key column, filtered by number_id, locked on PostgreSQL, probed
# one key at a time on PostgreSQL)
_CONTACT_COLUMNS = tuple(c.name for c in contacts.columns)
_RAW: dict[str, tuple[sa.Table, tuple[str, ...], str, bool, bool, bool]] = {
    "by_user": (contacts, _CONTACT_COLUMNS, "user_id", True, True, False),
    "by_phone": (contacts, _CONTACT_COLUMNS, "phone_key", True, True, False),
    "by_id": (contacts, _CONTACT_COLUMNS, "id", False, True, False),
    "aliases": (contact_aliases, ("phone_key", "contact_id"), "phone_key", True, False, False),
    "conversations": (conversations, ("contact_id", "id"), "contact_id", True, False, False),
    # Probed: on a table never analyzed (young, or autovacuum off) `number_id = $1 AND wamid =
    # ANY($2)` was planned as a scan of every message of the number (228 ms at 500k rows, 17 ms
    # probed); rows are then locked in key order, the same for every worker.
    "messages": (messages, ("wamid", *sorted(EXISTING_FIELDS)), "wamid", True, True, True),
    "message_by_id": (messages, ("wamid", "number_id", *sorted(EXISTING_FIELDS)), "id", False, True, False),
}


def _decoders(table: sa.Table, names: Sequence[str]) -> list[tuple[int, Any]]:
    """What SQLite hands back as text or 0/1 and SQLAlchemy would have decoded: (position, decoder)."""
    out: list[tuple[int, Any]] = []
    for i, name in enumerate(names):
        kind = table.c[name].type
        if isinstance(kind, sa.JSON):
            out.append((i, orjson.loads))
        elif isinstance(kind, sa.Boolean):
            out.append((i, bool))
    return out


_DECODERS = {name: _decoders(table, cols) for name, (table, cols, *_rest) in _RAW.items()}


def _raw_select(conn: Connection, name: str, keys: Sequence[Any], number_id: Any) -> list[dict[str, Any]]:
    table, names, key, by_number, locked, probed = _RAW[name]
    if conn.dialect.name != "postgresql":
        where = [f"{key} IN ({', '.join('?' * len(keys))})"]
        args: list[Any] = list(keys)
        if by_number:
            where.insert(0, "number_id = ?")
            args.insert(0, number_id)
        sql = f"SELECT {', '.join(names)} FROM {table.name} WHERE {' AND '.join(where)}"
        return _decoded(name, names, _fetch(conn, sql, args))
    lock = " FOR UPDATE" if locked else ""
    number = "number_id = %s AND " if by_number else ""
    if probed:
        sql = (
            f"SELECT {', '.join('m.' + n for n in names)} FROM unnest(%s::text[]) AS k(key) CROSS JOIN"
            f" LATERAL (SELECT * FROM {table.name} WHERE {number}{key} = k.key{lock}) AS m"
        )
        args = [sorted(keys), *([number_id] if by_number else [])]
    else:
        order = " ORDER BY id" if locked else ""
        sql = f"SELECT {', '.join(names)} FROM {table.name} WHERE {number}{key} = ANY(%s){order}{lock}"
        args = [*([number_id] if by_number else []), list(keys)]
    # psycopg decodes json and boolean itself
    return [dict(zip(names, row, strict=True)) for row in _fetch(conn, sql, args)]


def _fetch(conn: Connection, sql: str, args: Sequence[Any]) -> list[Any]:
    """Rows of `sql` straight from the driver's cursor, in the connection's transaction."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _decoded(name: str, names: Sequence[str], rows: list[Any]) -> list[dict[str, Any]]:
    """SQLite rows as SQLAlchemy would have given them (JSON parsed, 0/1 as booleans)."""
    decoders = _DECODERS[name]
    out = []
    for row in rows:
        if decoders:
            row = list(row)
            for i, decode in decoders:
                if row[i] is not None:
                    row[i] = decode(row[i])
        out.append(dict(zip(names, row, strict=True)))
    return out


def _select(conn: Connection, name: str, keys: Sequence[Any], **params: Any) -> tuple[list[Any], int]:
    """Rows of statement `name` for `keys` (chunked on SQLite), and how many statements it took."""
    if not keys:
        return [], 0
    step = len(keys) if conn.dialect.name == "postgresql" else _IN_CHUNK
    rows: list[Any] = []
    count = 0
    for i in range(0, len(keys), step):
        chunk = list(keys[i : i + step])
        if name in _RAW:
            rows.extend(_raw_select(conn, name, chunk, params.get("number_id")))
        else:
            rows.extend(conn.execute(_statement(conn, name), {**params, "keys": chunk}).mappings())
        count += 1
    return rows, count


def numbers_by_pnid(conn: Connection, pnids: Sequence[str]) -> dict[str, NumberRef]:
    rows, _ = _select(conn, "numbers", pnids)
    return {r["phone_number_id"]: number_ref(r) for r in rows}


def contacts_by(
    conn: Connection, number_id: int, user_ids: Sequence[str], phone_keys: Sequence[str]
) -> tuple[list[ContactState], dict[str, int], int]:
    """Contacts by BSUID and by phone key, aliases of old numbers and whom they point at."""
    found: dict[int, Any] = {}
    statements = 0
    if conn.dialect.name == "postgresql" and user_ids and phone_keys:
        # One statement, so the rows are locked in one id order: locking by BSUID and then by phone
        # in two statements let two workers each hold what the other waited for (a deadlock,
        # detected only after PostgreSQL's deadlock_timeout).
        found.update((r["id"], r) for r in _contacts_by_either(conn, number_id, user_ids, phone_keys))
        statements += 1
    else:
        for name, keys in (("by_user", user_ids), ("by_phone", phone_keys)):
            rows, n = _select(conn, name, keys, number_id=number_id)
            statements += n
            found.update((r["id"], r) for r in rows)
    alias_rows, n = _select(conn, "aliases", phone_keys, number_id=number_id)
    statements += n
    aliases = {r["phone_key"]: int(r["contact_id"]) for r in alias_rows}
    targets = sorted({c for c in aliases.values() if c not in found})
    rows, n = _select(conn, "by_id", targets)
    statements += n
    found.update((r["id"], r) for r in rows)
    return [ContactState.of(r) for r in found.values()], aliases, statements


def contact_by_id(conn: Connection, contact_id: int) -> ContactState | None:
    rows, _ = _select(conn, "by_id", [contact_id])
    return ContactState.of(rows[0]) if rows else None


def message_by_id(conn: Connection, message_id: int) -> tuple[int, str, ExistingMessage] | None:
    """(number id, wamid, message) of a stored message."""
    rows, _ = _select(conn, "message_by_id", [message_id])
    return (int(rows[0]["number_id"]), rows[0]["wamid"], existing_of(rows[0])) if rows else None


def _contacts_by_either(
    conn: Connection, number_id: int, user_ids: Sequence[str], phone_keys: Sequence[str]
) -> list[dict[str, Any]]:
    sql = (
        f"SELECT {', '.join(_CONTACT_COLUMNS)} FROM contacts WHERE number_id = %s"
        " AND (user_id = ANY(%s) OR phone_key = ANY(%s)) ORDER BY id FOR UPDATE"
    )
    rows = _fetch(conn, sql, [number_id, list(user_ids), list(phone_keys)])
    return [dict(zip(_CONTACT_COLUMNS, row, strict=True)) for row in rows]


def conversations_of(conn: Connection, number_id: int, contact_ids: Sequence[int]) -> dict[int, int]:
    rows, _ = _select(conn, "conversations", contact_ids, number_id=number_id)
    return {int(r["contact_id"]): int(r["id"]) for r in rows}


def messages_by_wamid(
    conn: Connection, number_id: int, wamids: Sequence[str]
) -> tuple[dict[str, ExistingMessage], int]:
    rows, statements = _select(conn, "messages", wamids, number_id=number_id)
    return {r["wamid"]: existing_of(r) for r in rows}, statements
