"""Onboardings and their sync intents in SQL: registration, the compare-and-set intent, the sweep of
requests left without an answer, a disconnection ending the onboarding, and the gateway's own alerts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wacoex.domain.alerts import Alert, AlertKind, Severity
from wacoex.domain.lifecycle import StateMove
from wacoex.domain.onboarding import SYNC_WINDOW_MS, Answer, SyncKind, SyncState
from wacoex.errors import Conflict
from wacoex.services.onboarding_port import Registration
from wacoex.store.alert_writer import SqlNumberAlerts
from wacoex.store.engine import make_engine
from wacoex.store.number_records import SqlNumberRecords
from wacoex.store.onboarding import SqlOnboardingStore
from wacoex.store.tables import alerts, events, numbers, workspaces
from wacoex.store.token_cipher import TokenCipher

C, H = SyncKind.CONTACTS, SyncKind.HISTORY
T0 = 1_800_000_000_000


def _reg(workspace_id: int = 1, token: str = "tok-1") -> Registration:
    return Registration(
        phone_number_id="106540352242922",
        display_phone_number="15550783881",
        waba_id="102290129340398",
        provider="meta",
        access_token=token,
        workspace_id=workspace_id,
        source="embedded_signup",
        is_on_biz_app=True,
        platform_type="CLOUD_API",
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = make_engine(db_url)
    yield e
    e.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlOnboardingStore:
    return SqlOnboardingStore(engine, engine, TokenCipher("k" * 40, []))


def test_registering_starts_an_onboarding_with_both_syncs_pending_and_the_token_encrypted(
    store: SqlOnboardingStore, engine: Engine
) -> None:
    current, created = store.register(_reg(), T0)
    assert created
    assert current.number.access_token == "tok-1"
    assert (current.started_at, current.deadline_at, current.ended_at) == (T0, T0 + SYNC_WINDOW_MS, None)
    assert {k: v.state for k, v in current.syncs.items()} == {C: SyncState.PENDING, H: SyncState.PENDING}
    with engine.connect() as conn:
        row = conn.execute(sa.select(numbers)).one()
    assert row.access_token != "tok-1"  # encrypted at rest
    assert (row.is_on_biz_app, row.platform_type, row.coexistence) == (True, "CLOUD_API", True)


def test_the_intent_is_taken_once_and_its_answer_recorded(store: SqlOnboardingStore) -> None:
    current, _ = store.register(_reg(), T0)
    assert store.begin(current.onboarding_id, C, T0 + 1)
    assert not store.begin(current.onboarding_id, C, T0 + 2)  # another process got there first
    store.answer(current.onboarding_id, C, Answer(SyncState.REQUESTED, request_id="r-1"), T0 + 3, 0)
    after = store.current("106540352242922", None)
    assert after is not None
    view = after.syncs[C]
    assert (view.state, view.request_id, view.requested_at) == (SyncState.REQUESTED, "r-1", T0 + 1)
    assert not store.begin(current.onboarding_id, C, T0 + 4, force=True)  # requested: never again


def test_a_request_left_without_an_answer_becomes_unconfirmed_and_only_force_takes_it(
    store: SqlOnboardingStore,
) -> None:
    current, _ = store.register(_reg(), T0)
    assert store.begin(current.onboarding_id, H, T0)
    assert store.unconfirm_stale(T0, T0 + 10) == []  # not stale yet
    stale = store.unconfirm_stale(T0 + 1, T0 + 10)
    assert [(c.onboarding_id, k) for c, k in stale] == [(current.onboarding_id, H)]
    after = store.current("106540352242922", None)
    assert after is not None
    assert after.syncs[H].state is SyncState.UNCONFIRMED
    assert not store.begin(current.onboarding_id, H, T0 + 11)
    assert store.begin(current.onboarding_id, H, T0 + 12, force=True)


def test_only_a_pending_sync_expires(store: SqlOnboardingStore) -> None:
    current, _ = store.register(_reg(), T0)
    assert store.expire(current.onboarding_id, H, T0 + SYNC_WINDOW_MS)
    assert not store.expire(current.onboarding_id, H, T0 + SYNC_WINDOW_MS)
    store.begin(current.onboarding_id, C, T0)
    assert not store.expire(current.onboarding_id, C, T0 + SYNC_WINDOW_MS)


def test_a_connected_number_keeps_its_onboarding_and_a_disconnection_makes_the_next_one_new(
    store: SqlOnboardingStore, engine: Engine
) -> None:
    first, _ = store.register(_reg(), T0)
    store.begin(first.onboarding_id, C, T0)
    store.answer(first.onboarding_id, C, Answer(SyncState.REQUESTED, request_id="r"), T0, 0)
    again, created = store.register(_reg(token="tok-2"), T0 + 5)
    assert not created
    assert again.onboarding_id == first.onboarding_id
    assert again.number.access_token == "tok-2"
    assert again.syncs[C].state is SyncState.REQUESTED
    # Meta disconnects it: the onboarding ends, and the next one starts afresh.
    with engine.begin() as conn:
        records = SqlNumberRecords(conn)
        moved = records.move_number_state(
            first.number.id, "disconnected", "PRIMARY_INACTIVITY", "SYSTEM", T0 + 10
        )
        assert moved is StateMove.CHANGED
        records.end_onboarding(first.number.id, T0 + 10)
    ended = store.current("106540352242922", None)
    assert ended is not None
    assert ended.ended_at == T0 + 10
    assert store.open_syncs(T0 + 11) == []
    fresh, created = store.register(_reg(token="tok-3"), T0 + 20)
    assert not created
    assert fresh.onboarding_id != first.onboarding_id
    assert {v.state for v in fresh.syncs.values()} == {SyncState.PENDING}
    assert fresh.number.state == "connected"
    assert [o.onboarding_id for o in store.open_syncs(T0 + 21)] == [fresh.onboarding_id]


def test_a_reconnection_reported_first_is_the_onboarding_the_signup_then_finishes(
    store: SqlOnboardingStore, engine: Engine
) -> None:
    first, _ = store.register(_reg(), T0)
    with engine.begin() as conn:
        records = SqlNumberRecords(conn)
        records.end_onboarding(first.number.id, T0 + 1)
        records.start_onboarding(first.number.id, "reconnected", T0 + 2, T0 + 2)
        records.start_onboarding(first.number.id, "reconnected", T0 + 2, T0 + 3)  # a duplicate
        records.note_sync_seen(first.number.id, "history", T0 + 4)
    reconnected = store.current("106540352242922", None)
    assert reconnected is not None
    assert reconnected.source == "reconnected"
    assert reconnected.syncs[H].seen_at == T0 + 4
    assert reconnected.syncs[H].effective is SyncState.REQUESTED
    signed, _ = store.register(_reg(), T0 + 5)
    assert signed.onboarding_id == reconnected.onboarding_id


def test_another_workspaces_number_is_a_conflict(store: SqlOnboardingStore, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(workspaces).values(id=2, name="acme", created_at=T0))
    store.register(_reg(), T0)
    with pytest.raises(Conflict, match="another workspace"):
        store.register(_reg(workspace_id=2), T0 + 1)
    assert store.current("106540352242922", 2) is None


def test_an_alert_is_raised_once_with_its_event_and_a_new_message_supersedes_it(
    store: SqlOnboardingStore, engine: Engine
) -> None:
    current, _ = store.register(_reg(), T0)
    writer = SqlNumberAlerts(engine)
    first = Alert(AlertKind.INACTIVITY, Severity.WARNING, "10 days", {"days": 10})
    assert writer.raise_alert(current.number, first, T0 + 1)
    assert not writer.raise_alert(current.number, first, T0 + 2)  # the same condition, still open
    worse = Alert(AlertKind.INACTIVITY, Severity.CRITICAL, "13 days", {"days": 13})
    assert writer.raise_alert(current.number, worse, T0 + 3)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(alerts).order_by(alerts.c.id)).all()
        recorded = conn.execute(sa.select(events.c.type).where(events.c.type == "number.alert")).all()
    assert [(r.message, r.resolved_at) for r in rows] == [("10 days", T0 + 3), ("13 days", None)]
    assert len(recorded) == 2
    writer.clear(current.number.id, [AlertKind.INACTIVITY.value], T0 + 4)
    with engine.connect() as conn:
        assert conn.execute(sa.select(alerts).where(alerts.c.resolved_at.is_(None))).all() == []


def test_two_raisers_at_once_open_one_alert(store: SqlOnboardingStore, engine: Engine, db_url: str) -> None:
    """The serve process's watch and a command check the same number at the same moment: one alert."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: two raisers never overlap")
    current, _ = store.register(_reg(), T0)
    writer = SqlNumberAlerts(engine)
    alert = Alert(AlertKind.BIZ_APP, Severity.CRITICAL, "not on the app", {})
    raised: list[bool] = []
    with engine.connect() as busy:
        busy.begin()  # holds the number, as a state change being applied does
        busy.execute(sa.select(numbers.c.id).with_for_update())
        raisers = [
            threading.Thread(target=lambda: raised.append(writer.raise_alert(current.number, alert, T0 + 1)))
            for _ in range(2)
        ]
        for t in raisers:
            t.start()
        _until_waiting(engine, 2)  # both have begun and wait for the number
        busy.commit()
        for t in raisers:
            t.join(10)
    assert sorted(raised) == [False, True]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(alerts.c.kind).where(alerts.c.resolved_at.is_(None))).all()
        recorded = conn.execute(sa.select(events.c.id).where(events.c.type == "number.alert")).all()
    assert [r.kind for r in rows] == [AlertKind.BIZ_APP.value]
    assert len(recorded) == 1


def _until_waiting(engine: Engine, count: int) -> None:
    q = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + 10
    with engine.connect() as conn:
        while conn.execute(q).scalar() < count:
            assert time.monotonic() < deadline, "the raisers never waited for the number"
            time.sleep(0.01)


def test_a_sync_its_webhooks_confirmed_is_recorded_requested(
    store: SqlOnboardingStore, engine: Engine
) -> None:
    current, _ = store.register(_reg(), T0)
    store.begin(current.onboarding_id, C, T0)
    store.unconfirm_stale(T0 + 1, T0 + 2)
    assert not store.confirm(current.onboarding_id, C, T0 + 3)  # nothing proves it yet
    with engine.begin() as conn:
        SqlNumberRecords(conn).note_sync_seen(current.number.id, C.value, T0 + 4)
    assert store.confirm(current.onboarding_id, C, T0 + 5)
    after = store.current("106540352242922", None)
    assert after is not None
    assert after.syncs[C].state is SyncState.REQUESTED
    assert [o.onboarding_id for o in store.open_syncs(T0 + 6)] == [current.onboarding_id]  # history
