"""Group commit for webhook receipts: concurrent requests share one durable transaction.

Request handlers hand (source, body) to `append()` and await the receipt id; a single writer thread
takes everything queued so far, inserts it in one transaction (one fsync), then answers them all.
Under load this turns thousands of small commits into a few large ones without delaying a lone request.
Each commit wakes the workers: `on_commit` in this process, a NOTIFY on PostgreSQL in every other.

On a SQLite file the writer keeps a driver connection of its own, so the time between a request and
its 200 is what durability costs (one fsync) and little else (measured; docs/benchmarks.md):
- one multi-row INSERT per table: the driver releases and retakes the GIL at every row it steps
  (an executemany or a RETURNING steps once per row), and every retake can wait for the event loop
  thread; the ids follow from the last rowid, since one statement under the write lock numbers its
  rows consecutively;
- the write lock is polled every millisecond instead of through SQLite's busy handler, which sleeps
  up to 100 ms at a time once an apply transaction has held the lock for a while;
- no automatic WAL checkpoint in the writer's commits (store/wal_checkpoint.py takes them);
- one wake-up of the event loop per commit, not one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from wacoex.store.engine import now_ms
from wacoex.store.ingress_priority import IngressPriority
from wacoex.store.notify import RECEIPTS, notify
from wacoex.store.receipts import append
from wacoex.store.wal_checkpoint import WalCheckpointer

log = logging.getLogger("wacoex.receipts")

BUSY_SECONDS = 30.0  # as the engine's busy_timeout: how long the writer waits for the write lock
_SQLITE_BUSY = 5


@dataclass(slots=True)
class _Pending:
    source: str
    body: bytes
    received_at: int
    future: asyncio.Future[int]
    loop: asyncio.AbstractEventLoop


class ReceiptWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = 1000,
        on_commit: Callable[[], None] | None = None,
        priority: IngressPriority | None = None,
    ) -> None:
        self._engine = engine
        self._priority = priority
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._checkpointer: WalCheckpointer | None = None
        self.commits = 0
        self.appended = 0

    def start(self) -> None:
        if self._thread is None:
            if _is_sqlite_file(self._engine):
                self._sqlite = _driver_connection(self._engine)
                # Checkpoints run in the checkpointer's thread, never after one of our commits.
                self._sqlite.execute("PRAGMA wal_autocheckpoint=0")
                # Each try of BEGIN IMMEDIATE waits at most 1 ms in SQLite; _begin() tries again.
                self._sqlite.execute("PRAGMA busy_timeout=1")
                self._checkpointer = WalCheckpointer(_driver_connection(self._engine))
                self._checkpointer.start()
            self._thread = threading.Thread(target=self._run, name="wacoex-receipt-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    async def append(self, source: str, body: bytes) -> int:
        """Durably store one receipt; returns its id once committed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        self._queue.put(_Pending(source, body, now_ms(), fut, loop))
        return await fut

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        items = [(p.source, p.body, p.received_at) for p in batch]
        try:
            with self._storing():
                ids = (
                    self._append_sqlite(self._sqlite, items)
                    if self._sqlite is not None
                    else self._append(items)
                )
        except Exception as exc:
            log.exception("could not store %d receipts", len(batch))
            _answer(batch, exc)
            return
        if self._checkpointer is not None:
            self._checkpointer.committed()
        self.commits += 1
        self.appended += len(batch)
        _answer(batch, ids)
        if self._on_commit is not None:
            self._on_commit()

    def _append(self, items: list[tuple[str, bytes, int]]) -> list[int]:
        with self._engine.begin() as conn:
            ids = append(conn, items)
            notify(conn, RECEIPTS)  # workers in other processes wake at the commit
        return ids

    @staticmethod
    def _append_sqlite(conn: sqlite3.Connection, items: Sequence[tuple[str, bytes, int]]) -> list[int]:
        """What `store.receipts.append` stores, in two statements on the driver (see the docstring)."""
        n = len(items)
        state: list[Any] = []
        bodies: list[Any] = []
        for source, body, at in items:
            state += (source, hashlib.sha256(body).hexdigest(), len(body), at, "pending", 0, 0)
        _begin(conn)
        try:
            cur = conn.execute(_INSERT_RECEIPTS + ",".join((_RECEIPT_ROW,) * n), state)
            last = cur.lastrowid
            assert last is not None
            ids = list(range(last - n + 1, last + 1))
            for rid, (_, body, _) in zip(ids, items, strict=True):
                bodies += (rid, body)
            conn.execute(_INSERT_BODIES + ",".join(("(?,?)",) * n), bodies)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return ids

    def _storing(self) -> AbstractContextManager[None]:
        return self._priority.storing() if self._priority is not None else nullcontext()


_INSERT_RECEIPTS = (
    "INSERT INTO receipts (source, body_sha256, size, received_at, state, attempts, next_attempt_at) VALUES "
)
_RECEIPT_ROW = "(?,?,?,?,?,?,?)"
_INSERT_BODIES = "INSERT INTO receipt_bodies (receipt_id, body) VALUES "


def _is_sqlite_file(engine: Engine) -> bool:
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


def _driver_connection(engine: Engine) -> sqlite3.Connection:
    """A sqlite3 connection with the engine's pragmas, owned by the caller (not in the pool)."""
    proxied = engine.raw_connection()
    conn = proxied.driver_connection
    proxied.detach()
    assert isinstance(conn, sqlite3.Connection)
    return conn


def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, trying again every millisecond while another connection writes."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            busy = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise


def _answer(batch: list[_Pending], outcome: list[int] | Exception) -> None:
    """Resolve the batch's futures with one call into each event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | Exception]]] = {}
    for i, p in enumerate(batch):
        value = outcome if isinstance(outcome, Exception) else outcome[i]
        by_loop.setdefault(p.loop, []).append((p.future, value))
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_resolve, answers)


def _resolve(answers: list[tuple[asyncio.Future[int], int | Exception]]) -> None:
    for fut, value in answers:
        if fut.done():
            continue
        if isinstance(value, Exception):
            fut.set_exception(value)
        else:
            fut.set_result(value)
