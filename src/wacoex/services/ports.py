"""The ports the services speak to. Adapters in wacoex.store and wacoex.whatsapp implement them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from wacoex.domain.access import DEFAULT_WORKSPACE_ID, Role
from wacoex.domain.costs import PricedMessage
from wacoex.domain.events import DomainEvent
from wacoex.domain.lifecycle import StateMove
from wacoex.domain.messages import MessageRow, StoredMessage


@dataclass(frozen=True, slots=True)
class NumberRef:
    id: int
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    provider: str
    coexistence: bool
    state: str
    state_changed_at: int | None
    # The provider token (Meta) or API key (360dialog), decrypted; None where it was not read (the
    # apply path never decrypts it). Left out of repr so that logging a number never logs it.
    access_token: str | None = field(default=None, repr=False)
    workspace_id: int = DEFAULT_WORKSPACE_ID
    send_rate: float | None = None  # messages per second set for this number; None: the default
    last_webhook_at: int | None = None  # when a webhook about it was last received (to the minute)


@dataclass(frozen=True, slots=True)
class Receipt:
    id: int
    source: str
    body: bytes
    attempts: int
    received_at: int
    applied_before: bool = False  # applied (or held) at least once: a replay or a release
    # An application that ran out of its lock budget: units already applied, and the numbers its
    # applied units were waiting for (kept until the receipt is held or done).
    progress: int = 0
    waiting_for: tuple[str, ...] = ()


# A stored message as the rules read it, and a message row keyed by column name (domain.messages).
ExistingMessage = StoredMessage


@dataclass(slots=True)
class ConversationDelta:
    """What a batch did to one conversation; applied in one UPDATE."""

    last_message_at: int | None = None
    last_live_at: int | None = None
    last_customer_at: int | None = None
    last_echo_at: int | None = None
    added_messages: int = 0
    added_history: int = 0
    added_unread: int = 0  # after the reset, if any
    reset_unread: bool = False

    def absorb(self, other: ConversationDelta) -> None:
        """Add what `other` did after what this one did (a later receipt, or a merged conversation)."""
        for name in ("last_message_at", "last_live_at", "last_customer_at", "last_echo_at"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is not None:
                setattr(self, name, theirs if mine is None else max(mine, theirs))
        self.added_messages += other.added_messages
        self.added_history += other.added_history
        if other.reset_unread:
            self.reset_unread, self.added_unread = True, other.added_unread
        else:
            self.added_unread += other.added_unread

    def read_all(self) -> None:
        """The business answered: what the customer wrote so far is read; later messages count again."""
        self.reset_unread, self.added_unread = True, 0

    def saw(self, occurred_at: int | None, *, live: bool) -> None:
        if occurred_at is None:
            return
        self.last_message_at = max(self.last_message_at or 0, occurred_at)
        if live:
            self.last_live_at = max(self.last_live_at or 0, occurred_at)


@dataclass(slots=True)
class EventRow:
    """A domain event as recorded: with the rows it is about (a merge may re-point the conversation)."""

    event: DomainEvent
    number_id: int | None
    conversation_id: int | None = None
    message_id: int | None = None

    @property
    def type(self) -> str:
        return self.event.TYPE

    @property
    def payload(self) -> dict[str, Any]:
        return self.event.payload()


@dataclass(slots=True)
class NumberKeys:
    """What a batch will look up under one number: its messages and its counterparties."""

    wamids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)  # wa_ids as received (the store normalises them)
    user_ids: set[str] = field(default_factory=set)


# phone_number_id -> what will be looked up under it; gathered from a batch's facts before applying it
Lookups = dict[str, NumberKeys]


class IngestRepository(Protocol):
    """Everything applying webhook facts needs, inside one transaction owned by the caller.

    Writes may be held back and written together (`flush`); reads always see them. After a
    rollback of what it wrote, the caller calls `reset`.
    """

    # conversations merged away (two contacts found to be one person) -> the one they became
    conversation_aliases: dict[int, int]
    # contact merges so far: identities a caller remembered may point at a contact merged away
    merges: int

    def prefetch(self, lookups: Lookups) -> None:
        """Read what a batch will look up, a query per kind (a hint: misses are read when asked)."""
        ...

    def defer(self, deferred: bool) -> None:
        """Hold writes until `flush` (a batch) or write them at every `settle` (item by item)."""
        ...

    def settle(self) -> None:
        """The end of a unit of work: write what is pending unless writes are deferred."""
        ...

    def flush(self) -> None: ...
    def reset(self) -> None:
        """Forget pending writes and everything read: the caller rolled back."""
        ...

    def number_by_phone_number_id(self, phone_number_id: str) -> NumberRef | None: ...
    def numbers_by_display(self, display: str) -> list[NumberRef]: ...
    def numbers_by_waba(self, waba_id: str) -> list[NumberRef]: ...
    def resolve_contact(
        self,
        number_id: int,
        *,
        wa_id: str | None,
        user_id: str | None,
        profile_name: str | None,
        at: int,
        reported: bool = False,
    ) -> int: ...
    def change_number(
        self, number_id: int, *, old_wa_id: str | None, user_id: str | None, new_wa_id: str, at: int
    ) -> int: ...
    def conversation_for(self, number_id: int, contact_id: int, at: int) -> int: ...
    def existing_messages(self, number_id: int, wamids: Sequence[str]) -> dict[str, ExistingMessage]: ...
    def insert_messages(self, rows: Sequence[MessageRow], *, want_ids: bool = True) -> dict[str, int]: ...
    def insert_placeholder(self, row: MessageRow) -> int | None: ...
    def advance_status(
        self, message_id: int, status: str, status_at: int | None, below: int, errors: Any = None
    ) -> bool: ...
    def update_message(self, message_id: int, values: dict[str, Any]) -> None: ...
    def apply_conversation_deltas(self, deltas: dict[int, ConversationDelta]) -> None: ...
    def record_events(self, events: Iterable[EventRow], at: int) -> None: ...
    def record_history_chunk(
        self,
        number_id: int,
        phase: int,
        chunk_order: int | None,
        progress: int | None,
        imported: int,
        threads: int,
        at: int,
    ) -> None: ...
    def move_number_state(
        self, number_id: int, state: str, reason: str | None, initiated_by: str | None, changed_at: int
    ) -> StateMove:
        """Set the number's state unless a newer event set it (compare and set), and what that did."""
        ...

    def move_history_state(
        self, number_id: int, sources: Sequence[str], state: str, values: dict[str, Any]
    ) -> bool:
        """Set the history state if it is one of `sources` (compare and set); whether it moved."""
        ...

    def record_account_event(
        self,
        number_id: int,
        event: str,
        occurred_at: int,
        reason: str | None,
        initiated_by: str | None,
        applied: bool,
        raw: Any,
        at: int,
    ) -> int | None:
        """Keep the event; its id, or None for a duplicate (same number, event and time)."""
        ...

    def note_sync_seen(self, number_id: int, kind: str, at: int) -> None:
        """A webhook of a one-shot sync (`smb_app_state_sync`, `history`) arrived: it confirms the
        current onboarding's request of that kind."""
        ...

    def start_onboarding(self, number_id: int, source: str, started_at: int, at: int) -> None:
        """Meta reported the number onboarded again: a new onboarding with fresh syncs, unless one
        begun since its disconnection is under way (it is this one)."""
        ...

    def end_onboarding(self, number_id: int, at: int) -> None:
        """The number left the Cloud API: its onboarding is over."""
        ...

    def mark_webhook_seen(self, number_id: int, at: int) -> bool:
        """A webhook about the number was received at `at`, kept to the minute: written only when the
        stored time is a minute or more older; whether it was written."""
        ...

    def resolve_alerts(self, number_id: int, kinds: Sequence[str], at: int) -> None:
        """Resolve the number's open alerts of `kinds` opened at or before `at`."""
        ...

    def open_alert(
        self,
        number_id: int,
        *,
        kind: str,
        severity: str,
        message: str,
        details: Any,
        opened_at: int,
        source_event_id: int | None,
        at: int,
    ) -> bool:
        """Record an alert; whether it is open (not already superseded by a newer one of its kind)."""
        ...

    def apply_book_entry(
        self,
        number_id: int,
        contact_id: int,
        *,
        action: str,
        full_name: str | None,
        first_name: str | None,
        changed_at: int,
        at: int,
    ) -> bool: ...
    def record_unknown(
        self, receipt_id: int, field: str | None, phone_number_id: str | None, reason: str, raw: Any, at: int
    ) -> None: ...


