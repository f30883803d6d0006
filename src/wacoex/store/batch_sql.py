"""The writes of set-wise apply: a statement per kind of write (the reads: store/batch_reads.py).

Also the one place a message row and its columns meet: `full_message` (row -> columns, defaults)
and `existing_of` / `absorb` (columns -> what the services see of a stored message).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.domain import limits
from wacoex.domain.conversation import window_expiry
from wacoex.domain.enums import STATUS_RANK
from wacoex.services.ports import ConversationDelta, EventRow, ExistingMessage
from wacoex.store.tables import conversations, messages, metadata

_B = sa.bindparam
_m, _cv = messages.c, conversations.c

MESSAGE_COLUMNS = [c.name for c in messages.columns if c.name != "id"]
MESSAGE_DEFAULTS: dict[str, Any] = {name: None for name in MESSAGE_COLUMNS}
MESSAGE_DEFAULTS.update(placeholder=False, edited=False, revoked=False, media_attempts=0, media_next_at=0)
EXISTING_FIELDS = frozenset(f.name for f in fields(ExistingMessage))
_JSON = {
    t.name: frozenset(c.name for c in t.columns if isinstance(c.type, sa.JSON))
    for t in metadata.sorted_tables
}


# -- rows -------------------------------------------------------------------------------------------


def full_message(message_id: int, row: dict[str, Any]) -> dict[str, Any]:
    return {"id": message_id, **MESSAGE_DEFAULTS, **row}


def existing_of(row: Any) -> ExistingMessage:
    return ExistingMessage(
        id=int(row["id"]),
        conversation_id=row["conversation_id"],
        origin=row["origin"],
        direction=row["direction"],
        type=row["type"],
        status=row["status"],
        placeholder=bool(row["placeholder"]),
        pending_edit=row["pending_edit"],
        reactions=row["reactions"],
        occurred_at=row["occurred_at"],
        revoked=bool(row["revoked"]),
        edited_at=row["edited_at"],
        reactions_at=row["reactions_at"],
    )


def absorb(message: ExistingMessage, values: dict[str, Any]) -> None:
    """What a write does to the services' view of the message."""
    for name, value in values.items():
        if name in EXISTING_FIELDS:
            setattr(message, name, value)


def new_contact(
    contact_id: int,
    number_id: int,
    wa_id: str | None,
    key: str | None,
    user_id: str | None,
    profile_name: str | None,
    at: int,
) -> dict[str, Any]:
    return {
        "id": contact_id,
        "number_id": number_id,
        "wa_id": wa_id,
        "phone_key": key,
        "user_id": user_id,
        "profile_name": profile_name,
        "profile_name_at": at if profile_name else None,
        "book_full_name": None,
        "book_first_name": None,
        "book_updated_at": None,
        "book_removed": False,
        "created_at": at,
        "updated_at": at,
    }


def new_conversation(conversation_id: int, number_id: int, contact_id: int, at: int) -> dict[str, Any]:
    return {
        "id": conversation_id,
        "number_id": number_id,
        "contact_id": contact_id,
        "unread_count": 0,
        "message_count": 0,
        "history_count": 0,
        "created_at": at,
    }


def event_row(e: EventRow, at: int) -> dict[str, Any]:
    return {
        "number_id": e.number_id,
        "type": e.type,
        "conversation_id": e.conversation_id,
        "message_id": e.message_id,
        "payload": e.payload,
        "created_at": at,
    }


def unknown_row(
    receipt_id: int, field: str | None, phone_number_id: str | None, reason: str, raw: Any, at: int
) -> dict[str, Any]:
    # Labels from the body itself (an unknown field's name, an unregistered phone_number_id) are
    # cut to their columns; the reason and the raw item keep them whole.
    return {
        "receipt_id": receipt_id,
        "field": field[: limits.LABEL] if field else field,
        "phone_number_id": phone_number_id[: limits.LABEL] if phone_number_id else phone_number_id,
        "reason": reason,
        "raw": raw,
        "created_at": at,
    }


# -- writes -----------------------------------------------------------------------------------------

_INSERTS: dict[tuple[str, str, tuple[str, ...]], str] = {}


