"""Read side for the API and the inbox: plain SELECTs returning rows, keyset-paginated."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from wacoex.store.tables import (
    CONVERSATION_SORT_AT,
    MESSAGE_SORT_AT,
    contacts,
    conversations,
    history_phases,
    messages,
    numbers,
    unknown_items,
)


def conversation_with_contact() -> sa.Select[Any]:
    """A conversation as the read API shows it: its counters, window and takeover times, its contact."""
    c, k = conversations.c, contacts.c
    return (
        sa.select(
            c.id,
            c.number_id,
            c.last_message_at,
            c.last_live_at,
            c.last_customer_at,
            c.window_expires_at,
            c.window_closed_at,
            c.fep_expires_at,
            c.unread_count,
            c.message_count,
            c.history_count,
            c.last_echo_at,
            CONVERSATION_SORT_AT.label("sort_at"),
            k.id.label("contact_id"),
            k.wa_id,
            k.user_id,
            k.profile_name,
            k.book_full_name,
            k.book_first_name,
            k.book_updated_at,
            k.book_removed,
            k.operator_name,
            numbers.c.phone_number_id,
        )
        .join(contacts, contacts.c.id == c.contact_id)
        .join(numbers, numbers.c.id == c.number_id)
    )


def conversations_page_query(number_id: int, *, limit: int, after: tuple[int, int] | None) -> sa.Select[Any]:
    """Newest activity first; `after` is the (sort_at, id) of the previous page's last row.

    A range of ix_conversations_activity read backwards. The single-column bound is what SQLite
    seeks on (it does not seek on a row value over an expression); the row value then skips the
    rows of the same time already shown. PostgreSQL seeks on either.
    """
    c = conversations.c
    sort_at = CONVERSATION_SORT_AT
    q = conversation_with_contact().where(c.number_id == number_id)
    if after is not None:
        at, cid = after
        q = q.where(sort_at <= at, sa.tuple_(sort_at, c.id) < sa.tuple_(at, cid))
    return q.order_by(sort_at.desc(), c.id.desc()).limit(limit)


def conversation_detail(conn: Connection, conversation_id: int, workspace_id: int | None) -> Row[Any] | None:
    """One conversation as a page shows it; with `workspace_id`, only if its number is that workspace's."""
    q = conversation_with_contact().where(conversations.c.id == conversation_id)
    if workspace_id is not None:
        q = q.where(numbers.c.workspace_id == workspace_id)
    return conn.execute(q).first()


def conversations_page(
    conn: Connection, number_id: int, *, limit: int, after: tuple[int, int] | None
) -> list[Row[Any]]:
    return list(conn.execute(conversations_page_query(number_id, limit=limit, after=after)).all())


def conversation(conn: Connection, conversation_id: int, workspace_id: int | None = None) -> Row[Any] | None:
    """A conversation; with `workspace_id`, only if its number belongs to that workspace."""
    q = sa.select(conversations).where(conversations.c.id == conversation_id)
    if workspace_id is not None:
        q = q.join(numbers, numbers.c.id == conversations.c.number_id).where(
            numbers.c.workspace_id == workspace_id
        )
    return conn.execute(q).first()


def messages_page_query(conversation_id: int, *, limit: int, after: tuple[int, str] | None) -> sa.Select[Any]:
    """Oldest first by occurred_at, then wamid (one order for live, echo and history clocks).

    A range of ix_messages_timeline_at, sought like conversations_page_query's.
    """
    m = messages.c
    at = MESSAGE_SORT_AT
    q = sa.select(messages, at.label("sort_at")).where(m.conversation_id == conversation_id)
    if after is not None:
        a, wamid = after
        q = q.where(at >= a, sa.tuple_(at, m.wamid) > sa.tuple_(a, wamid))
    return q.order_by(at, m.wamid).limit(limit)


def messages_page(
    conn: Connection, conversation_id: int, *, limit: int, after: tuple[int, str] | None
) -> list[Row[Any]]:
    return list(conn.execute(messages_page_query(conversation_id, limit=limit, after=after)).all())


def history_sync(conn: Connection, number_id: int) -> list[Row[Any]]:
    h = history_phases.c
    return list(
        conn.execute(sa.select(history_phases).where(h.number_id == number_id).order_by(h.phase)).all()
    )


def number_by_pnid(
    conn: Connection, phone_number_id: str, workspace_id: int | None = None
) -> Row[Any] | None:
    """A number; with `workspace_id`, only if it belongs to that workspace."""
    q = sa.select(numbers).where(numbers.c.phone_number_id == phone_number_id)
    if workspace_id is not None:
        q = q.where(numbers.c.workspace_id == workspace_id)
    return conn.execute(q).first()


def media_seen(conn: Connection, sha256: str, workspace_id: int) -> bool:
    """Whether a message of one of the workspace's numbers has this stored media file."""
    m = messages.c
    q = (
        sa.select(m.id)
        .join(numbers, numbers.c.id == m.number_id)
        .where(m.media_sha256 == sha256, numbers.c.workspace_id == workspace_id)
        .limit(1)
    )
    return conn.execute(q).first() is not None


def unknown_page(conn: Connection, *, limit: int, before_id: int | None) -> list[Row[Any]]:
    u = unknown_items.c
    q = sa.select(unknown_items)
    if before_id:
        q = q.where(u.id < before_id)
    return list(conn.execute(q.order_by(u.id.desc()).limit(limit)).all())
