"""The send log, and the conversation columns sending reads and writes (SendStore)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from wacoex.domain.enums import Direction, Origin
from wacoex.domain.ids import is_bsuid, phone_key
from wacoex.domain.window import free_entry_point_opens
from wacoex.errors import Conflict
from wacoex.services.send_port import ConversationTimes, SendingNumber, SendRecord, SendState, SentMark
from wacoex.store.numbers import number_ref
from wacoex.store.tables import contact_aliases, contacts, conversations, messages, numbers, sends
from wacoex.store.token_cipher import TokenCipher

_TIMES = (
    conversations.c.id,
    conversations.c.last_customer_at,
    conversations.c.window_closed_at,
    conversations.c.fep_expires_at,
    conversations.c.last_echo_at,
    conversations.c.takeover_until,
    conversations.c.takeover_released_at,
)


def _record(row: Row[Any]) -> SendRecord:
    values = dict(row._mapping)
    values["state"] = SendState(values["state"])
    values["queued"] = bool(values["queued"])
    return SendRecord(**values)


class SqlSendStore:
    def __init__(self, engine: Engine, read_engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._read = read_engine
        self._cipher = cipher  # sending needs the number's token: the only reader that decrypts it

    def _sending_number(self, row: Row[Any] | None) -> SendingNumber | None:
        if row is None:
            return None
        ref = replace(number_ref(row, self._cipher), send_rate=row.send_rate)
        return SendingNumber(ref, int(row.workspace_id), row.send_rate)

    def number(self, phone_number_id: str) -> SendingNumber | None:
        with self._read.connect() as conn:
            row = conn.execute(sa.select(numbers).where(numbers.c.phone_number_id == phone_number_id)).first()
        return self._sending_number(row)

    def number_by_id(self, number_id: int) -> SendingNumber | None:
        with self._read.connect() as conn:
            row = conn.execute(sa.select(numbers).where(numbers.c.id == number_id)).first()
        return self._sending_number(row)

    def by_key(self, workspace_id: int, key: str) -> SendRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(sends).where(sends.c.workspace_id == workspace_id, sends.c.idempotency_key == key)
            ).first()
        return _record(row) if row is not None else None

    def create(self, values: dict[str, Any]) -> SendRecord:
        try:
            with self._engine.begin() as conn:
                send_id = conn.execute(sends.insert().values(**values).returning(sends.c.id)).scalar_one()
                return _record(conn.execute(sa.select(sends).where(sends.c.id == send_id)).one())
        except sa.exc.IntegrityError as exc:
            raise Conflict("a send with this idempotency key already exists") from exc

    def get(self, send_id: int) -> SendRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(sends).where(sends.c.id == send_id)).first()
        return _record(row) if row is not None else None

    def update(self, send_id: int, values: dict[str, Any], *, when: tuple[SendState, ...] = ()) -> bool:
        stmt = sends.update().where(sends.c.id == send_id).values(**values)
        if when:
            stmt = stmt.where(sends.c.state.in_([s.value for s in when]))
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def claim_due(self, limit: int, now: int, per_number: int) -> list[SendRecord]:
        lane = (
            sa.func.row_number()
            .over(partition_by=sends.c.number_id, order_by=(sends.c.next_attempt_at, sends.c.id))
            .label("lane")
        )
        due = (
            sa.select(sends.c.id, lane)
            .where(sends.c.state == SendState.QUEUED.value, sends.c.next_attempt_at <= now)
            .subquery()
        )
        pick = sa.select(due.c.id).where(due.c.lane <= per_number).order_by(due.c.id).limit(limit)
        with self._engine.begin() as conn:
            ids = list(conn.execute(pick).scalars())
            if not ids:
                return []
            # Conditional: a send another process claimed meanwhile is not claimed twice.
            claimed = conn.execute(
                sends.update()
                .where(sends.c.id.in_(ids), sends.c.state == SendState.QUEUED.value)
                .values(state=SendState.SENDING.value, updated_at=now, attempts=sends.c.attempts + 1)
                .returning(*sends.c)
            ).all()
        return sorted((_record(r) for r in claimed), key=lambda r: (r.next_attempt_at, r.id))

    def stuck(self, state: SendState, before: int, limit: int) -> list[SendRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(sends)
                .where(sends.c.state == state.value, sends.c.updated_at < before)
                .order_by(sends.c.id)
                .limit(limit)
            ).all()
        return [_record(r) for r in rows]

    def page(
        self, workspace_id: int | None, state: SendState | None, before_id: int | None, limit: int
    ) -> list[SendRecord]:
        q = sa.select(sends).order_by(sends.c.id.desc()).limit(limit)
        if workspace_id is not None:
            q = q.where(sends.c.workspace_id == workspace_id)
        if state is not None:
            q = q.where(sends.c.state == state.value)
        if before_id is not None:
            q = q.where(sends.c.id < before_id)
        with self._read.connect() as conn:
            return [_record(r) for r in conn.execute(q).all()]

    def unreconciled(self, since: int, limit: int) -> list[SendRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(sends)
                .where(
                    sends.c.state == SendState.AMBIGUOUS.value,
                    sends.c.wamid.is_(None),
                    sends.c.created_at >= since,
                )
                .order_by(sends.c.id.desc())
                .limit(limit)
            ).all()
        return [_record(r) for r in rows]

    def unrecorded(self, before: int, limit: int) -> list[SendRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(sends)
                .where(
                    sends.c.state == SendState.SENT.value,
                    sends.c.message_id.is_(None),
                    sends.c.updated_at < before,
                )
                .order_by(sends.c.id)
                .limit(limit)
            ).all()
        return [_record(r) for r in rows]

    def conversation_times(self, number_id: int, to: str) -> ConversationTimes:
        with self._engine.connect() as conn:
            contact_id = _contact_of(conn, number_id, to)
            if contact_id is None:
                return ConversationTimes()
            row = conn.execute(
                sa.select(*_TIMES).where(
                    conversations.c.number_id == number_id, conversations.c.contact_id == contact_id
                )
            ).first()
            return _times(conn, row)

    def conversation_by_id(self, conversation_id: int) -> tuple[int, ConversationTimes] | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(conversations.c.number_id, *_TIMES).where(conversations.c.id == conversation_id)
            ).first()
            if row is None:
                return None
            return int(row.number_id), _times(conn, row)

    def set_conversation(self, conversation_id: int, values: dict[str, Any]) -> None:
        with self._engine.begin() as conn:
            conn.execute(conversations.update().where(conversations.c.id == conversation_id).values(**values))

    def message_id(self, number_id: int, wamid: str) -> int | None:
        with self._engine.connect() as conn:
            return conn.execute(
                sa.select(messages.c.id).where(messages.c.number_id == number_id, messages.c.wamid == wamid)
            ).scalar()

    def unclaimed_api_placeholders(self, number_id: int, to: str, since: int) -> list[tuple[str, int]]:
        with self._engine.connect() as conn:
            contact_id = _contact_of(conn, number_id, to)
            if contact_id is None:
                return []
            claimed = sa.select(sends.c.wamid).where(
                sends.c.number_id == number_id, sends.c.wamid.is_not(None)
            )
            rows = conn.execute(
                sa.select(messages.c.wamid, messages.c.occurred_at)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(
                    messages.c.number_id == number_id,
                    conversations.c.contact_id == contact_id,
                    messages.c.placeholder.is_(True),
                    messages.c.origin == Origin.API.value,
                    messages.c.direction == Direction.OUTBOUND.value,
                    messages.c.occurred_at >= since,
                    messages.c.wamid.not_in(claimed),
                )
                .order_by(messages.c.occurred_at)
            ).all()
        return [(r.wamid, int(r.occurred_at)) for r in rows]


def _contact_of(conn: Connection, number_id: int, to: str) -> int | None:
    if is_bsuid(to):
        return conn.execute(
            sa.select(contacts.c.id).where(contacts.c.number_id == number_id, contacts.c.user_id == to)
        ).scalar()
    key = phone_key(to)
    found = conn.execute(
        sa.select(contacts.c.id).where(contacts.c.number_id == number_id, contacts.c.phone_key == key)
    ).scalar()
    if found is None:
        found = conn.execute(
            sa.select(contact_aliases.c.contact_id).where(
                contact_aliases.c.number_id == number_id, contact_aliases.c.phone_key == key
            )
        ).scalar()
    return found


def _times(conn: Connection, row: Any) -> ConversationTimes:
    if row is None:
        return ConversationTimes()
    referral_at = conn.execute(
        sa.select(sa.func.max(messages.c.occurred_at)).where(
            messages.c.conversation_id == row.id,
            messages.c.direction == Direction.INBOUND.value,
            messages.c.origin == Origin.CUSTOMER.value,
            messages.c.referral.is_not(None),
        )
    ).scalar()
    return ConversationTimes(
        id=int(row.id),
        last_customer_at=row.last_customer_at,
        window_closed_at=row.window_closed_at,
        fep_expires_at=row.fep_expires_at,
        last_echo_at=row.last_echo_at,
        takeover_until=row.takeover_until,
        takeover_released_at=row.takeover_released_at,
        last_referral_at=referral_at,
    )


def mark_sent(conn: Connection, mark: SentMark) -> None:
    """In the transaction that recorded a sent message: the send's row, and the free entry point.

    The send gets `mark.values` and the message and conversation its wamid became. Answering a
    click-to-WhatsApp customer within 24 h of their ad message opens the 72 h free entry point
    (domain.window), unless one is already open for that message.
    """
    found = conn.execute(
        sa.select(messages.c.id, messages.c.conversation_id, messages.c.occurred_at).where(
            messages.c.number_id == mark.number_id, messages.c.wamid == mark.wamid
        )
    ).first()
    values = dict(mark.values)
    if found is not None:
        values.update(message_id=found.id, conversation_id=found.conversation_id)
    if values:
        conn.execute(sends.update().where(sends.c.id == mark.send_id).values(**values))
    if found is None or found.conversation_id is None or found.occurred_at is None:
        return
    row = conn.execute(_base_times(found.conversation_id)).first()
    times = _times(conn, row)
    fep = free_entry_point_opens(times.last_referral_at, found.occurred_at)
    if fep is not None and (
        times.fep_expires_at is None or times.fep_expires_at < (times.last_referral_at or 0)
    ):
        conn.execute(
            conversations.update()
            .where(conversations.c.id == found.conversation_id)
            .values(fep_expires_at=fep)
        )


def _base_times(conversation_id: int) -> Any:
    return sa.select(*_TIMES).where(conversations.c.id == conversation_id)
