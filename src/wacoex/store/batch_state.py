"""What a batch has read: numbers, contacts, conversations and messages, each looked up once.

`prefetch` reads what a batch's facts name, one query per kind (store.batch_reads); a miss is read
when asked and remembered, "not there" included. `store.apply_batch` writes through this state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import copy
from typing import Any

from sqlalchemy.engine import Connection

from wacoex.domain.ids import phone_key
from wacoex.services.ports import ExistingMessage, Lookups, NumberRef
from wacoex.store import batch_reads as reads


class BatchState:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.statements = 0  # statements this repository executed itself (for benchmarks)
        self._forget()

    # -- state ----------------------------------------------------------------------------------

    def _forget(self) -> None:
        """Drop everything read (not what is pending)."""
        self._numbers: dict[str, NumberRef | None] = {}
        self._contacts: dict[int, reads.ContactState] = {}
        self._by_user: dict[tuple[int, str], int | None] = {}
        self._by_phone: dict[tuple[int, str], int | None] = {}
        self._by_alias: dict[tuple[int, str], int | None] = {}
        self._conversations: dict[tuple[int, int], int | None] = {}
        self._messages: dict[tuple[int, str], ExistingMessage | None] = {}
        self._message_by_id: dict[int, ExistingMessage] = {}

    # -- reads ----------------------------------------------------------------------------------

    def prefetch(self, lookups: Lookups) -> None:
        missing = [p for p in lookups if p not in self._numbers]
        if missing:
            self._read_numbers(missing)
        for pnid, keys in lookups.items():
            number = self._numbers.get(pnid)
            if number is None:
                continue
            phones = {phone_key(p) for p in keys.phones}
            phones.discard("")
            self._read_contacts(number.id, keys.user_ids, phones)
            self._read_messages(number.id, keys.wamids)

    def _read_numbers(self, pnids: Sequence[str]) -> None:
        self.statements += 1
        found = reads.numbers_by_pnid(self.conn, pnids)
        for pnid in pnids:
            self._numbers[pnid] = found.get(pnid)

    def _read_contacts(self, number_id: int, user_ids: Iterable[str], phones: Iterable[str]) -> None:
        users = [u for u in user_ids if (number_id, u) not in self._by_user]
        keys = [k for k in phones if (number_id, k) not in self._by_phone]
        if not users and not keys:
            return
        rows, aliases, self_statements = reads.contacts_by(self.conn, number_id, users, keys)
        self.statements += self_statements
        for row in rows:
            # A contact the batch already holds is newer in memory (changes not written yet) than
            # the row just read: keep it.
            self._remember_contact(self._contacts.get(row.id, row))
        for key, contact_id in aliases.items():
            self._by_alias[(number_id, key)] = contact_id
        for u in users:
            self._by_user.setdefault((number_id, u), None)
        for k in keys:
            self._by_phone.setdefault((number_id, k), None)
            self._by_alias.setdefault((number_id, k), None)
        fresh = [r.id for r in rows if (number_id, r.id) not in self._conversations]
        if fresh:
            self.statements += 1
            found = reads.conversations_of(self.conn, number_id, fresh)
            for contact_id in fresh:
                self._conversations[(number_id, contact_id)] = found.get(contact_id)

    def _remember_contact(self, row: reads.ContactState) -> None:
        self._contacts[row.id] = row
        if row.user_id:
            self._by_user[(row.number_id, row.user_id)] = row.id
        if row.phone_key:
            self._by_phone[(row.number_id, row.phone_key)] = row.id

    def _read_messages(self, number_id: int, wamids: Iterable[str]) -> None:
        wanted = [w for w in wamids if (number_id, w) not in self._messages]
        if not wanted:
            return
        found, statements = reads.messages_by_wamid(self.conn, number_id, wanted)
        self.statements += statements
        for wamid in wanted:
            message = found.get(wamid)
            self._messages[(number_id, wamid)] = message
            if message is not None:
                self._message_by_id[message.id] = message

    def _read_contact(self, contact_id: int) -> reads.ContactState:
        """A contact the services know by id only (read in an earlier transaction)."""
        self.statements += 1
        row = reads.contact_by_id(self.conn, contact_id)
        if row is None:
            raise LookupError(f"contact {contact_id} does not exist")
        self._remember_contact(row)
        return row

    def _read_message(self, message_id: int) -> ExistingMessage:
        self.statements += 1
        found = reads.message_by_id(self.conn, message_id)
        if found is None:
            raise LookupError(f"message {message_id} does not exist")
        number_id, wamid, message = found
        self._messages[(number_id, wamid)] = message
        self._message_by_id[message_id] = message
        return message

    def number_by_phone_number_id(self, phone_number_id: str) -> NumberRef | None:
        if phone_number_id not in self._numbers:
            self._read_numbers([phone_number_id])
        return self._numbers[phone_number_id]

    def existing_messages(self, number_id: int, wamids: Sequence[str]) -> dict[str, ExistingMessage]:
        self._read_messages(number_id, wamids)
        found: dict[str, ExistingMessage] = {}
        for wamid in wamids:
            message = self._messages[(number_id, wamid)]
            if message is not None:
                # A snapshot, as a read from the database is: writes change the batch's own copy.
                found[wamid] = copy(message)
        return found

    def _by(self, index: dict[tuple[int, str], int | None], number_id: int, value: str) -> Any:
        contact_id = index.get((number_id, value))
        return None if contact_id is None else self._contacts[contact_id]
