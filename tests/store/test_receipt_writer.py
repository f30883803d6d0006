"""The receipt writer stores what `append` stores, waits for SQLite's write lock, and checkpoints."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from wacoex.store.engine import make_engine
from wacoex.store.ingress_priority import IngressPriority
from wacoex.store.receipt_writer import ReceiptWriter
from wacoex.store.receipts import append

COLUMNS = "source, body_sha256, size, state, attempts, next_attempt_at, error, waiting_for, facts, progress"


def _bodies(n: int) -> list[bytes]:
    return [b'{"object":"whatsapp_business_account","entry":[],"n":%d}' % i + b" " * i for i in range(n)]


def _store_concurrently(writer: ReceiptWriter, bodies: list[bytes]) -> list[int]:
    async def main() -> list[int]:
        return await asyncio.gather(*(writer.append("meta", body) for body in bodies))

    return asyncio.run(main())


def test_group_committed_receipts_are_stored_as_append_stores_them(db_url: str) -> None:
    engine = make_engine(db_url)
    bodies = _bodies(200)
    writer = ReceiptWriter(engine, priority=IngressPriority.for_url(db_url))
    writer.start()
    try:
        ids = _store_concurrently(writer, bodies)
    finally:
        writer.stop()
    with engine.begin() as conn:
        [reference] = append(conn, [("meta", bodies[7], 0)])
        rows = {
            r[0]: (bytes(r[1]), tuple(r[2:]))
            for r in conn.execute(
                sa.text(f"SELECT id, body, {COLUMNS} FROM receipts JOIN receipt_bodies ON receipt_id = id")
            )
        }
    engine.dispose()
    assert len(set(ids)) == 200
    assert [rows[rid][0] for rid in ids] == bodies  # each request got the id of its own body
    assert rows[ids[7]][1] == rows[reference][1]  # the same state row as `append` writes
    assert len(rows) == 201


def test_a_receipt_waits_for_the_write_lock_and_is_stored_when_it_is_released(tmp_path: Path) -> None:
    db = tmp_path / "wacoex.db"
    url = f"sqlite:///{db}"
    from wacoex.store.engine import upgrade

    upgrade(url)
    engine = make_engine(url)
    writer = ReceiptWriter(engine)
    writer.start()
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # an apply transaction holding the write lock
    release_at: list[float] = []

    def release() -> None:
        time.sleep(0.5)
        release_at.append(time.monotonic())
        holder.execute("COMMIT")

    t = threading.Thread(target=release)
    t.start()
    try:
        [rid] = _store_concurrently(writer, [b"{}"])
        stored_at = time.monotonic()
    finally:
        t.join()
        writer.stop()
        holder.close()
    assert stored_at >= release_at[0]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM receipts WHERE id = :i"), {"i": rid}).scalar() == 1
    engine.dispose()


def test_what_the_writer_stored_reaches_the_database_file_through_checkpoints(tmp_path: Path) -> None:
    """The writer's own commits never checkpoint; its checkpointer copies them into the main file."""
    db = tmp_path / "wacoex.db"
    url = f"sqlite:///{db}"
    from wacoex.store.engine import upgrade

    upgrade(url)
    engine = make_engine(url)
    # Another connection stays open (as the API's do): SQLite's checkpoint at the last close never runs.
    reader = sqlite3.connect(db)
    reader.execute("PRAGMA journal_mode=WAL")  # as every connection of the gateway sets it
    reader.execute("SELECT count(*) FROM receipts").fetchall()
    writer = ReceiptWriter(engine)
    writer.start()
    try:
        ids = _store_concurrently(writer, _bodies(30))
    finally:
        writer.stop()  # the checkpointer copies what is left
    engine.dispose()
    # The main file alone (no -wal beside it) holds every receipt.
    alone = tmp_path / "alone.db"
    shutil.copy(db, alone)
    reader.close()
    with sqlite3.connect(alone) as copy:
        assert copy.execute("SELECT count(*) FROM receipts").fetchone()[0] == len(ids) == 30
