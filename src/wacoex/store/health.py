"""The reads behind a number's health (services/health.py), in one transaction on the read engine."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wacoex.services.health_port import HealthFacts, OpenAlert
from wacoex.store import queries
from wacoex.store.tables import account_events, alerts, contacts, conversations


class SqlHealth:
    def __init__(self, read_engine: Engine) -> None:
        self._read = read_engine

    def health_facts(self, phone_number_id: str, workspace_id: int | None) -> HealthFacts | None:
        with self._read.connect() as conn:
            number = queries.number_by_pnid(conn, phone_number_id, workspace_id)
            if number is None:
                return None
            last_echo = conn.execute(
                sa.select(sa.func.max(conversations.c.last_echo_at)).where(
                    conversations.c.number_id == number.id
                )
            ).scalar()
            last_book = conn.execute(
                sa.select(sa.func.max(contacts.c.book_updated_at)).where(contacts.c.number_id == number.id)
            ).scalar()
            a = alerts.c
            rows = conn.execute(
                sa.select(a.id, a.kind, a.severity, a.message, a.details, a.opened_at, account_events.c.event)
                .select_from(alerts.outerjoin(account_events, account_events.c.id == a.source_event_id))
                .where(a.number_id == number.id, a.resolved_at.is_(None))
                .order_by(a.opened_at.desc(), a.id.desc())
            ).all()
            return HealthFacts(
                number=number,
                last_echo_at=last_echo,
                last_address_book_at=last_book,
                phases=queries.history_sync(conn, number.id),
                alerts=[
                    OpenAlert(
                        id=int(r.id),
                        kind=r.kind,
                        severity=r.severity,
                        message=r.message,
                        details=r.details,
                        opened_at=int(r.opened_at),
                        event=r.event,
                    )
                    for r in rows
                ],
            )
