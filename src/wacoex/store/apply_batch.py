"""Applying a batch set-wise: reads gathered up front, writes held back and written together.

`BatchRepository` implements services.ports.IngestRepository over one transaction. A batch's
numbers, contacts, conversations and messages are read with one query per kind (`prefetch`);
what the services then read comes from that state (a miss is read when asked, and remembered);
what they write changes the state at once and is written at `flush`: one executemany per table
and per shape of update, in an order that keeps every foreign key satisfied. Ids of new rows are
allocated up front (`store.row_ids`), so events and later facts can point at rows not written yet.

The state is authoritative because nobody else can change those rows meanwhile: SQLite's apply
transaction holds the write lock from its first statement (BEGIN IMMEDIATE), and on PostgreSQL
the contacts and messages read are locked (FOR UPDATE, in id order). A row another worker inserts
meanwhile makes a plain INSERT fail on its unique key: the caller rolls back, `reset`s, and applies
the batch again receipt by receipt.

The rare writes that rewrite many rows (merging two contacts, a number change) write what is
pending, run on `store.contact_merges`, and forget the state they may have changed. A number's own
records (state, history progress, account events) are written at once by `store.number_records`:
nothing pending refers to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from wacoex.domain.contacts import contact_updates
from wacoex.domain.enums import STATUS_RANK
from wacoex.domain.ids import phone_key
from wacoex.domain.lifecycle import StateMove
from wacoex.services.ports import (
    ConversationDelta,
    EventRow,
    MessageRow,
)
from wacoex.store import batch_reads as reads
from wacoex.store import batch_sql as sql
from wacoex.store.batch_state import BatchState
from wacoex.store.contact_merges import SqlContacts
from wacoex.store.message_text import stored_row
from wacoex.store.number_records import SqlNumberRecords
from wacoex.store.row_ids import RowIds

_RANK = {status.value: rank for status, rank in STATUS_RANK.items()}


class BatchRepository(BatchState, SqlNumberRecords):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self._merge = SqlContacts(conn)
        self.conversation_aliases = self._merge.conversation_aliases
        self._ids = RowIds(conn)
        self._deferred = False
        self._clear_pending()

    @property
    def merges(self) -> int:
        return self._merge.merges

    def _clear_pending(self) -> None:
        self._new_contacts: dict[int, dict[str, Any]] = {}
        self._contact_updates: dict[int, dict[str, Any]] = {}
        self._new_conversations: list[dict[str, Any]] = []
        self._new_messages: dict[int, dict[str, Any]] = {}
        self._message_updates: dict[int, dict[str, Any]] = {}
        self._status_writes: dict[int, dict[str, Any]] = {}
        self._deltas: dict[int, ConversationDelta] = {}
        self._events: list[dict[str, Any]] = []
        self._unknowns: list[dict[str, Any]] = []

    def defer(self, deferred: bool) -> None:
        self._deferred = deferred

    def settle(self) -> None:
        if not self._deferred:
            self.flush()

    def reset(self) -> None:
        self._clear_pending()
        self._forget()
        self._ids.reset()

    def _merging(self) -> SqlContacts:
        """Write what is pending and forget what was read: contacts are about to be rewritten."""
        self.flush()
        self._forget()
        self._ids.reset()
        return self._merge

    # -- contacts and conversations --------------------------------------------------------------

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
        A BSUID and a phone number known as two contacts are one person: merged (contact_merges).
        """
        key = phone_key(wa_id) if wa_id else None
        self._read_contacts(number_id, [user_id] if user_id else [], [key] if key else [])
        by_user = self._by(self._by_user, number_id, user_id) if user_id else None
        by_phone = None
        if key:
            by_phone = self._by(self._by_phone, number_id, key) or self._by(self._by_alias, number_id, key)
        if by_user is not None and by_phone is not None and by_user.id != by_phone.id:
            return self._merging().resolve_contact(
                number_id, wa_id=wa_id, user_id=user_id, profile_name=profile_name, at=at, reported=reported
            )
        row = by_user if by_user is not None else by_phone
        if row is None:
            return self._new_contact(number_id, wa_id, key, user_id, profile_name, at)
        updates = contact_updates(
            row, wa_id=wa_id, key=key, user_id=user_id, profile_name=profile_name, at=at, reported=reported
        )
        if updates:
            self._update_contact(row, updates)
        return row.id

    def _new_contact(
        self,
        number_id: int,
        wa_id: str | None,
        key: str | None,
        user_id: str | None,
        profile_name: str | None,
        at: int,
    ) -> int:
        contact_id = self._ids.next("contacts")
        values = sql.new_contact(contact_id, number_id, wa_id, key, user_id, profile_name, at)
        self._new_contacts[contact_id] = values
        self._remember_contact(reads.ContactState.of(values))
        self._conversations[(number_id, contact_id)] = None
        return contact_id

    def _update_contact(self, row: reads.ContactState, updates: dict[str, Any]) -> None:
        row.absorb(updates)
        self._remember_contact(row)
        target = self._new_contacts.get(row.id)
        if target is None:
            target = self._contact_updates.setdefault(row.id, {})
        target.update(updates)

    def change_number(
        self, number_id: int, *, old_wa_id: str | None, user_id: str | None, new_wa_id: str, at: int
    ) -> int:
        return self._merging().change_number(
            number_id, old_wa_id=old_wa_id, user_id=user_id, new_wa_id=new_wa_id, at=at
        )

    def conversation_for(self, number_id: int, contact_id: int, at: int) -> int:
        key = (number_id, contact_id)
        if key not in self._conversations:
            self.statements += 1
            self._conversations[key] = reads.conversations_of(self.conn, number_id, [contact_id]).get(
                contact_id
            )
        found = self._conversations[key]
        if found is not None:
            return found
        # Never the id of a conversation merged away in this transaction (SQLite would reuse it): the
        # services still map that id to the one it was merged into.
        conversation_id = self._ids.next("conversations", above=max(self.conversation_aliases, default=0))
        self._new_conversations.append(sql.new_conversation(conversation_id, number_id, contact_id, at))
        self._conversations[key] = conversation_id
        return conversation_id

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
        row = self._contacts.get(contact_id) or self._read_contact(contact_id)
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
        self._update_contact(row, {**values, "book_updated_at": changed_at, "updated_at": at})
        return values != current

    # -- messages -------------------------------------------------------------------------------

    def _add_message(self, row: MessageRow) -> int:
        message_id = self._ids.next("messages")
        full = sql.full_message(message_id, row)
        self._new_messages[message_id] = full
        message = sql.existing_of(full)
        self._messages[(full["number_id"], full["wamid"])] = message
        self._message_by_id[message_id] = message
        return message_id

    def insert_messages(self, rows: Sequence[MessageRow], *, want_ids: bool = True) -> dict[str, int]:
        return {row["wamid"]: self._add_message(row) for row in rows}

    def insert_placeholder(self, row: MessageRow) -> int | None:
        if self.existing_messages(row["number_id"], [row["wamid"]]):
            return None
        return self._add_message(row)

    def _write_message(self, message_id: int, values: dict[str, Any]) -> None:
        new = self._new_messages.get(message_id)
        if new is not None:
            new.update(values)
            return
        pending = self._message_updates.setdefault(message_id, {})
        if "status" in values and message_id in self._status_writes:
            # A later plain write of the status wins over a conditional one held back before it.
            held = self._status_writes.pop(message_id)
            held.pop("below")
            pending.update(held)
        pending.update(values)

    def update_message(self, message_id: int, values: dict[str, Any]) -> None:
        message = self._message_by_id.get(message_id) or self._read_message(message_id)
        sql.absorb(message, values)
        self._write_message(message_id, values)

    def advance_status(
        self, message_id: int, status: str, status_at: int | None, below: int, errors: Any = None
    ) -> bool:
        message = self._message_by_id.get(message_id) or self._read_message(message_id)
        if message.status is not None and below <= _RANK.get(message.status, 0):
            return False
        message.status = status
        values: dict[str, Any] = {"status": status, "status_at": status_at}
        if errors is not None:
            values["errors"] = errors
        pending = self._message_updates.get(message_id)
        if message_id in self._new_messages or (pending is not None and "status" in pending):
            self._write_message(message_id, values)
        else:
            held = self._status_writes.setdefault(message_id, {})
            if errors is None:
                held.pop("errors", None)
            held.update(values, below=below)
        return True

    # -- what a batch adds up ---------------------------------------------------------------------

    def apply_conversation_deltas(self, deltas: dict[int, ConversationDelta]) -> None:
        for conversation_id, delta in deltas.items():
            mine = self._deltas.get(conversation_id)
            if mine is None:
                self._deltas[conversation_id] = mine = ConversationDelta()
            mine.absorb(delta)

    def record_events(self, events: Iterable[EventRow], at: int) -> None:
        self._events.extend(sql.event_row(e, at) for e in events)

    def record_unknown(
        self, receipt_id: int, field: str | None, phone_number_id: str | None, reason: str, raw: Any, at: int
    ) -> None:
        self._unknowns.append(sql.unknown_row(receipt_id, field, phone_number_id, reason, raw, at))

    # A number's records (history progress, states, account events) are written at once by
    # SqlNumberRecords: nothing pending refers to them. A state change makes the numbers read stale.

    def move_number_state(
        self, number_id: int, state: str, reason: str | None, initiated_by: str | None, changed_at: int
    ) -> StateMove:
        self._numbers.clear()
        return super().move_number_state(number_id, state, reason, initiated_by, changed_at)

    # -- the writes ---------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything pending, parents before children; a statement per table and shape."""
        conn = self.conn
        self.statements += sql.insert_rows(conn, "contacts", list(self._new_contacts.values()))
        self.statements += sql.update_rows(conn, "contacts", self._contact_updates)
        self.statements += sql.insert_rows(conn, "conversations", self._new_conversations)
        new_messages = [stored_row(row) for row in self._new_messages.values()]
        self.statements += sql.insert_rows(conn, "messages", new_messages)
        changes = {row_id: stored_row(values) for row_id, values in self._message_updates.items()}
        self.statements += sql.update_rows(conn, "messages", changes)
        self.statements += sql.advance_statuses(conn, self._status_writes)
        self.statements += sql.apply_deltas(conn, self._deltas)
        self.statements += sql.insert_rows(conn, "events", self._events)
        self.statements += sql.insert_rows(conn, "unknown_items", self._unknowns)
        self._clear_pending()