class ReceiptQueue(Protocol):
    """The durable queue of raw webhook receipts."""

    def claim(self, limit: int, now: int, max_bytes: int = 8 * 1024 * 1024) -> list[Receipt]: ...
    def mark_done(self, receipt_id: int, facts: int, at: int) -> None: ...
    def mark_done_many(self, done: Sequence[tuple[int, int]], at: int) -> None: ...
    def mark_failed(self, receipt_id: int, error: str, next_attempt_at: int, park: bool) -> None: ...
    def hold(self, receipt_id: int, waiting_for: list[str], facts: int, at: int) -> None: ...
    def save_progress(self, receipt_id: int, progress: int, waiting_for: list[str]) -> None: ...


# Due receipts read without taking any lock (SQLite's write lock included), so their bodies can be
# parsed before the apply transaction starts: (limit, now) -> receipts.
ReceiptPeek = Callable[[int, int], list[Receipt]]


FactParser = Callable[[bytes, str], Sequence[Any]]


class ApplyTx(Protocol):
    """One transaction over the receipt queue and the record."""

    queue: ReceiptQueue
    repo: IngestRepository

    def savepoint(self) -> AbstractContextManager[None]: ...
    def forget_unknowns(self, receipt_id: int) -> None: ...
    def transient(self, exc: BaseException) -> bool:
        """Whether a failure may pass on a later try (contention, a lost connection), not the data's fault."""
        ...


