"""Reading the record: the use cases behind the REST API's GETs (and a receipt's replay)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wacoex.domain.conversation import window_open
from wacoex.errors import NotFound
from wacoex.services.reading_port import ReadStore, Record


class Reading:
    """Pages of numbers, conversations, messages, history sync, receipts and unknown items.

    Unknown numbers and conversations are NotFound; everything else is the store's rows as they are.
    """

    def __init__(
        self, store: ReadStore, clock: Callable[[], int], *, wake: Callable[[], None] | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._wake = wake  # tells the receipt worker new work is queued

    def numbers(self) -> Sequence[Record]:
        return self._store.numbers()

    def number(self, phone_number_id: str) -> Record:
        row = self._store.number(phone_number_id)
        if row is None:
            raise NotFound(f"number {phone_number_id} is not registered")
        return row

    def conversations(
        self, phone_number_id: str, *, limit: int, after: tuple[int, int] | None
    ) -> list[tuple[Record, bool]]:
        """Up to `limit` conversations after `after`, each with whether its window is open now."""
        rows = self._store.conversations_page(phone_number_id, limit=limit, after=after)
        if rows is None:
            raise NotFound(f"number {phone_number_id} is not registered")
        now = self._clock()
        return [(r, window_open(r.last_customer_at, now)) for r in rows]

    def messages(
        self, conversation_id: int, *, limit: int, after: tuple[int, str] | None
    ) -> Sequence[Record]:
        rows = self._store.messages_page(conversation_id, limit=limit, after=after)
        if rows is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return rows

    def history_sync(self, phone_number_id: str) -> tuple[Record, Sequence[Record]]:
        found = self._store.history_sync(phone_number_id)
        if found is None:
            raise NotFound(f"number {phone_number_id} is not registered")
        return found

    def receipts(self, *, state: str | None, limit: int, before_id: int | None) -> Sequence[Record]:
        return self._store.receipts_page(state=state, limit=limit, before_id=before_id)

    def receipt_counts(self) -> dict[str, int]:
        return self._store.receipt_counts()

    def replay(self, receipt_id: int) -> int:
        """Queue a receipt to be applied again (idempotent) and wake the worker."""
        n = self._store.replay_receipts([receipt_id])
        if self._wake is not None:
            self._wake()
        if n == 0:
            raise NotFound(f"receipt {receipt_id} does not exist")
        return n

    def unknown(self, *, limit: int, before_id: int | None) -> Sequence[Record]:
        return self._store.unknown_page(limit=limit, before_id=before_id)

    def api_key_valid(self, key: str) -> bool:
        return self._store.api_key_valid(key)
