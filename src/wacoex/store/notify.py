"""PostgreSQL LISTEN/NOTIFY: a receipt stored by one process wakes the workers of every other at once.

`notify()` runs inside the transaction that makes the work (PostgreSQL delivers it at commit, and
never for a rollback); `PgListener` is a thread with a connection of its own that LISTENs and
calls `on_notify` for each (the `notify` of an in-process `Wakeup`). On SQLite both are no-ops: workers on one
host find new receipts at their next poll (`WACOEX_WORKER_POLL_SECONDS`).
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.store.engine import normalise_url

log = logging.getLogger("wacoex.notify")

RECEIPTS = "wacoex_receipts"
"""Notified when receipts become due: stored, replayed, or released by a registered number."""

CHECK_SECONDS = 30.0  # an idle listener checks its connection this often
RECONNECT_MIN_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0


def notify(conn: Connection, channel: str) -> None:
    """Tell the listeners of `channel` when the caller's transaction commits (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        # Identical notifications of one transaction are folded into one by PostgreSQL.
        conn.exec_driver_sql(f"NOTIFY {channel}")


def listener_for(url: str, channel: str, on_notify: Callable[[], None]) -> PgListener | None:
    """A listener for a PostgreSQL URL; None for SQLite (nothing to listen to)."""
    url = normalise_url(url)
    if sa.engine.make_url(url).get_backend_name() != "postgresql":
        return None
    return PgListener(url, channel, on_notify)


class PgListener:
    """Calls `on_notify` for NOTIFYs on `channel` while started (a `WakeSource` of services/notify.py).

    A lost connection is retried with backoff; after each (re)connection `on_notify` is called once,
    since whatever was sent while nobody listened is lost.
    """

    def __init__(self, url: str, channel: str, on_notify: Callable[[], None]) -> None:
        parsed = sa.engine.make_url(normalise_url(url)).set(drivername="postgresql")
        # TCP keepalives: a listener behind a dropped connection notices within about a minute.
        keepalive = "keepalives=1&keepalives_idle=30&keepalives_interval=10&keepalives_count=3"
        rendered = parsed.render_as_string(hide_password=False)
        self._conninfo = rendered + ("&" if "?" in rendered else "?") + keepalive
        self._channel = channel
        self._on_notify = on_notify
        self._listening = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self.connections = 0  # successful LISTENs (for tests and diagnostics)

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once LISTEN is in effect (or after `timeout`, still trying)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"wacoex-listen-{self._channel}", daemon=True)
        self._thread.start()
        if not self._listening.wait(timeout):
            log.warning("not listening on %s after %.0f s; workers poll meanwhile", self._channel, timeout)

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        os.write(self._wake_w, b"x")
        thread.join(10)
        self._thread = None
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        import psycopg

        delay = RECONNECT_MIN_SECONDS
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self.connections += 1
                    self._listening.set()
                    delay = RECONNECT_MIN_SECONDS
                    self._on_notify()
                    self._forward(conn)
            except psycopg.Error as exc:
                self._listening.clear()
                if self._stopping.is_set():
                    return
                log.warning("listening on %s: %s; reconnecting in %.1f s", self._channel, exc, delay)
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _forward(self, conn: Any) -> None:
        while not self._stopping.is_set():
            ready, _, _ = select.select([conn.fileno(), self._wake_r], [], [], CHECK_SECONDS)
            if self._wake_r in ready:
                return
            if not ready:
                conn.execute("SELECT 1")  # a dead connection raises here instead of staying silent
            if any(True for _ in conn.notifies(timeout=0)):
                self._on_notify()
