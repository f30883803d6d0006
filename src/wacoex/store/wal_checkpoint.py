"""WAL checkpoints of SQLite taken off the webhook writer's thread.

SQLite checkpoints automatically in the connection whose commit took the WAL past 1,000 pages, after
that commit and before it returns: when that connection is the receipt writer's, every
acknowledgement queued behind it waits for the checkpoint's page copies and fsync (measured: the
slowest 1 % of acks; docs/benchmarks.md). The writer turns that off on its own connection and this
thread checkpoints instead, on a connection of its own. A checkpoint never takes the write lock, so
the writer commits while it runs; it is the same PASSIVE checkpoint SQLite would have run.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger("wacoex.receipts")

EVERY_COMMITS = 250
"""Commits between checkpoints under load: about SQLite's own 1,000-page threshold (small receipts
rewrite ~4 pages per commit)."""
EVERY_SECONDS = 1.0
"""At most this long between a commit and the checkpoint that copies it, whatever the load."""


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on `connection` after commits, in a thread of its own."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        *,
        every_commits: int = EVERY_COMMITS,
        every_seconds: float = EVERY_SECONDS,
    ) -> None:
        self._conn = connection
        self._every_commits = every_commits
        self._every_seconds = every_seconds
        self._pending = 0  # commits not yet checkpointed
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="wacoex-wal-checkpoint", daemon=True)
            self._thread.start()

    def committed(self) -> None:
        """Called by the writer after each commit (cheap: a counter, and an event every N commits)."""
        with self._lock:
            self._pending += 1
            if self._pending >= self._every_commits:
                self._due.set()

    def stop(self) -> None:
        """Checkpoint what is left and end the thread; closes the connection."""
        self._stopping.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._conn.close()

    def _run(self) -> None:
        while True:
            self._due.wait(self._every_seconds)
            self._due.clear()
            with self._lock:
                pending, self._pending = self._pending, 0
            if pending:
                self._checkpoint()
            if self._stopping.is_set():
                return

    def _checkpoint(self) -> None:
        started = time.perf_counter()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            # Nothing is lost: the WAL keeps every commit, and the next checkpoint (ours or any
            # other connection's automatic one) copies it.
            log.warning("WAL checkpoint failed; retrying at the next one", exc_info=True)
            return
        self.checkpoints += 1
        log.debug("WAL checkpoint in %.1f ms", (time.perf_counter() - started) * 1000)
