"""SQL side of applying webhook facts (implements services.ports.IngestRepository)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.domain.ids import phone_key
from wacoex.services.ports import ConversationDelta, EventRow, ExistingMessage, MessageRow, NumberRef
from wacoex.store.dialect import insert_ignore, insert_ignore_partial
from wacoex.store.engine import now_ms
from wacoex.store.numbers import number_ref
from wacoex.store.tables import (
    account_events,
    contacts,
    conversations,
    events,
    history_phases,
    messages,
    numbers,
    unknown_items,
)

_IN_CHUNK = 500
_MESSAGE_COLUMNS = [c.name for c in messages.columns if c.name != "id"]
_MESSAGE_DEFAULTS: dict[str, Any] = {name: None for name in _MESSAGE_COLUMNS}
_MESSAGE_DEFAULTS.update(placeholder=False, edited=False, revoked=False, media_attempts=0, media_next_at=0)


class SqlIngestRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # numbers
    def number_by_phone_number_id(self, phone_number_id: str) -> NumberRef | None:
        row = self.conn.execute(
            sa.select(numbers).where(numbers.c.phone_number_id == phone_number_id)
        ).first()
        return number_ref(row) if row else None

    def numbers_by_display(self, display: str) -> list[NumberRef]:
        rows = self.conn.execute(sa.select(numbers)).all()
        key = phone_key(display)
        return [number_ref(r) for r in rows if phone_key(r.display_phone_number) == key]

    def numbers_by_waba(self, waba_id: str) -> list[NumberRef]:
        rows = self.conn.execute(sa.select(numbers).where(numbers.c.waba_id == waba_id)).all()
        return [number_ref(r) for r in rows]

    def update_number(self, number_id: int, values: dict[str, Any]) -> None:
        self.conn.execute(numbers.update().where(numbers.c.id == number_id).values(**values))

    def set_history_state(self, number_id: int, state: str, values: dict[str, Any]) -> bool:
        """Move the history import forward (none -> in_progress -> complete | declined); True if it moved.

        complete and declined are final: a late chunk or a repeated webhook changes nothing.
        """
        allowed = {
            "in_progress": ("none",),
            "complete": ("none", "in_progress"),
            "declined": ("none", "in_progress"),
        }
        result = self.conn.execute(
            numbers.update()
            .where(numbers.c.id == number_id, numbers.c.history_state.in_(allowed[state]))
            .values(history_state=state, **values)
            .returning(numbers.c.id)
        )
        return result.first() is not None

    # contacts and conversations
    def resolve_contact(
        self,
        number_id: int,
        *,
        wa_id: str | None,
        user_id: str | None,
        profile_name: str | None,
        at: int,
        reported: bool = False,
    ) -> int:
        """One contact per person: BSUID first, then the normalised phone; fills in what was missing.

        `reported` marks a wa_id WhatsApp itself reported for this person (an inbound `from`, a
        `contacts[].wa_id`, a status `recipient_id`): that spelling is the one to keep for sending.
        When a BSUID and a phone number that were known as two contacts turn out to be one person,
        the two are merged (conversations and messages move to the older contact).
        """
        key = phone_key(wa_id) if wa_id else None
        by_user = self._contact_by(number_id, contacts.c.user_id, user_id) if user_id else None
        by_phone = self._contact_by(number_id, contacts.c.phone_key, key) if key else None
        if by_user is not None and by_phone is not None and by_user.id != by_phone.id:
            keep, drop = sorted((by_user, by_phone), key=lambda r: r.id)
            self._merge_contacts(keep, drop, at)
            row = self._contact_by(number_id, contacts.c.id, keep.id)
        else:
            row = by_user if by_user is not None else by_phone
        if row is None:
            values = {
                "number_id": number_id,
                "wa_id": wa_id,
                "phone_key": key,
                "user_id": user_id,
                "profile_name": profile_name,
                "profile_name_at": at if profile_name else None,
                "book_removed": False,
                "created_at": at,
                "updated_at": at,
            }
            where = "user_id IS NOT NULL" if user_id else "phone_key IS NOT NULL"
            index = ["number_id", "user_id"] if user_id else ["number_id", "phone_key"]
            stmt = insert_ignore_partial(self.conn, contacts, index, where).values(**values)
            # rowcount is not reliable for ON CONFLICT DO NOTHING on every driver; RETURNING is.
            inserted = self.conn.execute(stmt.returning(contacts.c.id)).first()
            if inserted is not None:
                return int(inserted[0])
            return self.resolve_contact(
                number_id, wa_id=wa_id, user_id=user_id, profile_name=profile_name, at=at, reported=reported
            )
        assert row is not None
        updates: dict[str, Any] = {}
        if user_id and not row.user_id:
            updates["user_id"] = user_id
        if key and not row.phone_key:
            updates.update(phone_key=key, wa_id=wa_id)
        elif reported and wa_id and row.wa_id != wa_id and key == row.phone_key:
            # Keep the spelling WhatsApp reports (e.g. Brazil's 13-digit form), not the address book's.
            updates["wa_id"] = wa_id
        if profile_name and profile_name != row.profile_name and at >= (row.profile_name_at or 0):
            updates.update(profile_name=profile_name, profile_name_at=at)
        if updates:
            updates["updated_at"] = at
            self.conn.execute(contacts.update().where(contacts.c.id == row.id).values(**updates))
        return int(row.id)

    def _contact_by(self, number_id: int, column: Any, value: Any) -> Any:
        return self.conn.execute(
            sa.select(contacts).where(contacts.c.number_id == number_id, column == value)
        ).first()

    def _merge_contacts(self, keep: Any, drop: Any, at: int) -> None:
        """Fold contact `drop` into `keep`: identities, names, the conversation and its messages."""
        c = conversations.c
        keep_conv = self.conn.execute(sa.select(conversations).where(c.contact_id == keep.id)).first()
        drop_conv = self.conn.execute(sa.select(conversations).where(c.contact_id == drop.id)).first()
        if drop_conv is not None and keep_conv is None:
            self.conn.execute(conversations.update().where(c.id == drop_conv.id).values(contact_id=keep.id))
        elif drop_conv is not None and keep_conv is not None:
            self.conn.execute(
                messages.update()
                .where(messages.c.conversation_id == drop_conv.id)
                .values(conversation_id=keep_conv.id)
            )
            merged: dict[str, Any] = {}
            for col in (
                "last_message_at",
                "last_live_at",
                "last_customer_at",
                "window_expires_at",
                "last_echo_at",
            ):
                vals = [v for v in (keep_conv._mapping[col], drop_conv._mapping[col]) if v is not None]
                merged[col] = max(vals) if vals else None
            for col in ("unread_count", "message_count", "history_count"):
                merged[col] = keep_conv._mapping[col] + drop_conv._mapping[col]
            self.conn.execute(conversations.update().where(c.id == keep_conv.id).values(**merged))
            self.conn.execute(conversations.delete().where(c.id == drop_conv.id))
        fill = {
            col: drop._mapping[col]
            for col in (
                "wa_id",
                "phone_key",
                "user_id",
                "profile_name",
                "profile_name_at",
                "book_full_name",
                "book_first_name",
                "book_updated_at",
                "operator_name",
            )
            if keep._mapping[col] is None and drop._mapping[col] is not None
        }
        # Free the unique identities before giving them to the kept contact.
        self.conn.execute(
            contacts.update().where(contacts.c.id == drop.id).values(user_id=None, phone_key=None)
        )
        if fill:
            fill["updated_at"] = at
            self.conn.execute(contacts.update().where(contacts.c.id == keep.id).values(**fill))
        self.conn.execute(contacts.delete().where(contacts.c.id == drop.id))

    def conversation_for(self, number_id: int, contact_id: int) -> int:
        found = self.conn.execute(
            sa.select(conversations.c.id).where(
                conversations.c.number_id == number_id, conversations.c.contact_id == contact_id
            )
        ).scalar()
        if found is not None:
            return int(found)
        self.conn.execute(
            insert_ignore(self.conn, conversations, ["number_id", "contact_id"]).values(
                number_id=number_id,
                contact_id=contact_id,
                unread_count=0,
                message_count=0,
                history_count=0,
                created_at=now_ms(),
            )
        )
        return self.conversation_for(number_id, contact_id)

    def apply_book_entry(
        self,
        number_id: int,
        contact_id: int,
        *,
        action: str,
        full_name: str | None,
        first_name: str | None,
        changed_at: int,
        at: int,
    ) -> bool:
        """Newest address-book change wins (by metadata.timestamp); remove clears only the book name.

        Returns whether anything changed, so a repeated webhook records no second event.
        """
        row = self.conn.execute(
            sa.select(
                contacts.c.book_full_name,
                contacts.c.book_first_name,
                contacts.c.book_removed,
                contacts.c.book_updated_at,
            ).where(contacts.c.id == contact_id)
        ).one()
        if action == "remove":
            values: dict[str, Any] = {"book_full_name": None, "book_first_name": None, "book_removed": True}
        else:
            values = {"book_full_name": full_name, "book_first_name": first_name, "book_removed": False}
        current = {
            "book_full_name": row.book_full_name,
            "book_first_name": row.book_first_name,
            "book_removed": bool(row.book_removed),
        }
        if row.book_updated_at is not None and (
            changed_at < row.book_updated_at or (changed_at == row.book_updated_at and values == current)
        ):
            return False
        self.conn.execute(
            contacts.update()
            .where(contacts.c.id == contact_id)
            .values(**values, book_updated_at=changed_at, updated_at=at)
        )
        return values != current

    # messages
    def existing_messages(self, number_id: int, wamids: Sequence[str]) -> dict[str, ExistingMessage]:
        found: dict[str, ExistingMessage] = {}
        m = messages.c
        cols = [
            m.id,
            m.wamid,
            m.conversation_id,
            m.origin,
            m.direction,
            m.type,
            m.status,
            m.placeholder,
            m.pending_edit,
            m.reactions,
            m.occurred_at,
            m.revoked,
            m.edited_at,
        ]
        for i in range(0, len(wamids), _IN_CHUNK):
            part = wamids[i : i + _IN_CHUNK]
            for r in self.conn.execute(sa.select(*cols).where(m.number_id == number_id, m.wamid.in_(part))):
                found[r.wamid] = ExistingMessage(
                    id=r.id,
                    conversation_id=r.conversation_id,
                    origin=r.origin,
                    direction=r.direction,
                    type=r.type,
                    status=r.status,
                    placeholder=bool(r.placeholder),
                    pending_edit=r.pending_edit,
                    reactions=r.reactions,
                    occurred_at=r.occurred_at,
                    revoked=bool(r.revoked),
                    edited_at=r.edited_at,
                )
        return found

    def insert_messages(self, rows: Sequence[MessageRow]) -> dict[str, int]:
        if not rows:
            return {}
        full = [{**_MESSAGE_DEFAULTS, **row} for row in rows]
        self.conn.execute(messages.insert(), full)
        number_id = full[0]["number_id"]
        wamids = [r["wamid"] for r in full]
        ids: dict[str, int] = {}
        for i in range(0, len(wamids), _IN_CHUNK):
            part = wamids[i : i + _IN_CHUNK]
            q = sa.select(messages.c.wamid, messages.c.id).where(
                messages.c.number_id == number_id, messages.c.wamid.in_(part)
            )
            ids.update({w: int(i_) for w, i_ in self.conn.execute(q)})
        return ids

    def update_message(self, message_id: int, values: dict[str, Any]) -> None:
        self.conn.execute(messages.update().where(messages.c.id == message_id).values(**values))

    def apply_conversation_deltas(self, deltas: dict[int, ConversationDelta]) -> None:
        c = conversations.c
        for conv_id, d in deltas.items():
            values: dict[str, Any] = {}
            for col, val in (
                ("last_message_at", d.last_message_at),
                ("last_live_at", d.last_live_at),
                ("last_customer_at", d.last_customer_at),
                ("last_echo_at", d.last_echo_at),
            ):
                if val is not None:
                    column = c[col]
                    values[col] = sa.case((column.is_(None), val), (column < val, val), else_=column)
            if d.last_customer_at is not None:
                expiry = d.last_customer_at + 24 * 3600 * 1000
                values["window_expires_at"] = sa.case(
                    (c.window_expires_at.is_(None), expiry),
                    (c.window_expires_at < expiry, expiry),
                    else_=c.window_expires_at,
                )
            if d.added_messages:
                values["message_count"] = c.message_count + d.added_messages
            if d.added_history:
                values["history_count"] = c.history_count + d.added_history
            if d.reset_unread:
                values["unread_count"] = 0
            elif d.added_unread:
                values["unread_count"] = c.unread_count + d.added_unread
            if values:
                self.conn.execute(conversations.update().where(c.id == conv_id).values(**values))

    def record_events(self, rows: Iterable[EventRow], at: int) -> None:
        batch = [
            {
                "number_id": e.number_id,
                "type": e.type,
                "conversation_id": e.conversation_id,
                "message_id": e.message_id,
                "payload": e.payload,
                "created_at": at,
            }
            for e in rows
        ]
        if batch:
            self.conn.execute(events.insert(), batch)

    # history and lifecycle
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
    ) -> bool:
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
        return result.first() is not None

    def record_unknown(
        self, receipt_id: int, field: str | None, phone_number_id: str | None, reason: str, raw: Any, at: int
    ) -> None:
        self.conn.execute(
            unknown_items.insert().values(
                receipt_id=receipt_id,
                field=field,
                phone_number_id=phone_number_id,
                reason=reason,
                raw=raw,
                created_at=at,
            )
        )
