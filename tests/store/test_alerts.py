"""The alerts' SQL: one open alert per kind, late ones recorded resolved, fenced resolution; the
last webhook kept to the minute; the health reads scoped to the workspace."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from wacoex.store.engine import make_engine
from wacoex.store.health import SqlHealth
from wacoex.store.number_records import SqlNumberRecords
from wacoex.store.numbers import add_number


def _open(records: SqlNumberRecords, number_id: int, kind: str, at: int, **kw: Any) -> bool:
    return records.open_alert(
        number_id,
        kind=kind,
        severity=kw.get("severity", "critical"),
        message=f"{kind} at {at}",
        details={"at": at},
        opened_at=at,
        source_event_id=None,
        at=at,
    )


def test_alerts_supersede_by_kind_and_resolve_only_what_is_older(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            ref, _ = add_number(
                conn,
                phone_number_id="1",
                display_phone_number="15550783881",
                waba_id="w",
                provider="meta",
                coexistence=True,
            )
            records = SqlNumberRecords(conn)
            assert _open(records, ref.id, "account_disabled", 200)
            records.resolve_alerts(ref.id, ["account_disabled"], 300)
            assert _open(records, ref.id, "account_disabled", 300, severity="info")
            assert not _open(records, ref.id, "account_disabled", 100)  # late: recorded resolved
            assert _open(records, ref.id, "connection", 500)
            records.resolve_alerts(ref.id, ["connection"], 400)  # older than the alert: it stays open
            rows = conn.execute(sa.text("SELECT kind, opened_at, resolved_at FROM alerts ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [
                ("account_disabled", 200, 300),
                ("account_disabled", 300, None),
                ("account_disabled", 100, 300),
                ("connection", 500, None),
            ]
            assert records.mark_webhook_seen(ref.id, 1_000_000)
            assert not records.mark_webhook_seen(ref.id, 1_030_000)  # within the minute: unchanged
            assert conn.execute(sa.text("SELECT last_webhook_at FROM numbers")).scalar() == 1_000_000
            records.mark_webhook_seen(ref.id, 1_060_000)
            records.mark_webhook_seen(ref.id, 500_000)  # a replay of an old receipt never goes back
            assert conn.execute(sa.text("SELECT last_webhook_at FROM numbers")).scalar() == 1_060_000
        health = SqlHealth(engine)
        facts = health.health_facts("1", None)
        assert facts is not None
        assert [(a.kind, a.opened_at) for a in facts.alerts] == [
            ("connection", 500),
            ("account_disabled", 300),
        ]
        assert facts.alerts[0].details == {"at": 500}
        assert (facts.last_echo_at, facts.last_address_book_at, list(facts.phases)) == (None, None, [])
        assert health.health_facts("1", 2) is None  # another workspace's
        assert health.health_facts("nope", None) is None
    finally:
        engine.dispose()


def test_marking_never_waits_for_a_number_another_transaction_is_updating(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: no row is ever held by another")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            ref, _ = add_number(
                conn,
                phone_number_id="1",
                display_phone_number="15550783881",
                waba_id="w",
                provider="meta",
                coexistence=True,
            )
        with engine.connect() as busy, engine.connect() as other:
            busy.begin()
            SqlNumberRecords(busy).move_number_state(ref.id, "disconnected", None, None, 1)  # holds the row
            other.begin()
            other.exec_driver_sql("SET LOCAL lock_timeout = '2s'")  # a wait would fail, not hang
            assert not SqlNumberRecords(other).mark_webhook_seen(ref.id, 1_000_000)  # skipped, at once
            other.rollback()
            busy.commit()
        with engine.begin() as conn:
            assert SqlNumberRecords(conn).mark_webhook_seen(ref.id, 1_000_000)  # free again
    finally:
        engine.dispose()
