"""The one-shot contacts and history syncs of an onboarding: requested once, in order, in time.

Each request is a persisted intent (domain/onboarding.py): `begin` commits `requesting` before the
call leaves, so a crash between the request and its answer leaves a trace, and the sweep turns it
into `unconfirmed`, which is never sent again by itself. The job here runs in `wacoex serve`; the
onboarding service calls `advance` at once so a fresh onboarding's syncs leave in seconds.
"""

from __future__ import annotations

from collections.abc import Callable

from wacoex.domain.access import Principal, Role
from wacoex.domain.onboarding import (
    ALREADY_REQUESTED,
    WINDOW_CLOSED,
    Answer,
    DeadlineStage,
    SyncKind,
    SyncState,
    SyncView,
    answer_of_error,
    deadline_stage,
    next_to_request,
    sync_alert,
    sync_alert_kind,
)
from wacoex.errors import Forbidden, NotFound, ProviderError, Refused
from wacoex.services.onboarding_port import AccountApi, CurrentOnboarding, NumberAlerts, OnboardingStore

RETRY_MS = 60_000  # a request that certainly did not arrive is tried again after a minute
# The job leaves a fresh onboarding to the request that made it (which requests its syncs at once)
# for this long, so the two never race for the intent and the onboarding's answer shows the outcome.
FRESH_MS = 30_000


