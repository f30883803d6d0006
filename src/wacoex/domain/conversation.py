"""Pure conversation rules: direction, the 24-hour window, status monotonicity, explanations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wacoex.domain.enums import STATUS_RANK, Direction, MessageStatus
from wacoex.domain.ids import same_number

WINDOW_MS = 24 * 3600 * 1000

# Customer message types that do not count as the customer writing to the business (C-16 is
# undocumented; we take the conservative reading: only a real message opens the window).
_NOT_WINDOW_OPENING = frozenset({"system", "reaction", "edit", "revoke", "request_welcome", "ephemeral"})

MUTATION_TYPES = frozenset({"edit", "revoke", "reaction"})

# The key under a message's object that holds what a person reads (the message's `text`).
TEXT_KEYS: dict[str, str] = {
    "text": "body",
    "image": "caption",
    "video": "caption",
    "document": "caption",
    "audio": "caption",
    "sticker": "caption",
    "system": "body",  # "User … changed from … to …": what WhatsApp shows in the chat
}
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})


def history_direction(from_number: str | None, business_number: str | None) -> Direction:
    """History carries no `from_me`: a message is outbound exactly when `from` is the business."""
    return Direction.OUTBOUND if same_number(from_number, business_number) else Direction.INBOUND


def opens_window(message_type: str) -> bool:
    """Whether a live customer message of this type opens or refreshes the service window."""
    return message_type not in _NOT_WINDOW_OPENING


def window_expiry(last_customer_at_ms: int | None) -> int | None:
    return None if last_customer_at_ms is None else last_customer_at_ms + WINDOW_MS


def advance_bound(new: MessageStatus) -> int:
    """A stored status moves to `new` exactly when its rank (STATUS_RANK) is below this bound.

    One number, so the store can make the move a conditional write (`rank(status) < bound`) that no
    interleaving of workers can turn into a step backwards. `failed` and `error` rank above every
    other status, so nothing moves a message out of them; they themselves replace anything below
    `read`.
    """
    if new in (MessageStatus.FAILED, MessageStatus.ERROR):
        return STATUS_RANK[MessageStatus.READ]
    return STATUS_RANK[new]


def status_advances(current: str | None, new: MessageStatus) -> bool:
    """Statuses only move forward; `failed` is terminal for its send and overrides anything below read.

    A late `delivered` never overwrites `read`; a `failed` after `read` (which cannot really happen)
    is ignored, and nothing moves a message out of `failed`.
    """
    return current is None or STATUS_RANK[MessageStatus(current)] < advance_bound(new)


HISTORY_STATUS = {
    "SENT": MessageStatus.SENT,
    "DELIVERED": MessageStatus.DELIVERED,
    "READ": MessageStatus.READ,
    "PLAYED": MessageStatus.PLAYED,
    "PENDING": MessageStatus.PENDING,
    "ERROR": MessageStatus.ERROR,
}


NO_TIMESTAMP = (
    "WhatsApp sent this item without a readable timestamp: the time the gateway received the webhook "
    "is used instead."
)
"""The `note` of a message whose item had no timestamp (or an unreadable one)."""


def with_note(*notes: str | None) -> str | None:
    """Several explanations for the operator as one `note` (None when there is none)."""
    return " ".join(n for n in notes if n) or None


def explain_unsupported(errors: Sequence[Mapping[str, Any]]) -> str:
    """What to tell the operator about an `unsupported` message instead of dropping it."""
    codes = set()
    for err in errors:
        try:
            codes.add(int(err.get("code", "")))
        except (TypeError, ValueError):
            continue
    if 131060 in codes:
        return (
            "WhatsApp could not show this message through the API (131060). It happens when a "
            "customer writes for the first time (often from an ad) or uses an unsupported companion "
            "device (WhatsApp for Windows or WearOS). Read it in the WhatsApp Business app on the phone."
        )
    if 131051 in codes:
        return (
            "This message type is not supported by the Cloud API (131051). Read it in the WhatsApp "
            "Business app on the phone."
        )
    return "WhatsApp delivered this message as unsupported. Read it in the WhatsApp Business app."
