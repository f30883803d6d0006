"""SQL side of applying webhook facts (implements services.ports.IngestRepository)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.domain import limits
from wacoex.domain.enums import STATUS_RANK
from wacoex.domain.ids import phone_key
from wacoex.services.ports import (
    ConversationDelta,
    EventRow,
    ExistingMessage,
    Lookups,
    MessageRow,
    NumberRef,
)
from wacoex.store.dialect import insert_ignore, insert_ignore_partial
from wacoex.store.engine import now_ms
from wacoex.store.numbers import number_ref
from wacoex.store.tables import (
    account_events,
    contact_aliases,
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

# Statements built once: applying webhooks runs them thousands of times a second, and building a
# Core statement (coercion, cache key) costs far more than executing it (docs/benchmarks.md).
_B = sa.bindparam
_m, _k, _cv = messages.c, contacts.c, conversations.c
_EXISTING = sa.select(
    _m.id,
    _m.wamid,
    _m.conversation_id,
    _m.origin,
    _m.direction,
    _m.type,
    _m.status,
    _m.placeholder,
    _m.pending_edit,
    _m.reactions,
    _m.occurred_at,
    _m.revoked,
    _m.edited_at,
    _m.reactions_at,
).where(_m.number_id == _B("number_id"), _m.wamid.in_(_B("wamids", expanding=True)))
_INSERT_MESSAGES = messages.insert().returning(_m.wamid, _m.id)
_RAW_INSERT: dict[str, str] = {}
_PREBUILT: dict[tuple[str, ...], Any] = {}
_JSON_COLUMNS = frozenset(c.name for c in messages.columns if isinstance(c.type, sa.JSON))
_PICK_COLUMNS = operator.itemgetter(*_MESSAGE_COLUMNS)
_JSON_POSITIONS = [i for i, name in enumerate(_MESSAGE_COLUMNS) if name in _JSON_COLUMNS]
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
_CONVERSATION_ID = sa.select(_cv.id).where(
    _cv.number_id == _B("number_id"), _cv.contact_id == _B("contact_id")
)
_NUMBER_BY_PNID = sa.select(numbers).where(numbers.c.phone_number_id == _B("pnid"))
_INSERT_EVENTS = events.insert()


def _newest(column: Any, param: str) -> Any:
    """SET column = the larger of column and :param, where either may be NULL."""
    value = sa.cast(_B(param), sa.BigInteger)
    return sa.case(
        (value.is_(None), column), (column.is_(None), value), (column < value, value), else_=column
    )


_CONVERSATION_DELTA = (
    conversations.update()
    .where(_cv.id == _B("conversation"))
    .values(
        last_message_at=_newest(_cv.last_message_at, "d_last_message_at"),
        last_live_at=_newest(_cv.last_live_at, "d_last_live_at"),
        last_customer_at=_newest(_cv.last_customer_at, "d_last_customer_at"),
        last_echo_at=_newest(_cv.last_echo_at, "d_last_echo_at"),
        window_expires_at=_newest(_cv.window_expires_at, "d_window_expires_at"),
        message_count=_cv.message_count + sa.cast(_B("d_messages"), sa.Integer),
        history_count=_cv.history_count + sa.cast(_B("d_history"), sa.Integer),
        unread_count=sa.case(
            (sa.cast(_B("d_reset_unread"), sa.Integer) == 1, sa.cast(_B("d_unread"), sa.Integer)),
            else_=_cv.unread_count + sa.cast(_B("d_unread"), sa.Integer),
        ),
    )
)
_UPDATES: dict[tuple[str, frozenset[str]], Any] = {}

# The rank of the stored status (domain.enums.STATUS_RANK); a value it does not know ranks as unknown.
_STATUS_RANK = sa.case({s.value: rank for s, rank in STATUS_RANK.items()}, value=_m.status, else_=0)


def _advance_status(with_errors: bool) -> Any:
    """The conditional write of a status: it moves only a row whose status ranks below :below."""
    values: dict[str, Any] = {"status": _B("status"), "status_at": _B("status_at")}
    if with_errors:
        values["errors"] = _B("errors")
    return (
        messages.update()
        .where(_m.id == _B("row_id"), sa.or_(_m.status.is_(None), _B("below") > _STATUS_RANK))
        .values(values)
        .returning(_m.id)
    )


_ADVANCE_STATUS = {with_errors: _advance_status(with_errors) for with_errors in (False, True)}


def _update_by_id(table: sa.Table, keys: Iterable[str]) -> Any:
    """UPDATE table SET <keys> WHERE id = :row_id, built once per set of columns."""
    cache_key = (table.name, frozenset(keys))
    stmt = _UPDATES.get(cache_key)
    if stmt is None:
        stmt = table.update().where(table.c.id == _B("row_id")).values({k: _B(k) for k in cache_key[1]})
        _UPDATES[cache_key] = stmt
    return stmt


class SqlIngestRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._new_contacts: set[int] = set()  # created in this transaction: no conversation yet
        # conversations merged away in this transaction -> the conversation they were merged into
        self.conversation_aliases: dict[int, int] = {}
        self.merges = 0

    # Every write goes out at once: nothing is pending, nothing to prefetch.
    def prefetch(self, lookups: Lookups) -> None:
        pass

    def defer(self, deferred: bool) -> None:
        pass

    def settle(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def reset(self) -> None:
        self._new_contacts.clear()

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
        self.conn.execute(_update_by_id(numbers, values), {**values, "row_id": number_id})

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
                self._new_contacts.add(int(inserted[0]))
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

    def conversation_for(self, number_id: int, contact_id: int) -> int:
        params = {"number_id": number_id, "contact_id": contact_id}
        if contact_id not in self._new_contacts:
            found = self.conn.execute(_CONVERSATION_ID, params).scalar()
            if found is not None:
                return int(found)
        stmt = self._prebuilt(
            ("conversation",),
            lambda: (
                insert_ignore(self.conn, conversations, ["number_id", "contact_id"])
                .values(
                    {
                        **{k: _B(k) for k in ("number_id", "contact_id", "created_at")},
                        "unread_count": 0,
                        "message_count": 0,
                        "history_count": 0,
                    }
                )
                .returning(conversations.c.id)
            ),
        )
        created = self.conn.execute(stmt, {**params, "created_at": now_ms()}).first()
        if created is not None:
            return int(created[0])
        return int(self.conn.execute(_CONVERSATION_ID, params).scalar_one())

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
        for i in range(0, len(wamids), _IN_CHUNK):
            params = {"number_id": number_id, "wamids": list(wamids[i : i + _IN_CHUNK])}
            for r in self.conn.execute(_EXISTING, params):
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
                    reactions_at=r.reactions_at,
                )
        return found

    def insert_messages(self, rows: Sequence[MessageRow], *, want_ids: bool = True) -> dict[str, int]:
        """Insert new messages in one statement (multi-row INSERT); their ids by wamid if wanted.

        Without ids (history chunks, thousands of rows) the rows go straight to the driver's
        executemany in this transaction: SQLAlchemy's per-row parameter processing costs more than
        SQLite's insert itself (docs/benchmarks.md).
        """
        if not rows:
            return {}
        if not want_ids:
            self._raw_insert(rows)
            return {}
        full = [{**_MESSAGE_DEFAULTS, **row} for row in rows]
        return {w: int(i) for w, i in self.conn.execute(_INSERT_MESSAGES, full)}

    def _raw_insert(self, rows: Sequence[MessageRow]) -> None:
        dialect = self.conn.dialect.name
        sql = _RAW_INSERT.get(dialect)
        if sql is None:
            mark = "?" if dialect == "sqlite" else "%s"
            names = ", ".join(_MESSAGE_COLUMNS)
            sql = _RAW_INSERT[dialect] = (
                f"INSERT INTO messages ({names}) VALUES ({', '.join([mark] * len(_MESSAGE_COLUMNS))})"
            )
        dumps = orjson.dumps
        defaults = _MESSAGE_DEFAULTS
        pick = _PICK_COLUMNS
        json_at = _JSON_POSITIONS
        values = []
        for row in rows:
            record = list(pick({**defaults, **row}))
            for i in json_at:
                if record[i] is not None:
                    record[i] = dumps(record[i]).decode()
            values.append(record)
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, values)
        finally:
            cursor.close()

    def insert_placeholder(self, row: MessageRow) -> int | None:
        """Insert a message unless its (number, wamid) exists; its id, or None if another writer won.

        A status and its message (or two statuses) applied at once by two workers both find no row;
        the loser of the insert waits for the winner's commit, then reads the row and updates it.
        """
        stmt = self._prebuilt(
            ("message_ignore",),
            lambda: insert_ignore(self.conn, messages, ["number_id", "wamid"]).returning(_m.id),
        )
        inserted = self.conn.execute(stmt, {**_MESSAGE_DEFAULTS, **row}).first()
        return None if inserted is None else int(inserted[0])

    def advance_status(
        self, message_id: int, status: str, status_at: int | None, below: int, errors: Any = None
    ) -> bool:
        """Set the status only if the stored one ranks below `below`; whether the row changed.

        The condition is evaluated on the row as it is when the write happens (PostgreSQL re-checks
        it after waiting for a concurrent writer's lock), so no interleaving moves a status back.
        """
        params = {"row_id": message_id, "status": status, "status_at": status_at, "below": below}
        if errors is not None:
            params["errors"] = errors
        return self.conn.execute(_ADVANCE_STATUS[errors is not None], params).first() is not None

    def update_message(self, message_id: int, values: dict[str, Any]) -> None:
        self.conn.execute(_update_by_id(messages, values), {**values, "row_id": message_id})

    def apply_conversation_deltas(self, deltas: dict[int, ConversationDelta]) -> None:
        """Every touched conversation's counters and times in one executemany."""
        day = 24 * 3600 * 1000
        params = [
            {
                "conversation": conv_id,
                "d_last_message_at": d.last_message_at,
                "d_last_live_at": d.last_live_at,
                "d_last_customer_at": d.last_customer_at,
                "d_last_echo_at": d.last_echo_at,
                "d_window_expires_at": None if d.last_customer_at is None else d.last_customer_at + day,
                "d_messages": d.added_messages,
                "d_history": d.added_history,
                "d_unread": d.added_unread,
                "d_reset_unread": 1 if d.reset_unread else 0,
            }
            for conv_id, d in deltas.items()
        ]
        if params:
            self.conn.execute(_CONVERSATION_DELTA, params)

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
            self.conn.execute(_INSERT_EVENTS, batch)

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
        # Labels from the body itself (an unknown field's name, an unregistered phone_number_id)
        # are cut to their columns; the reason and the raw item keep them whole.
        self.conn.execute(
            unknown_items.insert().values(
                receipt_id=receipt_id,
                field=field[: limits.LABEL] if field else field,
                phone_number_id=phone_number_id[: limits.LABEL] if phone_number_id else phone_number_id,
                reason=reason,
                raw=raw,
                created_at=at,
            )
        )
