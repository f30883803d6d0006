"""The durable receipt queue: raw webhook bodies, appended before we answer 200, applied later."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from wacoex.errors import InvalidInput, NotFound
from wacoex.services.ports import Receipt
from wacoex.store.tables import receipt_bodies, receipts, unknown_items

# Every state a receipt can be in: waiting to be applied, applied, waiting for a number, given up on.
STATES = ("pending", "done", "held", "parked")


def _check_state(state: str | None) -> None:
    if state and state not in STATES:
        raise InvalidInput(f"unknown receipt state {state!r}: use one of {', '.join(STATES)}")


def append(conn: Connection, items: Sequence[tuple[str, bytes, int]]) -> list[int]:
    """Append (source, body, received_at) receipts; returns their ids in order.

    Two statements in the caller's transaction: the receipts' state rows, then their bodies.
    """
    rows = [
        {
            "source": src,
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "received_at": at,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": 0,
        }
        for src, body, at in items
    ]
    if conn.dialect.name == "postgresql" or len(rows) == 1:
        result = conn.execute(receipts.insert().returning(receipts.c.id), rows)
    else:
        result = conn.execute(receipts.insert().returning(receipts.c.id, sort_by_parameter_order=True), rows)
    ids = [int(r[0]) for r in result]
    conn.execute(
        receipt_bodies.insert(),
        [{"receipt_id": rid, "body": body} for rid, (_, body, _) in zip(ids, items, strict=True)],
    )
    return ids


def park_unparseable(conn: Connection, receipt_id: int, error: str) -> None:
    conn.execute(receipts.update().where(receipts.c.id == receipt_id).values(state="parked", error=error))


_MARK_DONE = (
    receipts.update()
    .where(receipts.c.id == sa.bindparam("rid"))
    .values(
        state="done",
        facts=sa.bindparam("n"),
        applied_at=sa.bindparam("at"),
        error=None,
        waiting_for=None,
        progress=None,
        attempts=receipts.c.attempts + 1,
    )
)


_CLAIM_COLUMNS = (
    receipts.c.id,
    receipts.c.source,
    receipt_bodies.c.body,
    receipts.c.attempts,
    receipts.c.received_at,
    receipts.c.applied_at,
    receipts.c.progress,
    receipts.c.waiting_for,
)
_WITH_BODY = receipts.join(receipt_bodies, receipt_bodies.c.receipt_id == receipts.c.id)
_CLAIMED = (
    sa.select(*_CLAIM_COLUMNS)
    .select_from(_WITH_BODY)
    .where(receipts.c.id.in_(sa.bindparam("ids", expanding=True)))
)
# Only the state rows are locked: the bodies are never written after append.
_CLAIMED_LOCKED = _CLAIMED.where(receipts.c.state == "pending").with_for_update(skip_locked=True, of=receipts)
_NEXT_UNLOCKED = (
    sa.select(*_CLAIM_COLUMNS)
    .select_from(_WITH_BODY)
    .where(receipts.c.state == "pending", receipts.c.next_attempt_at <= sa.bindparam("now"))
    .order_by(receipts.c.id)
    .limit(1)
    .with_for_update(skip_locked=True, of=receipts)
)


def _receipt(x: Any) -> Receipt:
    return Receipt(
        id=int(x.id),
        source=x.source,
        body=bytes(x.body),
        attempts=x.attempts,
        received_at=x.received_at,
        applied_before=x.applied_at is not None,
        progress=x.progress or 0,
        waiting_for=tuple(x.waiting_for or ()) if x.progress else (),
    )


class SqlReceiptQueue:
    """Claims pending receipts inside the caller's transaction.

    On PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so several workers share the queue and a
    worker that dies mid-receipt releases its rows with its connection: nothing is lost or applied
    twice. SQLite has one writer at a time (BEGIN IMMEDIATE), which gives the same guarantee.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, limit: int, now: int, max_bytes: int = 8 * 1024 * 1024) -> list[Receipt]:
        """Up to `limit` due receipts, and no more than about `max_bytes` of bodies (at least one).

        The byte bound keeps a transaction of history webhooks (3 MB each) small: less memory and a
        short write lock. On PostgreSQL the sizes are read without locks, then only the chosen rows
        are locked (`FOR UPDATE SKIP LOCKED`), so a worker never holds receipts it will not apply;
        when another worker holds all of them, it takes the next unlocked receipt instead.
        """
        chosen = _due(self.conn, limit, now, max_bytes)
        if not chosen:
            return []
        postgres = self.conn.dialect.name == "postgresql"
        rows = list(self.conn.execute(_CLAIMED_LOCKED if postgres else _CLAIMED, {"ids": chosen}))
        if postgres and not rows:
            rows = list(self.conn.execute(_NEXT_UNLOCKED, {"now": now}))
        return sorted((_receipt(x) for x in rows), key=lambda rec: rec.id)

    def mark_done(self, receipt_id: int, facts: int, at: int) -> None:
        self.mark_done_many([(receipt_id, facts)], at)

    def mark_done_many(self, done: Sequence[tuple[int, int]], at: int) -> None:
        """Mark (receipt id, facts) pairs done in one executemany."""
        if done:
            self.conn.execute(_MARK_DONE, [{"rid": rid, "n": facts, "at": at} for rid, facts in done])

    def mark_failed(self, receipt_id: int, error: str, next_attempt_at: int, park: bool) -> None:
        self.conn.execute(
            receipts.update()
            .where(receipts.c.id == receipt_id)
            .values(
                state="parked" if park else "pending",
                error=error.replace("\x00", "")[:4000],  # PostgreSQL's text refuses NUL
                next_attempt_at=next_attempt_at,
                attempts=receipts.c.attempts + 1,
            )
        )

    def hold(self, receipt_id: int, waiting_for: list[str], facts: int, at: int) -> None:
        self.conn.execute(
            receipts.update()
            .where(receipts.c.id == receipt_id)
            .values(
                state="held",
                waiting_for=waiting_for,
                facts=facts,
                applied_at=at,
                progress=None,
                attempts=receipts.c.attempts + 1,
            )
        )

    def save_progress(self, receipt_id: int, progress: int, waiting_for: list[str]) -> None:
        """An application stopped at its lock budget: it resumes at unit `progress` in a later transaction."""
        self.conn.execute(
            receipts.update()
            .where(receipts.c.id == receipt_id)
            .values(progress=progress, waiting_for=waiting_for or None, next_attempt_at=0)
        )

    def forget_unknowns(self, receipt_id: int) -> None:
        """Before re-applying a receipt, drop what its previous application recorded as unknown."""
        self.conn.execute(unknown_items.delete().where(unknown_items.c.receipt_id == receipt_id))


