"""What webhooks tell us, as immutable facts. Built by the adapters in wacoex.whatsapp.

One webhook POST becomes a list of facts: one per item of every change of every entry. Each fact
carries where it came from (`Source`) so the services can route it to the right number. Content
objects (`content`) are kept exactly as Meta sent them; `raw` is the whole item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from wacoex.domain.enums import ContactAction, MessageStatus

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where a fact sat in the webhook: the change's field and metadata, and the entry around it."""

    field: str
    waba_id: str | None = None  # entry[].id (for partner events this may be a business id, see C-7)
    phone_number_id: str | None = None  # value.metadata.phone_number_id
    display_phone_number: str | None = None  # value.metadata.display_phone_number
    entry_time: int | None = None  # entry[].time (account_update)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactProfile:
    """An item of `value.contacts[]`: who the customer is according to WhatsApp."""

    wa_id: str | None = None
    user_id: str | None = None  # BSUID
    parent_user_id: str | None = None
    profile_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage(Fact):
    """A customer's message (`messages[]` in field `messages`), any type including edit/revoke/reaction."""

    wamid: str
    from_wa_id: str | None  # `from`: digits; may be withheld when only a BSUID is given
    from_user_id: str | None = None  # BSUID (`from_user_id` or the matching contacts[].user_id)
    profile: ContactProfile | None = None
    type: str
    content: Any = None  # the object under the type's key, as received (None for unsupported)
    text: str | None = None  # body or caption
    timestamp: int | None  # Unix seconds (send time); None when the item had none (see NO_TIMESTAMP)
    reply_to: str | None = None  # context.id
    context: JSON | None = None
    referral: JSON | None = None
    errors: tuple[JSON, ...] = ()
    # A `system` message saying the customer changed their number: the number they moved to.
    new_wa_id: str | None = None
    raw: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Echo(Fact):
    """What the owner sent from the Business app or a supported companion (`smb_message_echoes`)."""

    wamid: str
    from_number: str | None  # the business number
    to: str | None  # as given ('+16505551234' or '16505551234'); may be omitted in BSUID payloads
    to_user_id: str | None = None
    profile: ContactProfile | None = None  # value.contacts[] when present
    type: str
    content: Any = None
    text: str | None = None
    timestamp: int | None  # webhook trigger time; None when the item had none
    reply_to: str | None = None
    context: JSON | None = None
    raw: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSent(Fact):
    """A message the gateway sent through the Cloud API and the provider accepted (not a webhook).

    Applied like any fact, so it merges with a placeholder its status webhook created first.
    """

    wamid: str
    to: str | None  # the recipient's wa_id as the provider answered it (or the `to` we sent)
    to_user_id: str | None = None  # a business-scoped user id, when the send named one
    type: str
    content: Any = None
    text: str | None = None
    timestamp_ms: int  # when the provider accepted it
    reply_to: str | None = None
    raw: JSON = field(default_factory=dict)

    @property
    def timestamp(self) -> int:
        return self.timestamp_ms // 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusUpdate(Fact):
    """An item of `statuses[]`."""

    wamid: str
    status: MessageStatus
    status_raw: str
    timestamp: int | None  # None when the item had none
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    profile: ContactProfile | None = None  # value.contacts[] naming the recipient, when sent
    errors: tuple[JSON, ...] = ()
    pricing: JSON | None = None
    conversation: JSON | None = None
    biz_opaque_callback_data: str | None = None
    raw: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryMessage:
    """One message of a history thread. Direction is decided by the service: `from` == business."""

    wamid: str
    thread_id: str  # threads[].id: the counterparty
    from_number: str | None
    to: str | None = None
    type: str
    content: Any = None
    text: str | None = None
    timestamp: int | None  # device time; None when the item had none
    history_status: str | None = None  # history_context.status, upper-case as sent
    raw: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryChunk(Fact):
    """One element of `value.history[]`: a chunk of a phase, or the decline (errors with 2593109)."""

    phase: int | None
    chunk_order: int | None
    progress: int | None
    messages: tuple[HistoryMessage, ...] = ()
    thread_count: int = 0
    errors: tuple[JSON, ...] = ()

    @property
    def declined(self) -> bool:
        return any(_code(e) == 2593109 for e in self.errors)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryMedia(Fact):
    """A `history` change carrying `value.messages[]`: the content for an earlier media_placeholder."""

    wamid: str
    from_number: str | None
    type: str
    content: Any = None
    text: str | None = None
    timestamp: int | None  # None when the item had none
    raw: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactChange(Fact):
    """An item of `smb_app_state_sync.state_sync[]`: the owner's address book changed."""

    phone_number: str
    action: ContactAction
    action_raw: str
    full_name: str | None = None
    first_name: str | None = None
    user_id: str | None = None
    timestamp: int
    raw: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountEvent(Fact):
    """`account_update`: PARTNER_REMOVED, ACCOUNT_OFFBOARDED, ACCOUNT_RECONNECTED and the rest."""

    event: str
    timestamp: int | None  # entry[].time
    phone_number: str | None = None  # value.phone_number (coexistence-page shape)
    waba_id: str | None = None  # value.waba_info.waba_id (reference shape)
    disconnection_reason: str | None = None
    disconnection_initiated_by: str | None = None
    raw: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorsReported(Fact):
    """Out-of-band `value.errors[]` (not tied to a message)."""

    errors: tuple[JSON, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unknown(Fact):
    """Anything we could not interpret: an unknown field, or an item of an unexpected shape."""

    reason: str
    raw: Any = None


def _code(error: JSON) -> int | None:
    try:
        return int(error.get("code"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


AnyFact = (
    InboundMessage
    | Echo
    | StatusUpdate
    | HistoryChunk
    | HistoryMedia
    | ContactChange
    | AccountEvent
    | ErrorsReported
    | Unknown
)


HISTORY_PIECE = 500
"""Messages of a history chunk applied in one step: the unit of work a lock budget can stop after."""


def apply_units(facts: Sequence[Any], piece: int = HISTORY_PIECE) -> list[Any]:
    """The facts as units of apply work: a history chunk of more than `piece` messages is split.

    Each piece is a chunk of its own with the same phase and order; only the last carries the chunk's
    progress when that progress completes the phase (so the phase completes once, after every
    message), and only the first its thread count. The split depends only on the facts, so a receipt
    parsed again after a restart gives the same units, and an application can resume at a unit.
    """
    units: list[Any] = []
    for fact in facts:
        if type(fact) is not HistoryChunk or len(fact.messages) <= piece:
            units.append(fact)
            continue
        n = len(fact.messages)
        progress = fact.progress
        early = min(progress, 99) if progress is not None else None
        for start in range(0, n, piece):
            last = start + piece >= n
            units.append(
                replace(
                    fact,
                    messages=fact.messages[start : start + piece],
                    progress=progress if last else early,
                    thread_count=fact.thread_count if start == 0 else 0,
                )
            )
    return units
