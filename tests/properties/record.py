"""The stored record of a database with every surrogate id replaced by the natural key it stands for.

Two databases that applied the same webhooks hold the same record, whatever ids their rows got:
a message is known by (phone_number_id, wamid), a contact by (phone_number_id, wa_id, user_id), a
conversation by its number and contact, a receipt by its place in the queue. Every other column is
kept, our own clock's too (the apply runs on a fixed clock), except the few the apply does not set.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from wacoex.store.engine import make_engine
from wacoex.store.tables import metadata

Key = tuple[Any, ...]


def _sort_key(row: dict[str, Any]) -> bytes:
    # Sorted here, not in SQL: the engines' collations order text differently.
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=repr)


def dump(url: str) -> dict[str, Any]:
    """Every table of the record, normalised; events in the order they were recorded."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = {
                t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()
    return normalise(tables)


def normalise(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    for rows in tables.values():
        rows.sort(key=lambda row: row.get("id") or 0)
    number: dict[Any, Key] = {r["id"]: r["phone_number_id"] for r in tables["numbers"]}
    contact: dict[Any, Key] = {
        r["id"]: (number[r["number_id"]], r["wa_id"], r["user_id"]) for r in tables["contacts"]
    }
    conversation: dict[Any, Key] = {r["id"]: contact[r["contact_id"]] for r in tables["conversations"]}
    message: dict[Any, Key] = {r["id"]: (number[r["number_id"]], r["wamid"]) for r in tables["messages"]}
    receipt: dict[Any, int] = {r["id"]: i for i, r in enumerate(tables["receipts"])}
    natural: dict[str, dict[Any, Any]] = {
        "number_id": number,
        "contact_id": contact,
        "conversation_id": conversation,
        "message_id": message,
        "receipt_id": receipt,
    }

    def row_of(table: str, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column, value in row.items():
            if column == "id":
                continue
            if isinstance(value, bytes | memoryview):  # a receipt's body: equal if its digest is
                continue
            if column in natural and value is not None:
                # An id that names no row would show as ('dangling', id): never expected.
                value = natural[column].get(value, ("dangling", value))
            out[column] = value
        return out

    for keys in (contact, message):
        # A natural key that named two rows would hide one of them from the comparison.
        assert len(set(keys.values())) == len(keys), keys
    record: dict[str, Any] = {}
    for table, rows in tables.items():
        normalised = [row_of(table, r) for r in rows]
        if table == "messages":
            record[table] = {message[r["id"]]: n for r, n in zip(rows, normalised, strict=True)}
        elif table == "contacts":
            record[table] = {contact[r["id"]]: n for r, n in zip(rows, normalised, strict=True)}
        elif table == "conversations":
            record[table] = {conversation[r["id"]]: n for r, n in zip(rows, normalised, strict=True)}
        elif table in ("events", "receipts", "unknown_items"):
            record[table] = normalised  # in the order they were written: the order of the facts
        else:
            record[table] = sorted(normalised, key=_sort_key)
    return record


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What differs between two records, row by row, for a failure message a person can read."""
    out: list[str] = []
    for table in sorted(set(a) | set(b)):
        ta, tb = a.get(table), b.get(table)
        if ta == tb:
            continue
        if isinstance(ta, dict) and isinstance(tb, dict):
            for key in sorted(set(ta) | set(tb), key=repr):
                ra, rb = ta.get(key), tb.get(key)
                if ra == rb:
                    continue
                if ra is None or rb is None:
                    out.append(f"{table} {key}: only in {'batched' if rb is None else 'serial'}: {ra or rb}")
                    continue
                cols = {
                    c: (ra.get(c), rb.get(c)) for c in sorted(set(ra) | set(rb)) if ra.get(c) != rb.get(c)
                }
                out.append(f"{table} {key}: batched vs serial {cols}")
        else:
            la, lb = list(ta or []), list(tb or [])
            for i in range(max(len(la), len(lb))):
                ra = la[i] if i < len(la) else None
                rb = lb[i] if i < len(lb) else None
                if ra != rb:
                    out.append(f"{table}[{i}]: batched {ra}\n{' ' * len(table)}     serial  {rb}")
    return out
