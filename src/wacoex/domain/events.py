"""Domain events: one frozen class per type, with its type name and `phone_number_id` always set.

An event's payload is its fields, in order (`payload()`); docs/events.md documents each type and a
test keeps the two in step. Times are Unix epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from wacoex.domain.alerts import Alert


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    TYPE: ClassVar[str] = ""
    phone_number_id: str

    def payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageArrived(DomainEvent):
    """A message newly known to the record (the common shape of received and echo)."""

    wamid: str
    direction: str | None
    origin: str | None
    type: str | None
    text: str | None
    occurred_at: int | None
    status: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived(MessageArrived):
    TYPE: ClassVar[str] = "message.received"


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEcho(MessageArrived):
    TYPE: ClassVar[str] = "message.echo"


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSent(MessageArrived):
    TYPE: ClassVar[str] = "message.sent"


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStatusChanged(DomainEvent):
    TYPE: ClassVar[str] = "message.status"
    wamid: str
    status: str
    timestamp: int
    errors: list[Any]
    pricing: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageMutated(DomainEvent):
    """An edit, revoke or reaction applied to the message `target`."""

    wamid: str
    target: str | None
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEdited(MessageMutated):
    TYPE: ClassVar[str] = "message.edited"
    text: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRevoked(MessageMutated):
    TYPE: ClassVar[str] = "message.revoked"


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReaction(MessageMutated):
    TYPE: ClassVar[str] = "message.reaction"
    emoji: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactUpdated(DomainEvent):
    TYPE: ClassVar[str] = "contact.updated"
    wa_id: str
    action: str
    full_name: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberStateChanged(DomainEvent):
    TYPE: ClassVar[str] = "number.state_changed"
    event: str
    state: str
    reason: str | None
    initiated_by: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberAlert(DomainEvent):
    """An alert was opened for the number (domain/alerts.py)."""

    TYPE: ClassVar[str] = "number.alert"
    kind: str
    severity: str
    message: str
    details: dict[str, Any]
    event: str | None  # the account_update event that opened it
    opened_at: int

    @classmethod
    def of(cls, phone_number_id: str, alert: Alert, *, event: str | None, opened_at: int) -> NumberAlert:
        return cls(
            phone_number_id=phone_number_id,
            kind=alert.kind.value,
            severity=alert.severity.value,
            message=alert.message,
            details=alert.details,
            event=event,
            opened_at=opened_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryCompleted(DomainEvent):
    TYPE: ClassVar[str] = "history.completed"
    phase: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryDeclined(DomainEvent):
    TYPE: ClassVar[str] = "history.declined"
    errors: list[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeoverStarted(DomainEvent):
    """A person took the conversation over: bot keys are refused until it ends."""

    TYPE: ClassVar[str] = "conversation.takeover_started"
    conversation_id: int
    cause: str  # echo (the owner wrote from the phone) | operator (through the API)
    since: int | None
    until: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeoverEnded(DomainEvent):
    """The conversation is the bot's again."""

    TYPE: ClassVar[str] = "conversation.takeover_ended"
    conversation_id: int
    reason: str  # released (through the API) | expired (the time ran out) | customer (they wrote again)


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.TYPE: cls
    for cls in (
        MessageReceived,
        MessageEcho,
        MessageSent,
        MessageStatusChanged,
        MessageEdited,
        MessageRevoked,
        MessageReaction,
        ContactUpdated,
        NumberStateChanged,
        NumberAlert,
        HistoryCompleted,
        HistoryDeclined,
        TakeoverStarted,
        TakeoverEnded,
    )
}
