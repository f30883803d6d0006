"""The read side for the read service (services/reading.py): the queries, each in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy.engine import Engine, Row

from wacoex.domain.access import Principal
from wacoex.services.ports import NumberRef
from wacoex.store import apikeys, queries
from wacoex.store import receipts as receipt_store
from wacoex.store.message_text import read_content
from wacoex.store.notify import RECEIPTS, notify
from wacoex.store.numbers import list_numbers, number_ref
from wacoex.store.token_cipher import TokenCipher


class SqlReading:
    """Reads on `read_engine` (on SQLite a read-only engine: no write lock); the replay writes on `engine`.

    `workspace_id` None reads every workspace; otherwise what belongs to another reads as missing.
    """

    def __init__(self, engine: Engine, read_engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._read = read_engine
        self._cipher = cipher

    def numbers(self, workspace_id: int | None) -> list[Row[Any]]:
        with self._read.connect() as conn:
            return list_numbers(conn, workspace_id)

    def number(self, phone_number_id: str, workspace_id: int | None) -> Row[Any] | None:
        with self._read.connect() as conn:
            return queries.number_by_pnid(conn, phone_number_id, workspace_id)

    def number_ref(self, phone_number_id: str, workspace_id: int | None) -> NumberRef | None:
        with self._read.connect() as conn:
            row = queries.number_by_pnid(conn, phone_number_id, workspace_id)
        return number_ref(row, self._cipher) if row is not None else None

    def conversations_page(
        self, phone_number_id: str, workspace_id: int | None, *, limit: int, after: tuple[int, int] | None
    ) -> list[Row[Any]] | None:
        with self._read.connect() as conn:
            number = queries.number_by_pnid(conn, phone_number_id, workspace_id)
            if number is None:
                return None
            return queries.conversations_page(conn, number.id, limit=limit, after=after)

    def conversation(self, conversation_id: int, workspace_id: int | None) -> Row[Any] | None:
        with self._read.connect() as conn:
            return queries.conversation_detail(conn, conversation_id, workspace_id)

    def messages_page(
        self, conversation_id: int, workspace_id: int | None, *, limit: int, after: tuple[int, str] | None
    ) -> list[Row[Any]] | None:
        with self._read.connect() as conn:
            if queries.conversation(conn, conversation_id, workspace_id) is None:
                return None
            rows = queries.messages_page(conn, conversation_id, limit=limit, after=after)
        return [_with_text_in_content(r) for r in rows]

    def history_sync(
        self, phone_number_id: str, workspace_id: int | None
    ) -> tuple[Row[Any], list[Row[Any]]] | None:
        with self._read.connect() as conn:
            number = queries.number_by_pnid(conn, phone_number_id, workspace_id)
            if number is None:
                return None
            return number, queries.history_sync(conn, number.id)

    def media_seen(self, sha256: str, workspace_id: int) -> bool:
        with self._read.connect() as conn:
            return queries.media_seen(conn, sha256, workspace_id)

    def receipts_page(self, *, state: str | None, limit: int, before_id: int | None) -> list[Row[Any]]:
        with self._read.connect() as conn:
            return receipt_store.list_receipts(conn, state=state, limit=limit, before_id=before_id)

    def receipt_counts(self) -> dict[str, int]:
        with self._read.connect() as conn:
            return receipt_store.counts(conn)

    def replay_receipts(self, ids: Sequence[int]) -> int:
        with self._engine.begin() as conn:
            n = receipt_store.replay(conn, ids)
            if n:
                notify(conn, RECEIPTS)  # workers in other processes (PostgreSQL) apply it now
        return n

    def unknown_page(self, *, limit: int, before_id: int | None) -> list[Row[Any]]:
        with self._read.connect() as conn:
            return queries.unknown_page(conn, limit=limit, before_id=before_id)

    def principal(self, key: str) -> Principal | None:
        with self._read.connect() as conn:
            return apikeys.principal_for(conn, key)


def _with_text_in_content(row: Row[Any]) -> Any:
    """The row with `content` as received (its text is stored once, see store/message_text.py)."""
    content = read_content(row.type, row.content, row.text)
    if content is row.content:
        return row
    values = dict(row._mapping)
    values["content"] = content
    return SimpleNamespace(**values)
