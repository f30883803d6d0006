"""Response models of the REST API (they are the OpenAPI contract)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

# What a datetime (and ISO 8601's four-digit year) can hold, in epoch milliseconds.
_MIN_MS = int((datetime(1, 1, 2, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
_MAX_MS = int((datetime(9999, 12, 30, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)


def iso(ms: int | None) -> datetime | None:
    """An optional timestamp; null too when WhatsApp sent one outside the years 1 to 9999."""
    if ms is None or not _MIN_MS <= ms <= _MAX_MS:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def at(ms: int) -> datetime:
    """A required timestamp (epoch milliseconds, always ours) as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class ReceiptState(StrEnum):
    """The states of store/receipts.py."""

    pending = "pending"
    done = "done"
    held = "held"
    parked = "parked"


class Number(BaseModel):
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    provider: str
    coexistence: bool
    state: str = Field(description="connected | disconnected | offboarded")
    state_reason: str | None = Field(
        None, description="disconnection_info.reason of the last lifecycle event"
    )
    state_initiated_by: str | None = None
    state_changed_at: datetime | None = None
    history_state: str = Field(description="none | in_progress | complete | declined")
    created_at: datetime


class AddressBookName(BaseModel):
    full_name: str | None
    first_name: str | None
    updated_at: datetime | None
    removed: bool


class ContactNames(BaseModel):
    address_book: AddressBookName = Field(description="From smb_app_state_sync (the owner's phone)")
    profile: str | None = Field(description="The WhatsApp profile name the customer set")
    operator: str | None = Field(description="A name set by an operator in wacoex")


class Contact(BaseModel):
    id: int
    wa_id: str | None
    user_id: str | None = Field(description="Business-scoped user id (BSUID), when WhatsApp gave one")
    display_name: str | None = Field(description="operator name, else address book, else profile, else wa_id")
    names: ContactNames


class Window(BaseModel):
    """The customer service window: free-form messages may be sent while it is open."""

    open: bool
    expires_at: datetime | None = Field(description="when an open window closes (or a closed one closed)")
    reason: str = Field(description="customer_message | expired | never_opened | closed_by_provider")
    free_entry_point_until: datetime | None = Field(
        description="every message is free until then (click-to-WhatsApp ads); does not open the window"
    )


class Counts(BaseModel):
    messages: int = Field(description="live messages (customer, API, phone)")
    history: int = Field(description="messages imported from the app's history")
    unread: int


class Conversation(BaseModel):
    id: int
    contact: Contact
    last_message_at: datetime | None
    window: Window
    counts: Counts


class Takeover(BaseModel):
    state: str = Field(description="bot | human: while human, bot keys are refused")
    cause: str | None = Field(
        description="echo (the owner wrote from the phone) | operator (through the API)"
    )
    since: datetime | None
    until: datetime | None


class ConversationDetail(Conversation):
    number: str = Field(description="the phone_number_id of the number the conversation is on")
    takeover: Takeover


class Page(BaseModel):
    next_cursor: str | None = Field(description="pass as ?cursor= to get the next page; null at the end")


class ConversationPage(Page):
    items: list[Conversation]


class Message(BaseModel):
    id: int
    wamid: str
    direction: str = Field(description="inbound | outbound")
    origin: str = Field(description="customer | api | business_app | history")
    type: str
    text: str | None
    content: Any = Field(description="the type's object exactly as WhatsApp sent it")
    occurred_at: datetime | None = Field(description="WhatsApp's time: send, echo trigger or device time")
    received_at: datetime
    status: str | None
    status_at: datetime | None
    errors: Any = None
    pricing: Any = None
    reply_to: str | None
    edited: bool
    edited_at: datetime | None
    revoked: bool
    revoked_at: datetime | None
    reactions: dict[str, str] | None
    history_status: str | None
    placeholder: bool = Field(description="known only from a status or an edit so far")
    media: dict[str, Any] | None
    note: str | None = Field(description="an explanation for the operator (unsupported messages)")
    referral: Any = None


class MessagePage(Page):
    items: list[Message]


class HistoryPhase(BaseModel):
    phase: int
    chunks_seen: int
    chunk_orders: list[int]
    progress: int
    messages_imported: int
    threads: int
    updated_at: datetime


class HistorySync(BaseModel):
    phone_number_id: str
    state: str = Field(description="none | in_progress | complete | declined")
    declined: bool
    declined_at: datetime | None
    error: Any = None
    progress: int
    messages_imported: int
    phases: list[HistoryPhase]


class Receipt(BaseModel):
    id: int
    source: str
    received_at: datetime
    state: ReceiptState
    attempts: int
    error: str | None
    waiting_for: list[str] | None
    facts: int | None
    size: int


class ReceiptPage(Page):
    items: list[Receipt]


class Replayed(BaseModel):
    replayed: int


class UnknownItem(BaseModel):
    id: int
    receipt_id: int
    field: str | None
    phone_number_id: str | None
    reason: str
    raw: Any
    created_at: datetime


class UnknownPage(Page):
    items: list[UnknownItem]


class WebhookAck(BaseModel):
    status: str = Field(description='always "ok": the body is stored durably')


class ErrorDetail(BaseModel):
    code: str = Field(
        description="not_found | method_not_allowed | invalid_input | unauthorized | "
        "payload_too_large | conflict | internal_error | ..."
    )
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """Every error the API answers has this shape."""

    error: ErrorDetail