class Syncs:
    def __init__(
        self,
        store: OnboardingStore,
        alerts: NumberAlerts,
        api: AccountApi,
        clock: Callable[[], int],
        *,
        in_flight_ms: int,
        warn_before_ms: int,
    ) -> None:
        self._store = store
        self._alerts = alerts
        self._api = api
        self._clock = clock
        self._in_flight_ms = in_flight_ms
        self._warn_ms = warn_before_ms

    name = "syncs"

    def run_once(self) -> bool:
        """The job's pass; periodic, as the deadlines are hours away and a retry waits a minute."""
        self.check()
        return False

    def check(self) -> int:
        """Unconfirm requests left without an answer, then move every open onboarding along; how
        many syncs changed."""
        now = self._clock()
        changed = 0
        for current, kind in self._store.unconfirm_stale(now - self._in_flight_ms, now):
            self._alert(current, kind, SyncState.UNCONFIRMED, now)
            changed += 1
        for current in self._store.open_syncs(now):
            if now - current.created_at < FRESH_MS:
                continue
            changed += self.advance(current)
        return changed

    def advance(self, current: CurrentOnboarding) -> int:
        """Request what is due (contacts, then history), expire what is too late, say so in alerts."""
        changed = 0
        for _ in range(len(SyncKind) + 1):
            now = self._clock()
            for kind, view in current.syncs.items():
                # its webhooks arrived: it was requested, and whatever its alert said is over
                if view.state is not view.effective and self._store.confirm(current.onboarding_id, kind, now):
                    self._alerts.clear(current.number.id, [sync_alert_kind(kind).value], now)
                    changed += 1
            states = {k: v.effective for k, v in current.syncs.items()}
            stage = deadline_stage(states, now, current.deadline_at, warn_before_ms=self._warn_ms)
            if stage is DeadlineStage.PASSED:
                for kind, state in states.items():
                    if state is SyncState.PENDING and self._store.expire(current.onboarding_id, kind, now):
                        self._alert(current, kind, SyncState.EXPIRED, now)
                        changed += 1
                return changed
            for kind, view in current.syncs.items():
                self._warn_if_near(current, kind, view, stage, now)
            due = next_to_request(states)
            if due is None or current.syncs[due].retry_at > now:
                return changed
            if not self._request(current, due, now, force=False):
                return changed
            changed += 1
            fresh = self._store.current(current.number.phone_number_id, None)
            if fresh is None or fresh.onboarding_id != current.onboarding_id:
                return changed
            current = fresh
        return changed

    def request(self, who: Principal, phone_number_id: str, kind: SyncKind, *, force: bool) -> SyncView:
        """A person asks for a sync now. Once requested it is never sent again (409 with why);
        `force` sends one whose first request is unconfirmed or refused, accepting that Meta answers
        2593107 if the first one did arrive (then it is recorded as requested)."""
        if who.role is not Role.ADMIN:
            raise Forbidden("requesting a sync needs an admin key")
        current = self._store.current(phone_number_id, who.workspace_id)
        if current is None:
            raise NotFound(f"number {phone_number_id} has no onboarding recorded (onboard it through wacoex)")
        if current.ended_at is not None:
            raise Refused(
                f"number {phone_number_id} left the Cloud API after this onboarding: onboard it again "
                "(a new onboarding may request each sync once more)",
                code="number_disconnected",
            )
        view = current.syncs[kind]
        state, now = view.effective, self._clock()
        settled = state in (SyncState.REQUESTED, SyncState.EXPIRED, SyncState.REQUESTING)
        if settled or (state is not SyncState.PENDING and not force):
            # the code Meta answers for the same request, for the Graph-compatible proxy
            graph = {SyncState.REQUESTED: ALREADY_REQUESTED, SyncState.EXPIRED: WINDOW_CLOSED}.get(state)
            raise Refused(_refusal(kind, view, state), code=f"sync_{state.value}", graph_code=graph)
        if now >= current.deadline_at:
            if self._store.expire(current.onboarding_id, kind, now):
                self._alert(current, kind, SyncState.EXPIRED, now)
            raise Refused(
                _refusal(kind, view, SyncState.EXPIRED), code="sync_expired", graph_code=WINDOW_CLOSED
            )
        if not self._request(current, kind, now, force=force):
            raise Refused(f"the {kind.label} sync is being requested right now", code="sync_requesting")
        after = self._store.current(phone_number_id, who.workspace_id)
        assert after is not None
        return after.syncs[kind]

    def _request(self, current: CurrentOnboarding, kind: SyncKind, now: int, *, force: bool) -> bool:
        if not self._store.begin(current.onboarding_id, kind, now, force=force):
            return False  # another process wrote the intent first: it asks, not us
        try:
            request_id = self._api.request_sync(current.number, kind)
        except ProviderError as exc:
            answer = answer_of_error(
                exc.graph_code, exc.message, retryable=exc.retryable, ambiguous=exc.ambiguous
            )
        else:
            answer = Answer(SyncState.REQUESTED, request_id=request_id or None)
        done = self._clock()
        self._store.answer(
            current.onboarding_id, kind, answer, done, retry_at=done + RETRY_MS if answer.retry else 0
        )
        self._alert(
            current,
            kind,
            answer.state,
            done,
            error_code=answer.error_code,
            error_message=answer.error_message,
        )
        return True

    def _warn_if_near(
        self, current: CurrentOnboarding, kind: SyncKind, view: SyncView, stage: DeadlineStage, now: int
    ) -> None:
        if view.effective is SyncState.PENDING and stage is DeadlineStage.APPROACHING:
            self._alert(current, kind, view.effective, now)

    def _alert(
        self,
        current: CurrentOnboarding,
        kind: SyncKind,
        state: SyncState,
        now: int,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> None:
        stage = deadline_stage({kind: state}, now, current.deadline_at, warn_before_ms=self._warn_ms)
        alert = sync_alert(
            kind,
            state,
            stage=stage,
            deadline=current.deadline_at,
            now=now,
            error_code=error_code,
            error_message=error_message,
        )
        if alert is not None:
            self._alerts.raise_alert(current.number, alert, now)
        elif state is SyncState.REQUESTED:
            self._alerts.clear(current.number.id, [sync_alert_kind(kind).value], now)


def _refusal(kind: SyncKind, view: SyncView, state: SyncState) -> str:
    name = kind.label
    if state is SyncState.REQUESTED:
        return (
            f"the {name} sync was already requested for this onboarding"
            + (f" (request id {view.request_id})" if view.request_id else "")
            + ": Meta allows it once; nothing was sent"
        )
    if state is SyncState.EXPIRED:
        return (
            f"the {name} sync can no longer be requested: 24 hours have passed since onboarding (2593108). "
            "The owner must disconnect the number in the app and onboard it again"
        )
    if state is SyncState.REQUESTING:
        return f"the {name} sync is being requested right now"
    if state is SyncState.FAILED and not view.error_code:
        return f"the {name} sync failed"
    return (
        f"the {name} sync is {state.value}: its first request may have reached Meta, so it is not sent "
        "again unless you pass force=true (Meta answers 2593107 if the first one arrived)"
    )
