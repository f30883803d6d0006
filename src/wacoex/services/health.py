"""A number's health: its state explained, the last webhook, the phone's heartbeat, history, alerts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wacoex.domain.access import Principal
from wacoex.domain.heartbeat import Countdown, countdown
from wacoex.domain.lifecycle import HISTORY_EXPLAINED, NumberState, explain_state
from wacoex.errors import NotFound
from wacoex.services.health_port import HealthStore, OpenAlert


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
    history: HistoryStatus
    alerts: Sequence[OpenAlert]
    checked_at: int


class NumberHealth:
    """The health of a number `who` may read (another workspace's is NotFound, as for none)."""

    def __init__(
        self, store: HealthStore, clock: Callable[[], int], *, inactivity_days: float, warning_days: float
    ) -> None:
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
        signs = {
            "echo": facts.last_echo_at,
            "address_book": facts.last_address_book_at,
            # onboarding (registration here, or a reconnection) means the app was in use then
            "connected": n.state_changed_at if connected and n.state_changed_at else n.created_at,
        }
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
            history=HistoryStatus(
                state=n.history_state,
                explained=HISTORY_EXPLAINED.get(n.history_state, n.history_state),
                progress=max((p.progress for p in facts.phases), default=0),
                messages_imported=sum(p.messages_imported for p in facts.phases),
            ),
            alerts=facts.alerts,
            checked_at=now,
        )
