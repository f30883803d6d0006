"""The state of applying one receipt (and the caches shared by a batch of receipts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wacoex.domain import events as ev
from wacoex.domain.lifecycle import WEBHOOK_SEEN_GRAIN_MS
from wacoex.services.ports import ConversationDelta, EventRow, IngestRepository, NumberRef, Receipt


@dataclass(slots=True)
class Outcome:
    facts: int
    waiting_for: list[str]
    # Where the next transaction resumes when this one stopped at its lock budget; None: finished.
    resume_at: int | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """A receipt's body as units of apply work (history chunks split), and how many facts it held."""

    units: list[Any]
    facts: int


@dataclass(slots=True)
class Prepared:
    row: dict[str, Any]
    live: bool
    customer: bool = False  # a live customer message: unread, may open the window
    echo: bool = False
    event: type[ev.MessageArrived] | None = None  # the event it records when newly known


@dataclass(slots=True)
class BatchCache:
    """Lookups shared by the receipts applied in one transaction.

    The caller must `clear()` it when a receipt's savepoint is rolled back: rows that receipt
    created no longer exist.
    """

    numbers: dict[str, NumberRef | None] = field(default_factory=dict)
    contacts: dict[tuple[int, str], int] = field(default_factory=dict)
    conversations: dict[tuple[int, int], int] = field(default_factory=dict)
    # (number, wa_id, user_id) -> the conversation (None for the business's own number)
    identities: dict[tuple[int, str | None, str | None], int | None] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)  # number -> the last webhook time marked in this batch
    syncs_seen: set[tuple[int, str]] = field(default_factory=set)  # (number, sync kind) noted in this batch

    def clear(self) -> None:
        self.numbers.clear()
        self.seen.clear()
        self.syncs_seen.clear()
        self.contacts.clear()
        self.conversations.clear()
        self.identities.clear()


@dataclass(slots=True)
class Run:
    """State of applying one receipt: caches and what to write at the end."""

    repo: IngestRepository
    receipt: Receipt
    now: int
    fetch_media: bool
    cache: BatchCache
    deltas: dict[int, ConversationDelta] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    waiting_for: set[str] = field(default_factory=set)

    def delta(self, conversation_id: int) -> ConversationDelta:
        d = self.deltas.get(conversation_id)
        if d is None:
            d = self.deltas[conversation_id] = ConversationDelta()
        return d


def webhook_seen(run: Run, number: NumberRef) -> None:
    """Note that a webhook about `number` arrived (not for facts the gateway produced itself)."""
    if run.receipt.id == 0:
        return
    at = run.receipt.received_at
    # The newest mark known (the number as read, or marked since in this batch): within the grain of
    # it, the store would change nothing, so no statement is sent.
    known = max(number.last_webhook_at or 0, run.cache.seen.get(number.id, 0))
    if known and at - known < WEBHOOK_SEEN_GRAIN_MS:
        return
    if run.repo.mark_webhook_seen(number.id, at):
        run.cache.seen[number.id] = at


def sync_seen(run: Run, number: NumberRef, kind: str) -> None:
    """A webhook of a one-shot sync arrived (once per batch is enough: the first one confirms it)."""
    key = (number.id, kind)
    if key not in run.cache.syncs_seen:
        run.repo.note_sync_seen(number.id, kind, run.now)
        run.cache.syncs_seen.add(key)


def onboarding_started(run: Run, number: NumberRef, started_at: int) -> None:
    """Meta onboarded the number again: a new onboarding, whose syncs no webhook has confirmed yet
    (even one noted earlier in this batch, for the onboarding before)."""
    run.repo.start_onboarding(number.id, "reconnected", started_at, run.now)
    run.cache.syncs_seen.difference_update({k for k in run.cache.syncs_seen if k[0] == number.id})


def record_own_number(run: Run, number: NumberRef, field_: str, raw: Any) -> None:
    run.repo.record_unknown(
        run.receipt.id,
        field_,
        number.phone_number_id,
        "the business's own number as counterparty (it is never a contact)",
        raw,
        run.now,
    )
