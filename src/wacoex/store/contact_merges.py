"""Contacts when identities collide: two contacts found to be one person, a customer's new number.

Rare and rewriting many rows (conversations, messages, events, aliases), so it runs statement by
statement on the transaction's connection; `store.apply_batch` writes what it holds back first and
forgets what it read afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.domain.contacts import contact_updates
from wacoex.domain.ids import phone_key
from wacoex.store.dialect import insert_ignore, insert_ignore_partial
from wacoex.store.tables import contact_aliases, contacts, conversations, events, messages

_B = sa.bindparam
_k = contacts.c
_CONTACT_BY = {
    col: sa.select(contacts).where(_k.number_id == _B("number_id"), _k[col] == _B("value"))
    for col in ("id", "user_id", "phone_key")
}
_a = contact_aliases.c


def _or_by_alias(select: Any, param: str) -> Any:
    """`select` of contacts, plus the contact who had the number :param before a number change.

    One round trip: looking the alias up only after a miss would cost every new contact a second
    query (+10% statements applying a receipt of new customers). `via_alias` tells the rows apart.
    """
    by_alias = (
        sa.select(contacts, sa.literal(True).label("via_alias"))
        .join(contact_aliases, _a.contact_id == _k.id)
        .where(_a.number_id == _B("number_id"), _a.phone_key == _B(param))
    )
    return sa.union_all(select.add_columns(sa.literal(False).label("via_alias")), by_alias)


_CONTACT_BY_PHONE = _or_by_alias(
    sa.select(contacts).where(_k.number_id == _B("number_id"), _k.phone_key == _B("value")), "value"
)
_CONTACT_BY_EITHER = _or_by_alias(
    sa.select(contacts).where(
        _k.number_id == _B("number_id"), sa.or_(_k.user_id == _B("user_id"), _k.phone_key == _B("phone_key"))
    ),
    "phone_key",
)
_PREBUILT: dict[tuple[str, ...], Any] = {}


class SqlContacts:
    """One contact per person, over one transaction. `merges` counts contacts merged away."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # conversations merged away in this transaction -> the conversation they were merged into
        self.conversation_aliases: dict[int, int] = {}
        self.merges = 0

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
        """As BatchRepository.resolve_contact, on the database; here a BSUID and a phone number known
        as two contacts are merged (conversations and messages move to the older contact)."""
        key = phone_key(wa_id) if wa_id else None
        if user_id and key:
            # One query for both identities (they may still be two contacts, merged below).
            by_user = by_phone = by_alias = None
            for found in self.conn.execute(
                _CONTACT_BY_EITHER, {"number_id": number_id, "user_id": user_id, "phone_key": key}
            ):
                if found.via_alias:
                    by_alias = found
                    continue
                if found.user_id == user_id:
                    by_user = found
                if found.phone_key == key:
                    by_phone = found
            by_phone = by_phone if by_phone is not None else by_alias
        else:
            by_user = self._contact_by(number_id, contacts.c.user_id, user_id) if user_id else None
            by_phone = self._contact_by_phone(number_id, key) if key else None
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
            by = "user_id" if user_id else "phone_key"
            stmt = self._prebuilt(
                ("contact", by),
                lambda: (
                    insert_ignore_partial(self.conn, contacts, ["number_id", by], f"{by} IS NOT NULL")
                    .values({k: _B(k) for k in values})
                    .returning(contacts.c.id)
                ),
            )
            # rowcount is not reliable for ON CONFLICT DO NOTHING on every driver; RETURNING is.
            inserted = self.conn.execute(stmt, values).first()
            if inserted is not None:
                return int(inserted[0])
            return self.resolve_contact(
                number_id, wa_id=wa_id, user_id=user_id, profile_name=profile_name, at=at, reported=reported
            )
        assert row is not None
        updates = contact_updates(
            row, wa_id=wa_id, key=key, user_id=user_id, profile_name=profile_name, at=at, reported=reported
        )
        if updates:
            self.conn.execute(contacts.update().where(contacts.c.id == row.id).values(**updates))
        return int(row.id)

    def _prebuilt(self, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
        """A dialect-specific statement (ON CONFLICT needs the dialect), built once per process."""
        full_key = (self.conn.dialect.name, *key)
        stmt = _PREBUILT.get(full_key)
        if stmt is None:
            stmt = _PREBUILT[full_key] = build()
        return stmt

    def _contact_by(self, number_id: int, column: Any, value: Any) -> Any:
        return self.conn.execute(_CONTACT_BY[column.name], {"number_id": number_id, "value": value}).first()

    def _contact_by_phone(self, number_id: int, key: str) -> Any:
        """The contact whose number this is now, else the one who had it before a number change."""
        rows = self.conn.execute(_CONTACT_BY_PHONE, {"number_id": number_id, "value": key}).all()
        return min(rows, key=lambda r: bool(r.via_alias), default=None)

    def _add_aliases(
        self, number_id: int, contact_id: int, numbers_: Iterable[tuple[str, str | None]], at: int
    ) -> None:
        rows = [
            {
                "number_id": number_id,
                "phone_key": key,
                "contact_id": contact_id,
                "wa_id": wa_id,
                "created_at": at,
            }
            for key, wa_id in numbers_
        ]
        if rows:
            stmt = self._prebuilt(
                ("alias",), lambda: insert_ignore(self.conn, contact_aliases, ["number_id", "phone_key"])
            )
            self.conn.execute(stmt, rows)

    def change_number(
        self, number_id: int, *, old_wa_id: str | None, user_id: str | None, new_wa_id: str, at: int
    ) -> int:
        """The customer moved to `new_wa_id` (a system `user_changed_number`): one contact stays.

        The contacts found by the old number (or the BSUID) and by the new one, if they are two, are
        merged. The newest change by Meta's time sets the contact's number, so an older change that
        arrives late cannot undo a newer one; every other number the person had becomes an alias.
        """
        old_key = phone_key(old_wa_id) if old_wa_id else None
        new_key = phone_key(new_wa_id)
        found: dict[int, Any] = {}
        for row in (
            self._contact_by(number_id, contacts.c.user_id, user_id) if user_id else None,
            self._contact_by_phone(number_id, old_key) if old_key else None,
            self._contact_by_phone(number_id, new_key),
        ):
            if row is not None:
                found[row.id] = row
        if not found:
            created = self.resolve_contact(
                number_id, wa_id=new_wa_id, user_id=user_id, profile_name=None, at=at, reported=True
            )
            found[created] = self._contact_by(number_id, contacts.c.id, created)
        rows = sorted(found.values(), key=lambda r: r.id)
        # (changed at, phone key, wa_id): this change first, so that it wins a tie (a replay).
        claims = [(at, new_key, new_wa_id)] + [
            (r.phone_changed_at, r.phone_key, r.wa_id) for r in rows if r.phone_key
        ]
        changed_at, current_key, current_wa_id = max(claims, key=lambda c: -1 if c[0] is None else c[0])
        keep = rows[0]
        for drop in rows[1:]:
            self._merge_contacts(keep, drop, at)
            keep = self._contact_by(number_id, contacts.c.id, keep.id)
        self.conn.execute(
            contact_aliases.delete().where(
                contact_aliases.c.number_id == number_id, contact_aliases.c.phone_key == current_key
            )
        )
        if (keep.phone_key, keep.wa_id, keep.phone_changed_at) != (current_key, current_wa_id, changed_at):
            self.conn.execute(
                contacts.update()
                .where(contacts.c.id == keep.id)
                .values(
                    phone_key=current_key, wa_id=current_wa_id, phone_changed_at=changed_at, updated_at=at
                )
            )
        retired = {key: wa_id for _, key, wa_id in claims if key != current_key}
        if old_key and old_key != current_key:
            retired.setdefault(old_key, old_wa_id)
        self._add_aliases(number_id, int(keep.id), retired.items(), at)
        return int(keep.id)

    def _merge_contacts(self, keep: Any, drop: Any, at: int) -> None:
        """Fold contact `drop` into `keep`: identities, names, the conversation and its messages."""
        self.merges += 1
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
            self.conn.execute(
                events.update()
                .where(events.c.conversation_id == drop_conv.id)
                .values(conversation_id=keep_conv.id)
            )
            self.conn.execute(conversations.delete().where(c.id == drop_conv.id))
            self.conversation_aliases[int(drop_conv.id)] = int(keep_conv.id)
        # Every number either contact had keeps reaching the person.
        self.conn.execute(
            contact_aliases.update().where(contact_aliases.c.contact_id == drop.id).values(contact_id=keep.id)
        )
        if drop.phone_key and keep.phone_key and drop.phone_key != keep.phone_key:
            self._add_aliases(drop.number_id, int(keep.id), [(drop.phone_key, drop.wa_id)], at)
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
        if "phone_key" in fill and drop.phone_changed_at is not None:
            fill["phone_changed_at"] = drop.phone_changed_at
        # Free the unique identities before giving them to the kept contact.
        self.conn.execute(
            contacts.update().where(contacts.c.id == drop.id).values(user_id=None, phone_key=None)
        )
        if fill:
            fill["updated_at"] = at
            self.conn.execute(contacts.update().where(contacts.c.id == keep.id).values(**fill))
        self.conn.execute(contacts.delete().where(contacts.c.id == drop.id))
