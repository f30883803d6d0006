"""Alerts the gateway raises itself (sync deadlines, the phone's heartbeat, Meta's is_on_biz_app),
each with its `number.alert` event, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wacoex.domain import events as ev
from wacoex.domain.alerts import Alert
from wacoex.services.ports import EventRow, NumberRef
from wacoex.store.batch_sql import event_row
from wacoex.store.tables import alerts, events, numbers


def resolve_alerts(conn: Connection, number_id: int, kinds: Sequence[str], at: int) -> None:
    """Resolve the number's open alerts of `kinds` opened at or before `at` (a newer one stays)."""
    a = alerts.c
    conn.execute(
        alerts.update()
        .where(a.number_id == number_id, a.kind.in_(list(kinds)), a.resolved_at.is_(None), a.opened_at <= at)
        .values(resolved_at=at)
    )


class SqlNumberAlerts:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def raise_alert(self, number: NumberRef, alert: Alert, at: int) -> bool:
        a = alerts.c
        with self._engine.begin() as conn:
            # One raiser per number at a time (the serve process's jobs and a command may check at
            # once): without the lock two both saw no open alert and opened one each on PostgreSQL.
            # SQLite takes its one write lock at BEGIN (store/engine.py) and ignores FOR UPDATE.
            conn.execute(sa.select(numbers.c.id).where(numbers.c.id == number.id).with_for_update())
            open_ = conn.execute(
                sa.select(a.id, a.message).where(
                    a.number_id == number.id, a.kind == alert.kind.value, a.resolved_at.is_(None)
                )
            ).all()
            if any(r.message == alert.message for r in open_):
                return False
            if open_:
                conn.execute(alerts.update().where(a.id.in_([r.id for r in open_])).values(resolved_at=at))
            conn.execute(
                alerts.insert().values(
                    number_id=number.id,
                    kind=alert.kind.value,
                    severity=alert.severity.value,
                    message=alert.message,
                    details=alert.details,
                    opened_at=at,
                    created_at=at,
                )
            )
            row = EventRow(
                ev.NumberAlert.of(number.phone_number_id, alert, event=None, opened_at=at), number.id
            )
            conn.execute(events.insert(), [event_row(row, at)])
        return True

    def clear(self, number_id: int, kinds: Sequence[str], at: int) -> None:
        a = alerts.c
        with self._engine.begin() as conn:
            conn.execute(
                alerts.update()
                .where(a.number_id == number_id, a.kind.in_(list(kinds)), a.resolved_at.is_(None))
                .values(resolved_at=at)
            )
