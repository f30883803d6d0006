"""A receipt's body lives apart from its state: applying, retrying or parking never rewrites it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from wacoex.store.engine import alembic_config, make_engine, upgrade
from wacoex.store.receipts import SqlReceiptQueue, append, list_receipts, replay

BODY = b'{"object":"whatsapp_business_account","entry":[' + b"x" * (3 * 1024 * 1024) + b"]}"


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[-1]


def _wal_bytes(path: str) -> int:
    wal = path + "-wal"
    return os.path.getsize(wal) if os.path.exists(wal) else 0


def _checkpoint(path: str) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not busy


def _body_version(conn: sa.Connection, rid: int) -> tuple[object, ...]:
    """PostgreSQL: the transaction that last wrote the body row and where it lies; any update changes both."""
    row = conn.execute(
        sa.text("SELECT xmin::text, ctid::text FROM receipt_bodies WHERE receipt_id = :r"), {"r": rid}
    ).one()
    return tuple(row)


def test_marking_a_3_mb_receipt_done_leaves_its_body_untouched(db_url: str) -> None:
    engine = make_engine(db_url)
    sqlite = db_url.startswith("sqlite")
    try:
        with engine.begin() as conn:
            (rid,) = append(conn, [("meta", BODY, 1)])
        if sqlite:
            _checkpoint(_sqlite_path(db_url))
        else:
            with engine.connect() as conn:
                before = _body_version(conn, rid)
        with engine.begin() as conn:
            queue = SqlReceiptQueue(conn)
            (claimed,) = queue.claim(10, now=10)
            assert claimed.body == BODY
            queue.mark_failed(rid, "boom", next_attempt_at=0, park=False)
        with engine.begin() as conn:
            SqlReceiptQueue(conn).mark_done(rid, facts=1, at=20)
        if sqlite:
            # The state row's pages only: rewriting the body would log its 3 MB again.
            assert _wal_bytes(_sqlite_path(db_url)) < 64 * 1024
        else:
            with engine.connect() as conn:
                assert _body_version(conn, rid) == before
        with engine.connect() as conn:
            (row,) = list_receipts(conn)
            assert (row.id, row.state, row.attempts, row.facts, row.size) == (rid, "done", 2, 1, len(BODY))
            stored = conn.execute(
                sa.text("SELECT body FROM receipt_bodies WHERE receipt_id = :r"), {"r": rid}
            )
            assert bytes(stored.scalar_one()) == BODY
        with engine.begin() as conn:  # replayed, the same body is applied again
            assert replay(conn, [rid]) == 1
            (again,) = SqlReceiptQueue(conn).claim(10, now=10)
            assert (again.id, again.body) == (rid, BODY)
    finally:
        engine.dispose()


def _fresh(db_url: str, tmp_path: Path) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/fresh.db"
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return db_url


def test_migration_0008_moves_existing_bodies_and_back(db_url: str, tmp_path: Path) -> None:
    url = _fresh(db_url, tmp_path)
    upgrade(url, "0007")
    engine = make_engine(url)
    insert = sa.text(
        "INSERT INTO receipts (source, body, body_sha256, received_at, state, attempts, next_attempt_at)"
        " VALUES ('meta', :b, 'sha', 5, :s, 0, 0)"
    )
    bodies = [b"{}", b"\x00\xffraw" * 1000, BODY]
    try:
        with engine.begin() as conn:
            for i, body in enumerate(bodies):
                conn.execute(insert, {"b": body, "s": "done" if i else "pending"})
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT r.id, r.state, r.size, b.body FROM receipts r"
                    " JOIN receipt_bodies b ON b.receipt_id = r.id ORDER BY r.id"
                )
            ).all()
            assert [(r.id, r.state, r.size, bytes(r.body)) for r in rows] == [
                (1, "pending", 2, bodies[0]),
                (2, "done", len(bodies[1]), bodies[1]),
                (3, "done", len(BODY), BODY),
            ]
            assert "body" not in {c["name"] for c in sa.inspect(conn).get_columns("receipts")}
        with engine.begin() as conn:
            (claimed,) = SqlReceiptQueue(conn).claim(10, now=10)
            assert (claimed.id, claimed.body) == (1, b"{}")
        command.downgrade(alembic_config(url), "0007")
        with engine.connect() as conn:
            back = conn.execute(sa.text("SELECT body FROM receipts ORDER BY id")).scalars().all()
            assert [bytes(b) for b in back] == bodies
            assert "receipt_bodies" not in sa.inspect(conn).get_table_names()
        upgrade(url)
    finally:
        engine.dispose()
