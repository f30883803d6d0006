"""Onboarding a Business app number, and its two one-shot syncs (contacts, then history).

Meta lets each sync be requested once per onboarding, within 24 hours of it (`POST
/{phone_number_id}/smb_app_data`; a second call answers 2593107, a late one 2593108). A blind retry
spends the only chance, so every request is a persisted intent: `requesting` is written (and
committed) before the call leaves; the answer moves it to `requested` (with Meta's request id) or to
a failure. An intent found still `requesting` after a crash or a timeout is `unconfirmed`: it may
have reached Meta, so it is never sent again automatically. Its own webhooks (`smb_app_state_sync`,
`history`) confirm it; until they come an alert says what happened and what a person can do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from wacoex.domain.alerts import Alert, AlertKind, Severity

HOUR_MS = 3_600_000
SYNC_WINDOW_MS = 24 * HOUR_MS  # Meta: within 24 hours of onboarding

# smb_app_data errors (Meta's error codes reference, "Synchronization errors")
ALREADY_REQUESTED = 2593107  # this sync_type was already requested for this onboarding
WINDOW_CLOSED = 2593108  # more than 24 hours after onboarding
HISTORY_DECLINED = 2593109  # the owner chose not to share the chat history (a `history` webhook)


class SyncKind(StrEnum):
    """The sync types, in the order Meta asks for them: contacts first, then history."""

    CONTACTS = "smb_app_state_sync"
    HISTORY = "history"

    @property
    def label(self) -> str:
        return "contacts" if self is SyncKind.CONTACTS else "history"


SYNC_ORDER: tuple[SyncKind, ...] = (SyncKind.CONTACTS, SyncKind.HISTORY)


def sync_kind(name: str) -> SyncKind | None:
    """`contacts`/`history` (as people say it) or Meta's sync_type; None for anything else."""
    for kind in SyncKind:
        if name in (kind.value, kind.label):
            return kind
    return None


class SyncState(StrEnum):
    PENDING = "pending"  # not requested yet (or certainly not received: safe to request)
    REQUESTING = "requesting"  # the intent is written; the request is (or was) on its way
    REQUESTED = "requested"  # Meta accepted it (request id kept), or its webhooks arrived
    UNCONFIRMED = "unconfirmed"  # it may have reached Meta: never sent again automatically
    EXPIRED = "expired"  # the 24 hours passed before it was requested (2593108)
    FAILED = "failed"  # Meta refused it for another reason (the error is kept)


# Where a sync may still be requested from, automatically.
REQUESTABLE = frozenset({SyncState.PENDING})
# Outcomes that end a sync for this onboarding (a new onboarding starts new ones).
FINAL = frozenset({SyncState.REQUESTED, SyncState.EXPIRED, SyncState.FAILED})


@dataclass(frozen=True, slots=True)
class Answer:
    """What the provider answered a sync request, as the store records it."""

    state: SyncState
    request_id: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    retry: bool = False  # certainly not received: back to pending, to try again later


def answer_of_error(graph_code: int | None, message: str, *, retryable: bool, ambiguous: bool) -> Answer:
    """The state a failed request leaves its sync in."""
    if graph_code == ALREADY_REQUESTED:
        # Meta has a request of this type for this onboarding: ours, or one made elsewhere.
        return Answer(SyncState.REQUESTED, error_code=graph_code, error_message=message)
    if graph_code == WINDOW_CLOSED:
        return Answer(SyncState.EXPIRED, error_code=graph_code, error_message=message)
    if ambiguous:
        return Answer(SyncState.UNCONFIRMED, error_code=graph_code, error_message=message)
    if retryable:
        return Answer(SyncState.PENDING, error_code=graph_code, error_message=message, retry=True)
    return Answer(SyncState.FAILED, error_code=graph_code, error_message=message)


@dataclass(frozen=True, slots=True)
class SyncView:
    """One sync as read: its state, and what confirms it."""

    kind: SyncKind
    state: SyncState
    request_id: str | None
    requested_at: int | None
    seen_at: int | None  # when its first webhook arrived (confirms it whatever the state)
    error_code: int | None
    error_message: str | None
    retry_at: int = 0  # a request that certainly did not arrive is tried again from here

    @property
    def effective(self) -> SyncState:
        return effective_state(self.state, self.seen_at)


def effective_state(state: SyncState, seen_at: int | None) -> SyncState:
    """A sync whose webhooks arrived was requested, whatever the record says (a crash, a timeout)."""
    if seen_at is not None and state in (SyncState.PENDING, SyncState.REQUESTING, SyncState.UNCONFIRMED):
        return SyncState.REQUESTED
    return state


def next_to_request(states: Mapping[SyncKind, SyncState]) -> SyncKind | None:
    """The sync to request now: contacts first; history once contacts' request has its answer.

    History does not wait on a contacts sync that failed or expired (they are separate chances),
    but it waits while contacts is on its way, so the two are never requested out of order.
    """
    for kind in SYNC_ORDER:
        state = states.get(kind, SyncState.PENDING)
        if state in REQUESTABLE:
            return kind
        if state is SyncState.REQUESTING:
            return None
    return None