UnitOfWork = Callable[[], AbstractContextManager[ApplyTx]]


@dataclass(frozen=True, slots=True)
class PendingMedia:
    message_id: int
    media_id: str
    number: NumberRef
    mime_type: str | None
    sha256: str | None  # as WhatsApp gave it (hex or base64); checked against the download
    attempts: int = 0


class MediaStore(Protocol):
    def pending(self, limit: int, now: int) -> list[PendingMedia]: ...
    def save(self, data: bytes, mime_type: str | None) -> str: ...
    def mark(self, message_id: int, state: str, sha256: str | None, error: str | None) -> None: ...
    def retry_later(self, message_id: int, error: str, next_at: int) -> None: ...


# The operator's commands (services/admin.py).


@dataclass(frozen=True, slots=True)
class NumberInfo:
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    provider: str
    coexistence: bool
    state: str
    state_reason: str | None
    history_state: str
    workspace_id: int = DEFAULT_WORKSPACE_ID


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceInfo:
    id: int
    name: str
    numbers: int  # registered numbers
    api_keys: int  # keys not revoked


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyInfo:
    """What is stored about an API key: never the key, only its first characters (`prefix`)."""

    id: int
    name: str
    prefix: str
    workspace_id: int
    workspace: str
    role: str
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class ReceiptInfo:
    id: int
    source: str
    state: str
    attempts: int
    size: int
    facts: int | None
    error: str | None
    waiting_for: list[str] | None


class AdminStore(Protocol):
    """Workspaces, numbers, receipts and API keys as the operator manages them; one transaction a call."""

    def add_number(
        self,
        *,
        phone_number_id: str,
        display_phone_number: str,
        waba_id: str,
        provider: str,
        coexistence: bool,
        access_token: str | None,
        workspace_id: int,
    ) -> tuple[NumberRef, int]:
        """Register a number (its token encrypted) and release the receipts held for it:
        (the number, receipts released)."""
        ...

    def reencrypt_tokens(self) -> int:
        """Encrypt every number's token with the current secret key; how many were rewritten."""
        ...

    def numbers(self) -> list[NumberInfo]: ...
    def receipts(self, state: str | None, limit: int) -> list[ReceiptInfo]: ...
    def receipt_counts(self) -> dict[str, int]: ...
    def replay(self, ids: Sequence[int] | None, state: str) -> int: ...
    def create_workspace(self, name: str) -> WorkspaceInfo: ...
    def workspaces(self) -> list[WorkspaceInfo]: ...
    def workspace_id(self, ref: str) -> int:
        """A workspace by id or name; NotFound if there is none."""
        ...

    def create_api_key(self, name: str, workspace_id: int, role: Role) -> tuple[ApiKeyInfo, str]:
        """(what is stored about the key, the key itself: shown once, only its digest is stored)"""
        ...

    def api_keys(self) -> list[ApiKeyInfo]: ...
    def revoke_api_key(self, key_id: int) -> ApiKeyInfo: ...


class Schema(Protocol):
    """The database's schema version."""

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest version (may create a SQLite file)."""
        ...

    def require(self, *, current: bool = True) -> None:
        """Refuse (DatabaseUnavailable) a missing database or schema, creating nothing; with
        `current`, a schema older or newer than this version's too."""
        ...


# Costs (services/pricing.py).


@dataclass(frozen=True, slots=True)
class CostRows:
    """What a period's costs are summed from: API messages with their `pricing`, and the free rest."""

    priced: list[PricedMessage]
    app_messages: int  # sent from the Business app: never billed
    awaiting_pricing: int  # sent through the API, not failed, no status with `pricing` yet


class CostStore(Protocol):
    def cost_rows(
        self, phone_number_id: str, *, since: int | None, until: int | None, workspace_id: int | None = None
    ) -> CostRows | None:
        """Messages of the number sent in [since, until) (epoch ms; None: unbounded); None if the
        number is not registered (in `workspace_id`, when given). One read transaction."""
        ...
