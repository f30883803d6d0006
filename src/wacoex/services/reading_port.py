"""The port the read service reads through: pages of the record, as the API and the inbox show them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from wacoex.domain.access import Principal
from wacoex.services.ports import NumberRef

# A row read by attribute, its attributes named as the columns of the store's read queries
# (store/queries.py); plain SELECTs, never objects with behaviour.
Record = Any


class ReadStore(Protocol):
    """Each call reads in one short transaction of its own (on SQLite, never under the write lock).

    `workspace_id` scopes a read to one workspace: what belongs to another reads as missing (None
    or left out of a list); None reads every workspace.

    Pages are keyset pages: `limit` rows at most after the cursor `after` (the sort key of the
    previous page's last row), in the list's order.
    """

    def numbers(self, workspace_id: int | None) -> Sequence[Record]: ...

    def number(self, phone_number_id: str, workspace_id: int | None) -> Record | None: ...

    def number_ref(self, phone_number_id: str, workspace_id: int | None) -> NumberRef | None:
        """The number with its token decrypted (for the provider)."""
        ...

    def conversations_page(
        self, phone_number_id: str, workspace_id: int | None, *, limit: int, after: tuple[int, int] | None
    ) -> Sequence[Record] | None:
        """Newest activity first, with the contact's columns; None if the number is not registered."""
        ...

    def conversation(self, conversation_id: int, workspace_id: int | None) -> Record | None:
        """One conversation with its contact (None if missing or another workspace's)."""
        ...

    def messages_page(
        self, conversation_id: int, workspace_id: int | None, *, limit: int, after: tuple[int, str] | None
    ) -> Sequence[Record] | None:
        """Oldest first by (occurred_at or received_at, wamid); None if the conversation does not exist."""
        ...

    def history_sync(
        self, phone_number_id: str, workspace_id: int | None
    ) -> tuple[Record, Sequence[Record]] | None:
        """The number and its history phases in phase order; None if the number is not registered."""
        ...

    def media_seen(self, sha256: str, workspace_id: int) -> bool:
        """Whether a message of one of the workspace's numbers has this stored media file."""
        ...

    def receipts_page(self, *, state: str | None, limit: int, before_id: int | None) -> Sequence[Record]: ...

    def receipt_counts(self) -> dict[str, int]: ...

    def replay_receipts(self, ids: Sequence[int]) -> int:
        """Queue receipts again (a write, committed before it returns); NotFound names unknown ids."""
        ...

    def unknown_page(self, *, limit: int, before_id: int | None) -> Sequence[Record]: ...

    def principal(self, key: str) -> Principal | None:
        """Who a stored API key is; None for an unknown or revoked key."""
        ...
