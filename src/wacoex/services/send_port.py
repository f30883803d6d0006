"""What sending needs from the store: the send log, the conversation's times, templates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from wacoex.domain.templates import Template
from wacoex.errors import Refused
from wacoex.services.ports import NumberRef


class SendState(StrEnum):
    QUEUED = "queued"  # waiting for the delivery engine (queued sends, retries after a refusal)
    SENDING = "sending"  # the request is (or may be) on its way to the provider
    SENT = "sent"  # the provider accepted it: it has a wamid
    FAILED = "failed"  # certainly not sent (refused by us or by the provider)
    AMBIGUOUS = "ambiguous"  # the request left and no answer came back: never resent automatically


FINAL = frozenset({SendState.SENT, SendState.FAILED, SendState.AMBIGUOUS})


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRecord:
    id: int
    workspace_id: int
    number_id: int
    conversation_id: int | None
    idempotency_key: str | None
    request_sha256: str
    key_id: int | None
    role: str
    route: str  # api | graph
    to_input: str
    wa_id: str | None
    type: str
    body: dict[str, Any]  # the Cloud API body sent (or to send)
    state: SendState
    queued: bool
    wamid: str | None
    message_id: int | None
    response: dict[str, Any] | None  # the provider's answer (or error body), relayed by the proxy
    error_code: str | None
    graph_code: int | None
    error_message: str | None
    category: str | None
    estimated_cost: float | None
    currency: str | None
    attempts: int
    next_attempt_at: int
    created_at: int
    updated_at: int
    sent_at: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SentMark:
    """What to write on the send's row in the transaction that records its message: `values`, and the
    message and conversation it became."""

    send_id: int
    number_id: int
    wamid: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SendingNumber:
    """A number as sending sees it: the provider's reference, its workspace and its rate."""

    ref: NumberRef
    workspace_id: int
    send_rate: float | None

    def require_credentials(self) -> None:
        """Refuse, before anything leaves, to call the provider for a number registered without a token."""
        if not self.ref.access_token:
            raise Refused(
                f"number {self.ref.phone_number_id} has no access token (Meta) or API key (360dialog): "
                "register it with one (wacoex numbers add --access-token)",
                code="no_access_token",
                graph_code=190,
            )


@dataclass(frozen=True, slots=True)
class ConversationTimes:
    """What the policy reads of the conversation with a recipient (None: no conversation yet)."""

    id: int | None = None
    last_customer_at: int | None = None
    window_closed_at: int | None = None
    fep_expires_at: int | None = None
    last_echo_at: int | None = None
    takeover_until: int | None = None
    takeover_released_at: int | None = None
    last_referral_at: int | None = None  # the newest customer message that came from an ad


class SendStore(Protocol):
    """The send log and the conversation columns sending writes; each call is one transaction."""

    def number(self, phone_number_id: str) -> SendingNumber | None: ...
    def number_by_id(self, number_id: int) -> SendingNumber | None: ...
    def by_key(self, workspace_id: int, key: str) -> SendRecord | None: ...
    def create(self, values: dict[str, Any]) -> SendRecord:
        """Insert a send; Conflict when its idempotency key is taken (a concurrent twin)."""
        ...

    def get(self, send_id: int) -> SendRecord | None: ...
    def update(self, send_id: int, values: dict[str, Any], *, when: tuple[SendState, ...] = ()) -> bool:
        """Change a send, only while it is in one of `when` (any state if empty); whether it changed."""
        ...

    def claim_due(self, limit: int, now: int, per_number: int) -> list[SendRecord]:
        """Queued sends whose time has come, at most `per_number` of each number, oldest first,
        moved to `sending` (no other worker gets them)."""
        ...

    def stuck(self, state: SendState, before: int, limit: int) -> list[SendRecord]:
        """Sends in `state` not touched since `before`."""
        ...

    def page(
        self, workspace_id: int | None, state: SendState | None, before_id: int | None, limit: int
    ) -> list[SendRecord]:
        """Sends newest first (of one workspace, or every one with None), in `state` if given."""
        ...

    def unreconciled(self, since: int, limit: int) -> list[SendRecord]:
        """Ambiguous sends created since `since` that no status has matched yet (newest first)."""
        ...

    def unrecorded(self, before: int, limit: int) -> list[SendRecord]:
        """Sent (a wamid) but not yet in the record: a crash came between the answer and the record."""
        ...

    def conversation_times(self, number_id: int, to: str) -> ConversationTimes: ...
    def conversation_by_id(self, conversation_id: int) -> tuple[int, ConversationTimes] | None:
        """(number id, times) of a conversation."""
        ...

    def set_conversation(self, conversation_id: int, values: dict[str, Any]) -> None: ...
    def message_id(self, number_id: int, wamid: str) -> int | None: ...
    def unclaimed_api_placeholders(self, number_id: int, to: str, since: int) -> list[tuple[str, int]]:
        """(wamid, occurred_at) of status-made placeholders to `to` since `since` no send claims."""
        ...


class TemplateStore(Protocol):
    def get(self, waba_id: str, name: str, language: str) -> Template | None: ...
    def replace(self, waba_id: str, templates: list[Template], at: int) -> int:
        """Make the WABA's stored templates exactly these; how many there are."""
        ...

    def list(self, waba_id: str) -> list[Template]: ...
    def synced_at(self, waba_id: str) -> int | None: ...
