"""The takeover columns of conversations, and the events their changes record (TakeoverStore)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wacoex.services.ports import EventRow
from wacoex.services.takeover_port import TakeoverRow
from wacoex.store.batch_sql import event_row
from wacoex.store.tables import conversations, events, numbers

_COLUMNS = (
    conversations.c.id,
    conversations.c.number_id,
    numbers.c.phone_number_id,
    numbers.c.workspace_id,
    conversations.c.last_echo_at,
    conversations.c.last_customer_at,
    conversations.c.takeover_until,
    conversations.c.takeover_released_at,
    conversations.c.takeover_announced_at,
    conversations.c.takeover_ended_at,
    conversations.c.window_closed_at,
    conversations.c.fep_expires_at,
)


def _row(r: Any) -> TakeoverRow:
    return TakeoverRow(
        conversation_id=int(r.id),
        number_id=int(r.number_id),
        phone_number_id=r.phone_number_id,
        workspace_id=int(r.workspace_id),
        last_echo_at=r.last_echo_at,
        last_customer_at=r.last_customer_at,
        takeover_until=r.takeover_until,
        takeover_released_at=r.takeover_released_at,
        announced_at=r.takeover_announced_at,
        ended_at=r.takeover_ended_at,
        window_closed_at=r.window_closed_at,
        fep_expires_at=r.fep_expires_at,
    )


def _base() -> Any:
    return sa.select(*_COLUMNS).join(numbers, numbers.c.id == conversations.c.number_id)


class SqlTakeoverStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, conversation_id: int) -> TakeoverRow | None:
        with self._engine.connect() as conn:
            r = conn.execute(_base().where(conversations.c.id == conversation_id)).first()
        return _row(r) if r is not None else None

    def candidates(self, now: int, ttl_ms: int, limit: int) -> list[TakeoverRow]:
        announced = sa.func.coalesce(conversations.c.takeover_announced_at, 0)
        ended = sa.func.coalesce(conversations.c.takeover_ended_at, 0)
        released = sa.func.coalesce(conversations.c.takeover_released_at, 0)
        fresh_echo = sa.and_(
            conversations.c.last_echo_at > announced,
            conversations.c.last_echo_at >= released,  # domain.takeover.newer_than_release
            conversations.c.last_echo_at > now - ttl_ms,
        )
        with self._engine.connect() as conn:
            rows = conn.execute(_base().where(sa.or_(fresh_echo, announced > ended)).limit(limit)).all()
        return [_row(r) for r in rows]

    def write(self, conversation_id: int, values: dict[str, Any], rows: list[EventRow], at: int) -> None:
        with self._engine.begin() as conn:
            if values:
                conn.execute(
                    conversations.update().where(conversations.c.id == conversation_id).values(**values)
                )
            if rows:
                conn.execute(events.insert(), [event_row(e, at) for e in rows])
