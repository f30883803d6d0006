"""A number's own records while applying webhooks: lookups, state, history progress, account events.

The rules (which state follows which, which event is stale) are the domain's; this is the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.domain.ids import phone_key
from wacoex.domain.lifecycle import WEBHOOK_SEEN_GRAIN_MS, StateMove
from wacoex.domain.onboarding import SyncKind
from wacoex.services.ports import NumberRef
from wacoex.store.alert_writer import resolve_alerts
from wacoex.store.dialect import insert_ignore
from wacoex.store.numbers import number_ref
from wacoex.store.onboarding import end_onboarding, note_sync_seen, start_onboarding
from wacoex.store.tables import account_events, alerts, history_phases, numbers


class SqlNumberRecords:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def numbers_by_display(self, display: str) -> list[NumberRef]:
        rows = self.conn.execute(sa.select(numbers)).all()
        key = phone_key(display)
        return [number_ref(r) for r in rows if phone_key(r.display_phone_number) == key]

    def numbers_by_waba(self, waba_id: str) -> list[NumberRef]:
        rows = self.conn.execute(sa.select(numbers).where(numbers.c.waba_id == waba_id)).all()
        return [number_ref(r) for r in rows]

    def move_number_state(
        self, number_id: int, state: str, reason: str | None, initiated_by: str | None, changed_at: int
    ) -> StateMove:
        """Compare and set: only an event no older than the one that set the state moves it."""
        c = numbers.c
        # Locked until the transaction ends, so what it was is what this move changed.
        was = sa.select(c.state, c.state_reason, c.state_initiated_by).where(c.id == number_id)
        before = self.conn.execute(was.with_for_update()).first()
        result = self.conn.execute(
            numbers.update()
            .where(c.id == number_id, sa.or_(c.state_changed_at.is_(None), c.state_changed_at <= changed_at))
            .values(
                state=state, state_reason=reason, state_initiated_by=initiated_by, state_changed_at=changed_at
            )
            .returning(c.id)
        )
        if result.first() is None:
            return StateMove.FENCED
        same = before is not None and tuple(before) == (state, reason, initiated_by)
        return StateMove.SAME if same else StateMove.CHANGED

    def move_history_state(
        self, number_id: int, sources: Sequence[str], state: str, values: dict[str, Any]
    ) -> bool:
        """Compare and set: the history state becomes `state` only from one of `sources`."""
        result = self.conn.execute(
            numbers.update()
            .where(numbers.c.id == number_id, numbers.c.history_state.in_(list(sources)))
            .values(history_state=state, **values)
            .returning(numbers.c.id)
        )
        return result.first() is not None

    # contacts and conversations
    def record_history_chunk(
        self,
        number_id: int,
        phase: int,
        chunk_order: int | None,
        progress: int | None,
        imported: int,
        threads: int,
        at: int,
    ) -> None:
        h = history_phases.c
        row = self.conn.execute(
            sa.select(history_phases).where(h.number_id == number_id, h.phase == phase)
        ).first()
        if row is None:
            self.conn.execute(
                insert_ignore(self.conn, history_phases, ["number_id", "phase"]).values(
                    number_id=number_id,
                    phase=phase,
                    chunks=[],
                    progress=0,
                    messages_imported=0,
                    threads=0,
                    updated_at=at,
                )
            )
            row = self.conn.execute(
                sa.select(history_phases).where(h.number_id == number_id, h.phase == phase)
            ).first()
        assert row is not None
        chunks = list(row.chunks or [])
        first_time = chunk_order is None or chunk_order not in chunks
        if chunk_order is not None and first_time:
            chunks = sorted({*chunks, chunk_order})
        self.conn.execute(
            history_phases.update()
            .where(h.number_id == number_id, h.phase == phase)
            .values(
                chunks=chunks,
                progress=max(row.progress or 0, progress or 0),
                messages_imported=h.messages_imported + imported,
                threads=h.threads + (threads if first_time else 0),
                updated_at=at,
            )
        )

    def record_account_event(
        self,
        number_id: int,
        event: str,
        occurred_at: int,
        reason: str | None,
        initiated_by: str | None,
        applied: bool,
        raw: Any,
        at: int,
    ) -> int | None:
        """The new row's id; None for a duplicate (same number, event and time)."""
        result = self.conn.execute(
            insert_ignore(self.conn, account_events, ["number_id", "event", "occurred_at"])
            .values(
                number_id=number_id,
                event=event,
                occurred_at=occurred_at,
                reason=reason,
                initiated_by=initiated_by,
                applied=applied,
                raw=raw,
                received_at=at,
            )
            .returning(account_events.c.id)
        )
        row = result.first()
        return None if row is None else int(row.id)

    def mark_webhook_seen(self, number_id: int, at: int) -> bool:
        """Never waits: on PostgreSQL, a number row another transaction is updating (another worker
        marking it, or moving its state) is skipped; a later webhook marks it."""
        c = numbers.c
        free = (
            sa.select(c.id)
            .where(
                c.id == number_id,
                sa.or_(c.last_webhook_at.is_(None), c.last_webhook_at <= at - WEBHOOK_SEEN_GRAIN_MS),
            )
            # FOR NO KEY UPDATE: messages inserted meanwhile (their key-share locks) do not make it skip
            .with_for_update(key_share=True, skip_locked=True)
            .scalar_subquery()
        )
        result = self.conn.execute(
            numbers.update().where(c.id == free).values(last_webhook_at=at).returning(c.id)
        )
        return result.first() is not None

    def note_sync_seen(self, number_id: int, kind: str, at: int) -> None:
        note_sync_seen(self.conn, number_id, SyncKind(kind), at)

    def start_onboarding(self, number_id: int, source: str, started_at: int, at: int) -> None:
        start_onboarding(self.conn, number_id, source, started_at, at, reuse=True)

    def end_onboarding(self, number_id: int, at: int) -> None:
        end_onboarding(self.conn, number_id, at)

    def resolve_alerts(self, number_id: int, kinds: Sequence[str], at: int) -> None:
        resolve_alerts(self.conn, number_id, kinds, at)

    def open_alert(
        self,
        number_id: int,
        *,
        kind: str,
        severity: str,
        message: str,
        details: Any,
        opened_at: int,
        source_event_id: int | None,
        at: int,
    ) -> bool:
        """Record an alert, open unless a newer alert of its kind is already open (then it is
        recorded resolved at that one's time); whether it is open."""
        a = alerts.c
        newer = self.conn.execute(
            sa.select(sa.func.min(a.opened_at)).where(
                a.number_id == number_id, a.kind == kind, a.resolved_at.is_(None), a.opened_at > opened_at
            )
        ).scalar()
        self.conn.execute(
            alerts.insert().values(
                number_id=number_id,
                kind=kind,
                severity=severity,
                message=message,
                details=details,
                opened_at=opened_at,
                resolved_at=newer,
                source_event_id=source_event_id,
                created_at=at,
            )
        )
        return newer is None
