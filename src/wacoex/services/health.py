"""A number's health: its state explained, the last webhook, the phone's heartbeat, its onboarding and
one-shot syncs, history, what Meta last said of it, companion devices, and open alerts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wacoex.domain.access import Principal
from wacoex.domain.heartbeat import Countdown, countdown, signs_of_life
from wacoex.domain.lifecycle import COMPANIONS_EXPLAINED, HISTORY_EXPLAINED, NumberState, explain_state
from wacoex.domain.onboarding import SyncKind, SyncState, SyncView, explain_sync
from wacoex.errors import NotFound
from wacoex.services.health_port import HealthStore, OpenAlert
from wacoex.services.onboarding_port import CurrentOnboarding


@dataclass(frozen=True, slots=True)
class SyncStatus:
    kind: SyncKind
    state: SyncState  # as it stands: a sync whose webhooks arrived is requested
    explained: str
    request_id: str | None
    requested_at: int | None
    confirmed_at: int | None  # its first webhook
    error_code: int | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class OnboardingStatus:
    source: str
    started_at: int
    deadline_at: int  # the syncs' 24 hours end here
    ended_at: int | None  # the number left the Cloud API after it
    syncs: Sequence[SyncStatus]


@dataclass(frozen=True, slots=True)
class MetaStatus:
    """What Meta last answered about the number (GET /{phone_number_id}), and when."""

    is_on_biz_app: bool | None
    platform_type: str | None
    throughput_level: str | None
    quality_rating: str | None
    checked_at: int | None


@dataclass(frozen=True, slots=True)
class HistoryStatus:
    state: str
    explained: str
    progress: int
    messages_imported: int


@dataclass(frozen=True, slots=True)
class Health:
    phone_number_id: str
    display_phone_number: str
    coexistence: bool
    state: str
    state_reason: str | None
    state_initiated_by: str | None
    state_changed_at: int | None
    state_explained: str
    can_send: bool
    last_webhook_at: int | None
    heartbeat: Countdown
    onboarding: OnboardingStatus | None  # None: not onboarded through wacoex
    history: HistoryStatus
    meta: MetaStatus
    companions: str
    alerts: Sequence[OpenAlert]
    checked_at: int


class NumberHealth:
    """The health of a number `who` may read (another workspace's is NotFound, as for none)."""

    def __init__(
        self,
        store: HealthStore,
        clock: Callable[[], int],
        *,
        inactivity_days: float,
        warning_days: float,
        onboarding: Callable[[str, int | None], CurrentOnboarding | None] = lambda _p, _w: None,
    ) -> None:
        self._onboarding = onboarding
        self._store = store
        self._clock = clock
        self._cut_days = inactivity_days
        self._warning_days = warning_days

    def health(self, who: Principal, phone_number_id: str) -> Health:
        facts = self._store.health_facts(phone_number_id, who.workspace_id)
        if facts is None:
            raise NotFound(f"number {phone_number_id} is not registered")
        n: Any = facts.number
        now = self._clock()
        connected = n.state == NumberState.CONNECTED
        signs = signs_of_life(
            last_echo_at=facts.last_echo_at,
            last_address_book_at=facts.last_address_book_at,
            acknowledged_at=n.heartbeat_ack_at,
            # onboarding (registration here, or a reconnection) means the app was in use then
            connected_at=n.state_changed_at if connected and n.state_changed_at else n.created_at,
        )
        return Health(
            phone_number_id=n.phone_number_id,
            display_phone_number=n.display_phone_number,
            coexistence=bool(n.coexistence),
            state=n.state,
            state_reason=n.state_reason,
            state_initiated_by=n.state_initiated_by,
            state_changed_at=n.state_changed_at,
            state_explained=explain_state(n.state, n.state_reason, n.state_initiated_by),
            can_send=connected,
            last_webhook_at=n.last_webhook_at,
            heartbeat=countdown(
                signs,
                now,
                cut_days=self._cut_days,
                warning_days=self._warning_days,
                counting=connected and bool(n.coexistence),
            ),
            onboarding=onboarding_status(self._onboarding(n.phone_number_id, who.workspace_id)),
            meta=MetaStatus(
                is_on_biz_app=n.is_on_biz_app,
                platform_type=n.platform_type,
                throughput_level=n.throughput_level,
                quality_rating=n.quality_rating,
                checked_at=n.biz_app_checked_at,
            ),
            companions=COMPANIONS_EXPLAINED,
            history=HistoryStatus(
                state=n.history_state,
                explained=HISTORY_EXPLAINED.get(n.history_state, n.history_state),
                progress=max((p.progress for p in facts.phases), default=0),
                messages_imported=sum(p.messages_imported for p in facts.phases),
            ),
            alerts=facts.alerts,
            checked_at=now,
        )


def sync_status(view: SyncView) -> SyncStatus:
    state = view.effective
    return SyncStatus(
        kind=view.kind,
        state=state,
        explained=explain_sync(view.kind, state),
        request_id=view.request_id,
        requested_at=view.requested_at,
        confirmed_at=view.seen_at,
        error_code=view.error_code,
        error_message=view.error_message,
    )


def onboarding_status(current: CurrentOnboarding | None) -> OnboardingStatus | None:
    if current is None:
        return None
    syncs = [sync_status(current.syncs[kind]) for kind in SyncKind if kind in current.syncs]
    return OnboardingStatus(current.source, current.started_at, current.deadline_at, current.ended_at, syncs)
