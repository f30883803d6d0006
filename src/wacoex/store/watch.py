"""What the lifecycle checks read and write about connected numbers: the phone's signs of life, the
owner's acknowledgement that they opened the app, and what Meta last said of the number."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wacoex.domain.heartbeat import signs_of_life
from wacoex.domain.lifecycle import NumberState
from wacoex.services.onboarding_port import FoundNumber
from wacoex.services.ports import NumberRef
from wacoex.services.watch_port import Watched
from wacoex.store import queries
from wacoex.store.numbers import number_ref
from wacoex.store.tables import alerts, contacts, conversations, numbers
from wacoex.store.token_cipher import TokenCipher


class SqlWatchStore:
    def __init__(self, engine: Engine, read_engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._read = read_engine
        self._cipher = cipher

    def connected(self) -> list[Watched]:
        n = numbers.c
        watched = (
            sa.select(n.id)
            .where(n.state == NumberState.CONNECTED.value, n.coexistence.is_(True))
            .scalar_subquery()
        )
        # Only the watched numbers' conversations and contacts are read, not the whole tables.
        echo = (
            sa.select(conversations.c.number_id, sa.func.max(conversations.c.last_echo_at).label("at"))
            .where(conversations.c.number_id.in_(watched))
            .group_by(conversations.c.number_id)
            .subquery()
        )
        book = (
            sa.select(contacts.c.number_id, sa.func.max(contacts.c.book_updated_at).label("at"))
            .where(contacts.c.number_id.in_(watched))
            .group_by(contacts.c.number_id)
            .subquery()
        )
        q = (
            sa.select(numbers, echo.c.at.label("echo_at"), book.c.at.label("book_at"))
            .select_from(
                numbers.outerjoin(echo, echo.c.number_id == n.id).outerjoin(book, book.c.number_id == n.id)
            )
            .where(n.id.in_(watched))
            .order_by(n.id)
        )
        a = alerts.c
        open_alerts = sa.select(a.number_id, a.kind).where(a.number_id.in_(watched), a.resolved_at.is_(None))
        with self._read.connect() as conn:
            rows = conn.execute(q).all()
            kinds: dict[int, set[str]] = {}
            for number_id, kind in conn.execute(open_alerts).all():
                kinds.setdefault(int(number_id), set()).add(kind)
        return [
            Watched(
                number=number_ref(r, self._cipher),
                signs=signs_of_life(
                    last_echo_at=r.echo_at,
                    last_address_book_at=r.book_at,
                    acknowledged_at=r.heartbeat_ack_at,
                    connected_at=r.state_changed_at or r.created_at,
                ),
                status_checked_at=r.biz_app_checked_at,
                open_alerts=frozenset(kinds.get(int(r.id), ())),
            )
            for r in rows
        ]

    def acknowledge(self, phone_number_id: str, workspace_id: int | None, at: int) -> NumberRef | None:
        with self._engine.begin() as conn:
            row = queries.number_by_pnid(conn, phone_number_id, workspace_id)
            if row is None:
                return None
            conn.execute(numbers.update().where(numbers.c.id == row.id).values(heartbeat_ack_at=at))
        return number_ref(row)

    def record_status(self, number_id: int, found: FoundNumber, at: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                numbers.update()
                .where(numbers.c.id == number_id)
                .values(
                    is_on_biz_app=found.is_on_biz_app,
                    platform_type=found.platform_type,
                    throughput_level=found.throughput_level,
                    quality_rating=found.quality_rating,
                    biz_app_checked_at=at,
                )
            )