def insert_rows(conn: Connection, table: str, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT rows (all with the same keys) with the driver's executemany; statements executed.

    Every row has every key of the first. Straight to the driver: SQLAlchemy's per-row parameter
    processing costs more than the insert.
    A plain INSERT: a row another writer stored meanwhile fails the batch (see apply_batch).
    """
    if not rows:
        return 0
    dialect = conn.dialect.name
    names = tuple(rows[0])
    key = (dialect, table, names)
    sql = _INSERTS.get(key)
    if sql is None:
        mark = "?" if dialect == "sqlite" else "%s"
        sql = _INSERTS[key] = (
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
        )
    pick = operator.itemgetter(*names)
    json_at = [i for i, n in enumerate(names) if n in _JSON[table]]
    dumps = orjson.dumps
    values: list[Any] = []
    for row in rows:
        record = pick(row) if len(names) > 1 else (row[names[0]],)
        if json_at:
            record = list(record)
            for i in json_at:
                if record[i] is not None:
                    record[i] = dumps(record[i]).decode()
        values.append(record)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "postgresql":
            # COPY: one statement whatever the rows; psycopg's executemany pipelines a Bind and an
            # Execute per row, most of the apply's time on PostgreSQL (docs/benchmarks.md).
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for record in values:
                    copy.write_row(record)
        else:
            cursor.executemany(sql, values)
    finally:
        cursor.close()
    return 1


_UPDATES: dict[tuple[str, frozenset[str]], Any] = {}


def update_by_id(table: sa.Table, keys: Iterable[str]) -> Any:
    """UPDATE table SET <keys> WHERE id = :row_id, built once per set of columns."""
    cache_key = (table.name, frozenset(keys))
    stmt = _UPDATES.get(cache_key)
    if stmt is None:
        stmt = table.update().where(table.c.id == _B("row_id")).values({k: _B(k) for k in cache_key[1]})
        _UPDATES[cache_key] = stmt
    return stmt


def update_rows(conn: Connection, table: str, updates: dict[int, dict[str, Any]]) -> int:
    """One executemany per set of columns written."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row_id, values in updates.items():
        groups.setdefault(frozenset(values), []).append({**values, "row_id": row_id})
    for keys, params in groups.items():
        conn.execute(update_by_id(metadata.tables[table], keys), params)
    return len(groups)


# The rank of the stored status (domain.enums.STATUS_RANK); a value it does not know ranks as unknown.
_STATUS_RANK = sa.case({s.value: rank for s, rank in STATUS_RANK.items()}, value=_m.status, else_=0)


def advance_statement(with_errors: bool, *, returning: bool) -> Any:
    """The conditional write of a status: it moves only a row whose status ranks below :below."""
    values: dict[str, Any] = {"status": _B("status"), "status_at": _B("status_at")}
    if with_errors:
        values["errors"] = _B("errors")
    stmt = (
        messages.update()
        .where(_m.id == _B("row_id"), sa.or_(_m.status.is_(None), _B("below") > _STATUS_RANK))
        .values(values)
    )
    return stmt.returning(_m.id) if returning else stmt


_ADVANCE_MANY = {
    with_errors: advance_statement(with_errors, returning=False) for with_errors in (False, True)
}


def advance_statuses(conn: Connection, writes: dict[int, dict[str, Any]]) -> int:
    """Conditional status writes, one executemany per shape (the batch decided them; this guards)."""
    groups: dict[bool, list[dict[str, Any]]] = {}
    for row_id, values in writes.items():
        groups.setdefault("errors" in values, []).append({**values, "row_id": row_id})
    for with_errors, params in groups.items():
        conn.execute(_ADVANCE_MANY[with_errors], params)
    return len(groups)


def _newest(column: Any, param: str) -> Any:
    """SET column = the larger of column and :param, where either may be NULL."""
    value = sa.cast(_B(param), sa.BigInteger)
    return sa.case(
        (value.is_(None), column), (column.is_(None), value), (column < value, value), else_=column
    )


_CONVERSATION_DELTA = (
    conversations.update()
    .where(_cv.id == _B("conversation"))
    .values(
        last_message_at=_newest(_cv.last_message_at, "d_last_message_at"),
        last_live_at=_newest(_cv.last_live_at, "d_last_live_at"),
        last_customer_at=_newest(_cv.last_customer_at, "d_last_customer_at"),
        last_echo_at=_newest(_cv.last_echo_at, "d_last_echo_at"),
        window_expires_at=_newest(_cv.window_expires_at, "d_window_expires_at"),
        message_count=_cv.message_count + sa.cast(_B("d_messages"), sa.Integer),
        history_count=_cv.history_count + sa.cast(_B("d_history"), sa.Integer),
        # Unread after the business answered (if it did in these facts) counts from zero.
        unread_count=sa.case(
            (sa.cast(_B("d_reset_unread"), sa.Integer) == 1, sa.cast(_B("d_unread"), sa.Integer)),
            else_=_cv.unread_count + sa.cast(_B("d_unread"), sa.Integer),
        ),
    )
)


def apply_deltas(conn: Connection, deltas: dict[int, ConversationDelta]) -> int:
    """Every touched conversation's counters and times in one executemany."""
    params = [
        {
            "conversation": conv_id,
            "d_last_message_at": d.last_message_at,
            "d_last_live_at": d.last_live_at,
            "d_last_customer_at": d.last_customer_at,
            "d_last_echo_at": d.last_echo_at,
            "d_window_expires_at": window_expiry(d.last_customer_at),
            "d_messages": d.added_messages,
            "d_history": d.added_history,
            "d_unread": d.added_unread,
            "d_reset_unread": 1 if d.reset_unread else 0,
        }
        for conv_id, d in deltas.items()
    ]
    if not params:
        return 0
    conn.execute(_CONVERSATION_DELTA, params)
    return 1