def _due(conn: Connection, limit: int, now: int, max_bytes: int) -> list[int]:
    """Ids of up to `limit` due receipts, oldest first, within about `max_bytes` of bodies (at least one)."""
    r = receipts.c
    sizes = (
        sa.select(r.id, r.size)
        .where(r.state == "pending", r.next_attempt_at <= now)
        .order_by(r.id)
        .limit(limit)
    )
    chosen: list[int] = []
    total = 0
    for row in conn.execute(sizes):
        if chosen and total + row.size > max_bytes:
            break
        chosen.append(int(row.id))
        total += row.size
    return chosen


def sql_receipt_peek(engine: Engine, max_bytes: int = 8 * 1024 * 1024) -> Callable[[int, int], list[Receipt]]:
    """A ReceiptPeek over `engine` (on SQLite a read-only engine: no write lock is taken)."""

    def peek(limit: int, now: int) -> list[Receipt]:
        with engine.connect() as conn:
            ids = _due(conn, limit, now, max_bytes)
            if not ids:
                return []
            return sorted((_receipt(x) for x in conn.execute(_CLAIMED, {"ids": ids})), key=lambda x: x.id)

    return peek


def release_held(conn: Connection, keys: Sequence[str]) -> int:
    """Held receipts waiting for any of `keys` go back to the queue. Returns how many."""
    wanted = {k for k in keys if k}
    held = conn.execute(
        sa.select(receipts.c.id, receipts.c.waiting_for).where(receipts.c.state == "held")
    ).all()
    ids = [h.id for h in held if wanted.intersection(h.waiting_for or [])]
    if ids:
        conn.execute(
            receipts.update()
            .where(receipts.c.id.in_(ids))
            .values(state="pending", next_attempt_at=0, progress=None)
        )
    return len(ids)


def replay(conn: Connection, ids: Sequence[int] | None = None, *, state: str = "parked") -> int:
    """Put receipts back in the queue: the given ids, or every receipt in `state`.

    Unknown ids replay nothing: NotFound names them.
    """
    _check_state(state)
    if ids:
        wanted = set(ids)
        found = set(conn.execute(sa.select(receipts.c.id).where(receipts.c.id.in_(wanted))).scalars())
        missing = sorted(wanted - found)
        if missing:
            listed = ", ".join(str(i) for i in missing)
            raise NotFound(
                f"receipt {listed} does not exist" if len(missing) == 1 else f"receipts {listed} do not exist"
            )
    # attempts restart: a replayed receipt gets the full retry schedule again
    q = receipts.update().values(
        state="pending", next_attempt_at=0, error=None, attempts=0, progress=None, waiting_for=None
    )
    q = q.where(receipts.c.id.in_(list(ids))) if ids else q.where(receipts.c.state == state)
    return int(conn.execute(q).rowcount or 0)


def list_receipts(
    conn: Connection, *, state: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[Row[Any]]:
    _check_state(state)
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1, not {limit}")
    r = receipts.c
    q = sa.select(
        r.id,
        r.source,
        r.received_at,
        r.state,
        r.attempts,
        r.error,
        r.waiting_for,
        r.facts,
        r.applied_at,
        r.size,
    )
    if state:
        q = q.where(r.state == state)
    if before_id:
        q = q.where(r.id < before_id)
    return list(conn.execute(q.order_by(r.id.desc()).limit(limit)).all())  # type: ignore[arg-type]


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(receipts.c.state, sa.func.count()).group_by(receipts.c.state)).all()
    return {state: int(n) for state, n in rows}
