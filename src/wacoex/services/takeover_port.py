"""What takeover needs from the store: a conversation's takeover columns, and writing them with events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from wacoex.services.ports import EventRow


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeoverRow:
    conversation_id: int
    number_id: int
    phone_number_id: str
    workspace_id: int
    last_echo_at: int | None
    last_customer_at: int | None
    takeover_until: int | None
    takeover_released_at: int | None
    announced_at: int | None  # the start of the newest takeover recorded as an event
    ended_at: int | None  # when the newest recorded end happened
    window_closed_at: int | None
    fep_expires_at: int | None


class TakeoverStore(Protocol):
    def get(self, conversation_id: int) -> TakeoverRow | None: ...
    def candidates(self, now: int, ttl_ms: int, limit: int) -> list[TakeoverRow]:
        """Conversations whose takeover may have started or ended without an event yet."""
        ...

    def write(self, conversation_id: int, values: dict[str, Any], rows: list[EventRow], at: int) -> None:
        """Change the conversation's takeover columns and record events, in one transaction."""
        ...
