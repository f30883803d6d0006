"""Reading the record: the use cases behind the REST API's GETs (and a receipt's replay)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from wacoex.domain.access import Principal
from wacoex.domain.window import Window, window_of
from wacoex.errors import NotFound
from wacoex.services.access import require_gateway_admin
from wacoex.services.ports import NumberRef
from wacoex.services.reading_port import ReadStore, Record

T = TypeVar("T")


class Reading:
    """Pages of numbers, conversations, messages, history sync, receipts and unknown items.

    Every read is as `who` sees the record: a number, conversation or message of another workspace
    is NotFound, worded as for one that does not exist (its existence is not revealed), and lists
    hold only the caller's workspace. Receipts and unknown items span every workspace: the
    gateway's admin key only (Forbidden for others). Everything else is the store's rows as they are.
    """

    def __init__(
        self, store: ReadStore, clock: Callable[[], int], *, wake: Callable[[], None] | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._wake = wake  # tells the receipt worker new work is queued

    def principal(self, key: str) -> Principal | None:
        """Who a stored API key is; None for an unknown or revoked key."""
        return self._store.principal(key)

    def numbers(self, who: Principal) -> Sequence[Record]:
        return self._store.numbers(who.workspace_id)

    def number(self, who: Principal, phone_number_id: str) -> Record:
        return _number_found(self._store.number(phone_number_id, who.workspace_id), phone_number_id)

    def number_for(self, who: Principal, phone_number_id: str) -> NumberRef:
        """The number `who` may act for, its provider token decrypted; NotFound for another workspace's."""
        return _number_found(self._store.number_ref(phone_number_id, who.workspace_id), phone_number_id)

    def conversations(
        self, who: Principal, phone_number_id: str, *, limit: int, after: tuple[int, int] | None
    ) -> list[tuple[Record, Window]]:
        """Up to `limit` conversations after `after`, each with its customer service window now."""
        rows = self._store.conversations_page(phone_number_id, who.workspace_id, limit=limit, after=after)
        rows = _number_found(rows, phone_number_id)
        now = self._clock()
        return [(r, window_at(r, now)) for r in rows]

    def conversation(self, who: Principal, conversation_id: int) -> tuple[Record, Window]:
        row = self._store.conversation(conversation_id, who.workspace_id)
        if row is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return row, window_at(row, self._clock())

    def messages(
        self, who: Principal, conversation_id: int, *, limit: int, after: tuple[int, str] | None
    ) -> Sequence[Record]:
        rows = self._store.messages_page(conversation_id, who.workspace_id, limit=limit, after=after)
        if rows is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return rows

    def history_sync(self, who: Principal, phone_number_id: str) -> tuple[Record, Sequence[Record]]:
        return _number_found(self._store.history_sync(phone_number_id, who.workspace_id), phone_number_id)

    def require_media(self, who: Principal, sha256: str) -> None:
        """NotFound unless a message `who` may read has this stored file (any, for the gateway's admin)."""
        if who.workspace_id is not None and not self._store.media_seen(sha256, who.workspace_id):
            raise NotFound(f"no stored media {sha256}")

    def receipts(
        self, who: Principal, *, state: str | None, limit: int, before_id: int | None
    ) -> Sequence[Record]:
        require_gateway_admin(who, "reading receipts")
        if _before_first(before_id):
            return []
        return self._store.receipts_page(state=state, limit=limit, before_id=before_id)

    def receipt_counts(self, who: Principal) -> dict[str, int]:
        require_gateway_admin(who, "reading receipts")
        return self._store.receipt_counts()

    def replay(self, who: Principal, receipt_id: int) -> int:
        """Queue a receipt to be applied again (idempotent) and wake the worker."""
        require_gateway_admin(who, "replaying receipts")
        n = self._store.replay_receipts([receipt_id])
        if self._wake is not None:
            self._wake()
        if n == 0:
            raise NotFound(f"receipt {receipt_id} does not exist")
        return n

    def unknown(self, who: Principal, *, limit: int, before_id: int | None) -> Sequence[Record]:
        require_gateway_admin(who, "reading unknown items")
        if _before_first(before_id):
            return []
        return self._store.unknown_page(limit=limit, before_id=before_id)


def _before_first(before_id: int | None) -> bool:
    """A cursor before id 1: nothing precedes it (the store reads 0 as "no cursor")."""
    return before_id is not None and before_id < 1


def _number_found(found: T | None, phone_number_id: str) -> T:
    if found is None:
        raise NotFound(f"number {phone_number_id} is not registered")
    return found


def window_at(row: Record, now: int) -> Window:
    return window_of(
        last_customer_at=row.last_customer_at,
        window_closed_at=row.window_closed_at,
        fep_expires_at=row.fep_expires_at,
        now=now,
    )
