"""The one-shot syncs' rules: what an answer leaves a sync in, which sync goes next, the deadline."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wacoex.domain.alerts import AlertKind, Severity
from wacoex.domain.onboarding import (
    HOUR_MS,
    SYNC_WINDOW_MS,
    DeadlineStage,
    SyncKind,
    SyncState,
    answer_of_error,
    confirm_coexistence,
    deadline_stage,
    effective_state,
    next_to_request,
    sync_alert,
    sync_kind,
)

C, H = SyncKind.CONTACTS, SyncKind.HISTORY


def test_meta_answers_map_to_states_and_nothing_that_may_have_arrived_is_retried() -> None:
    assert answer_of_error(2593107, "limit", retryable=False, ambiguous=False).state is SyncState.REQUESTED
    assert answer_of_error(2593108, "late", retryable=False, ambiguous=False).state is SyncState.EXPIRED
    lost = answer_of_error(None, "timed out", retryable=False, ambiguous=True)
    assert lost.state is SyncState.UNCONFIRMED
    assert not lost.retry
    refused = answer_of_error(2, "unavailable", retryable=True, ambiguous=False)
    assert refused.state is SyncState.PENDING
    assert refused.retry
    assert answer_of_error(100, "bad", retryable=False, ambiguous=False).state is SyncState.FAILED
    # 2593107 wins over the flags: Meta has one, so it was requested.
    assert answer_of_error(2593107, "x", retryable=True, ambiguous=True).state is SyncState.REQUESTED


def test_contacts_go_first_and_history_waits_while_contacts_is_on_its_way() -> None:
    assert next_to_request({}) is C
    assert next_to_request({C: SyncState.REQUESTING, H: SyncState.PENDING}) is None
    assert next_to_request({C: SyncState.REQUESTED, H: SyncState.PENDING}) is H
    assert next_to_request({C: SyncState.UNCONFIRMED, H: SyncState.PENDING}) is H
    assert next_to_request({C: SyncState.EXPIRED, H: SyncState.PENDING}) is H
    assert next_to_request({C: SyncState.REQUESTED, H: SyncState.REQUESTED}) is None


states = st.sampled_from(list(SyncState))


@given(contacts=states, history=states)
def test_only_a_pending_sync_is_ever_requested_and_never_history_before_contacts_answered(
    contacts: SyncState, history: SyncState
) -> None:
    chosen = next_to_request({C: contacts, H: history})
    if chosen is not None:
        assert {C: contacts, H: history}[chosen] is SyncState.PENDING
    if chosen is H:
        assert contacts not in (SyncState.PENDING, SyncState.REQUESTING)


def test_a_webhook_confirms_a_sync_whatever_its_record_says() -> None:
    for state in (SyncState.PENDING, SyncState.REQUESTING, SyncState.UNCONFIRMED):
        assert effective_state(state, 1) is SyncState.REQUESTED
        assert effective_state(state, None) is state
    assert effective_state(SyncState.EXPIRED, 1) is SyncState.EXPIRED


def test_the_deadline_warns_then_passes_only_while_a_sync_is_pending() -> None:
    start = 1_000_000
    deadline = start + SYNC_WINDOW_MS
    pending = {C: SyncState.PENDING, H: SyncState.REQUESTED}
    warn = 4 * HOUR_MS
    assert deadline_stage(pending, start, deadline, warn_before_ms=warn) is DeadlineStage.NONE
    assert (
        deadline_stage(pending, deadline - warn, deadline, warn_before_ms=warn) is DeadlineStage.APPROACHING
    )
    assert deadline_stage(pending, deadline, deadline, warn_before_ms=warn) is DeadlineStage.PASSED
    done = {C: SyncState.REQUESTED, H: SyncState.UNCONFIRMED}
    assert deadline_stage(done, deadline + 1, deadline, warn_before_ms=warn) is DeadlineStage.NONE


def test_alerts_say_what_to_do_and_how_serious_it_is() -> None:
    near = sync_alert(
        C, SyncState.PENDING, stage=DeadlineStage.APPROACHING, deadline=10 * HOUR_MS, now=8 * HOUR_MS
    )
    assert near is not None
    assert (near.kind, near.severity) == (AlertKind.SYNC_CONTACTS, Severity.WARNING)
    assert "end at 1970-01-01 10:00 UTC" in near.message
    expired = sync_alert(H, SyncState.EXPIRED, stage=DeadlineStage.PASSED, deadline=0, now=1)
    assert expired is not None
    assert (expired.kind, expired.severity) == (AlertKind.SYNC_HISTORY, Severity.CRITICAL)
    assert "Settings > Account > Business Platform" in expired.message
    assert sync_alert(H, SyncState.REQUESTED, stage=DeadlineStage.NONE, deadline=0, now=1) is None
    assert sync_alert(H, SyncState.PENDING, stage=DeadlineStage.NONE, deadline=0, now=1) is None


def test_sync_names_and_the_coexistence_check() -> None:
    assert sync_kind("contacts") is C
    assert sync_kind("smb_app_state_sync") is C
    assert sync_kind("history") is H
    assert sync_kind("chats") is None
    assert confirm_coexistence(True, "CLOUD_API") is None
    api_only = confirm_coexistence(False, "CLOUD_API")
    assert api_only is not None
    assert "API-only" in api_only
    not_connected = confirm_coexistence(True, "NOT_APPLICABLE")
    assert not_connected is not None
    assert "NOT_APPLICABLE" in not_connected
