"""The message record as the rules see it, and `merge`: what a message arriving again changes.

A wamid can reach us several times and in any order: as a placeholder made by a status, an edit or
a reaction that came first; as an imported history message and as its media follow-up; live, as a
customer's message or an echo; and as plain duplicates. `merge(stored, arriving)` says, without
touching anything, which columns change and what the arrival means for its conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wacoex.domain.conversation import NO_TIMESTAMP
from wacoex.domain.enums import Direction, MessageStatus, Origin

# A message row, keyed by column name (the store maps it to its columns).
MessageRow = dict[str, Any]


@dataclass(slots=True)
class StoredMessage:
    """What the rules read of a stored message."""

    id: int
    conversation_id: int | None
    origin: str
    direction: str
    type: str
    status: str | None
    placeholder: bool
    pending_edit: Any
    reactions: dict[str, str] | None
    occurred_at: int | None
    revoked: bool = False
    edited_at: int | None = None
    reactions_at: dict[str, int] | None = None  # per reactor: time of the reaction applied


@dataclass(frozen=True, slots=True)
class Merge:
    values: MessageRow = field(default_factory=dict)  # the columns to change; empty: a duplicate
    filled: bool = False  # a placeholder became the message: it now counts, and its mutations apply
    # (filled, outbound) the status the message brings, moved to only if the stored one ranks below
    status: MessageStatus | None = None
    promoted: bool = False  # a history message arrived live: it counts (and records) as live
    attached: bool = False  # it gained a conversation

    @property
    def conversation_id(self) -> Any:
        return self.values.get("conversation_id")


_FILLED_FROM_ARRIVAL = (
    "type",
    "content",
    "text",
    "occurred_at",
    "reply_to",
    "media_id",
    "media_state",
    "referral",
    "note",
    "history_status",
    "direction",
)
_LIVE = (Origin.CUSTOMER, Origin.BUSINESS_APP)


def merge(stored: StoredMessage, arriving: MessageRow) -> Merge:
    """What `arriving` (a message row with the same number and wamid) changes on `stored`."""
    if stored.placeholder:
        return _fill(stored, arriving)
    values: MessageRow = {}
    if stored.type == "media_placeholder" and arriving["type"] != "media_placeholder":
        for key in ("type", "content", "text", "media_id", "media_state"):
            values[key] = arriving.get(key)
    from_chunk = arriving.get("origin") == Origin.HISTORY and arriving.get("history_status") is not None
    if stored.conversation_id is None and arriving.get("conversation_id") is not None:
        values["conversation_id"] = arriving["conversation_id"]
        values["direction"] = arriving["direction"]
    if from_chunk and stored.origin == Origin.HISTORY:
        # The chunk knows the thread: it is authoritative for direction, device status and time,
        # whatever the media follow-up said first.
        values.update(
            direction=arriving["direction"],
            history_status=arriving["history_status"],
            status=arriving.get("status"),
        )
        if arriving.get("note") != NO_TIMESTAMP:  # a chunk without a time keeps the follow-up's
            values.update(occurred_at=arriving.get("occurred_at"), note=None)
    promoted = stored.origin == Origin.HISTORY and arriving.get("origin") in _LIVE
    if promoted:
        # Live traffic and history overlap around day 0: one record, labelled by the live source.
        values["origin"] = arriving["origin"]
    return Merge(values, promoted=promoted, attached="conversation_id" in values)


def _fill(stored: StoredMessage, arriving: MessageRow) -> Merge:
    """A status (or an edit) arrived before the message itself: fill it in, keep the status."""
    values: MessageRow = {k: arriving[k] for k in _FILLED_FROM_ARRIVAL if arriving.get(k) is not None}
    # A placeholder's origin is a guess (`api` from a status); the message itself says who wrote
    # it. Outbound history does not replace `api`: an API-sent message also shows up in history.
    inbound = arriving.get("direction") == Direction.INBOUND
    if stored.origin == Origin.UNKNOWN or inbound or arriving.get("origin") in _LIVE:
        values["origin"] = arriving["origin"]
    if inbound:
        # Statuses describe what the business sent: one naming a customer's message says nothing
        # about it, so the message is `received` like any other inbound one.
        values.update(
            status=arriving.get("status"),
            status_at=arriving.get("status_at"),
            errors=arriving.get("errors"),
            pricing=None,
        )
    values["placeholder"] = False
    if stored.conversation_id is None and arriving.get("conversation_id") is not None:
        values["conversation_id"] = arriving["conversation_id"]
    status = None
    if not inbound and stored.status is None and arriving.get("status") is not None:
        status = MessageStatus(arriving["status"])
    return Merge(values, filled=True, status=status)