class DeadlineStage(StrEnum):
    NONE = "none"  # every sync has its outcome, or plenty of time is left
    APPROACHING = "approaching"  # a sync is not requested yet and the deadline is near
    PASSED = "passed"  # the deadline passed with a sync never requested


def deadline_stage(
    states: Mapping[SyncKind, SyncState], now: int, deadline: int, *, warn_before_ms: int
) -> DeadlineStage:
    waiting = any(states.get(k, SyncState.PENDING) in (SyncState.PENDING,) for k in SYNC_ORDER)
    if not waiting:
        return DeadlineStage.NONE
    if now >= deadline:
        return DeadlineStage.PASSED
    if now >= deadline - warn_before_ms:
        return DeadlineStage.APPROACHING
    return DeadlineStage.NONE


_EXPLAINED: dict[SyncState, str] = {
    SyncState.PENDING: "Not requested yet; wacoex requests it within the 24 hours after onboarding.",
    SyncState.REQUESTING: "Being requested now.",
    SyncState.REQUESTED: "Requested: Meta sends it as webhooks (if the owner agreed to share it).",
    SyncState.UNCONFIRMED: (
        "The request may or may not have reached Meta (no answer came back). It is never sent again "
        "by itself: each sync can be requested only once. Its webhooks will confirm it; if none come, "
        "a person may retry it once (a repeat is answered 2593107 if the first one arrived)."
    ),
    SyncState.EXPIRED: (
        "Not requested within 24 hours of onboarding (2593108). To import it now, the owner must "
        "disconnect the number in the app (Settings > Account > Business Platform) and onboard again."
    ),
    SyncState.FAILED: "Meta refused the request; see the error.",
}


def explain_sync(kind: SyncKind, state: SyncState) -> str:
    text = _EXPLAINED[state]
    return f"{kind.label.capitalize()}: {text[:1].lower()}{text[1:]}"


def confirm_coexistence(is_on_biz_app: object, platform_type: object) -> str | None:
    """Why a number Meta describes this way is not a coexistence number; None when it is one.

    `GET /{phone_number_id}?fields=is_on_biz_app,platform_type`: true and CLOUD_API mean the number
    is used by both the WhatsApp Business app and the Cloud API.
    """
    if is_on_biz_app is True and platform_type == "CLOUD_API":
        return None
    if is_on_biz_app is not True:
        return (
            "Meta reports this number is not on the WhatsApp Business app (is_on_biz_app is "
            f"{is_on_biz_app!r}): an API-only number cannot be onboarded to coexistence, moving a "
            "number to the Cloud API alone is one-way. Onboard a number registered in the WhatsApp "
            "Business app."
        )
    return (
        f"Meta reports the number's platform as {platform_type!r}, not CLOUD_API: the onboarding did not "
        "connect it to the Cloud API. Ask the owner to complete Embedded Signup again."
    )


def sync_alert_kind(kind: SyncKind) -> AlertKind:
    return AlertKind.SYNC_CONTACTS if kind is SyncKind.CONTACTS else AlertKind.SYNC_HISTORY


def sync_alert(
    kind: SyncKind,
    state: SyncState,
    *,
    stage: DeadlineStage,
    deadline: int,
    now: int,
    error_code: int | None = None,
    error_message: str | None = None,
) -> Alert | None:
    """The alert a sync's condition calls for; None when it calls for none (it is fine, or on its way)."""
    name = kind.label
    details: dict[str, object] = {"sync": kind.value, "state": state.value, "deadline_at": deadline}
    if state is SyncState.PENDING and stage is DeadlineStage.APPROACHING:
        # The deadline as a time, not as hours left: the message stays the same while it holds, so
        # the alert is raised once rather than again at every check.
        ends = datetime.fromtimestamp(deadline / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        return Alert(
            sync_alert_kind(kind),
            Severity.WARNING,
            f"The {name} sync is not requested yet and its 24 hours end at {ends}: after that it can "
            "only be had by onboarding the number again. Check why its request fails.",
            details,
        )
    if state is SyncState.EXPIRED:
        return Alert(
            sync_alert_kind(kind),
            Severity.CRITICAL,
            f"The {name} sync was not requested within 24 hours of onboarding (2593108): it can no longer be "
            "requested. To import it, the owner disconnects the number in the WhatsApp Business app "
            "(Settings > Account > Business Platform) and onboards it again.",
            details | {"error_code": error_code},
        )
    if state is SyncState.UNCONFIRMED:
        return Alert(
            sync_alert_kind(kind),
            Severity.WARNING,
            f"The {name} sync request may or may not have reached Meta (no answer came back). wacoex does "
            "not send it again by itself: it can be requested only once. Its webhooks will confirm it; if "
            "none come, retry it once by hand (POST /api/v1/numbers/{id}/syncs/" + name + " with force).",
            details,
        )
    if state is SyncState.FAILED:
        return Alert(
            sync_alert_kind(kind),
            Severity.CRITICAL,
            f"The {name} sync request failed"
            + (f" (Meta's error {error_code}: {error_message})." if error_code else f": {error_message}.")
            + " Retry it once the cause is fixed (POST /api/v1/numbers/{id}/syncs/"
            + name
            + " with force).",
            details | {"error_code": error_code, "error_message": error_message},
        )
    return None
