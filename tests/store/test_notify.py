"""LISTEN/NOTIFY on PostgreSQL: a receipt stored through one engine wakes a loop waiting on another."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.conftest import truncate_all
from wacoex.services.jobs import Loop
from wacoex.services.notify import Wakeup
from wacoex.store.engine import make_engine
from wacoex.store.notify import RECEIPTS, PgListener, listener_for, notify
from wacoex.store.receipt_writer import ReceiptWriter

POLL = 5.0  # the loop's idle timeout: being woken means running well before it

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("_postgres_database")
    truncate_all(url)
    return url


@pytest.fixture
def engines(pg_url: str) -> Iterator[tuple[Engine, Engine]]:
    """The web process's engine and the worker process's: two pools, no connection shared."""
    web, worker = make_engine(pg_url), make_engine(pg_url)
    yield web, worker
    web.dispose()
    worker.dispose()


class CountsReceipts:
    """A job that sees how many receipts are stored, through the worker's engine."""

    name = "count-receipts"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[float, int]] = []
        self.changed = threading.Condition()

    def run_once(self) -> bool:
        with self.engine.connect() as conn:
            n = int(conn.execute(sa.text("SELECT count(*) FROM receipts")).scalar() or 0)
        with self.changed:
            self.seen.append((time.monotonic(), n))
            self.changed.notify_all()
        return False

    def wait_for(self, what: str, ok: object, timeout: float) -> float:
        """When the job first saw `ok(count)` true; fails after `timeout`."""
        check = ok if callable(ok) else (lambda n: n == ok)
        with self.changed:
            found = self.changed.wait_for(lambda: any(check(n) for _, n in self.seen), timeout)
            assert found, f"{what}: not within {timeout} s (seen {self.seen})"
            return next(t for t, n in self.seen if check(n))


def _append_through_writer(engine: Engine) -> float:
    """Store one receipt the way a webhook request does; the time the writer was asked."""
    writer = ReceiptWriter(engine)  # no on_commit: nothing in this "process" wakes the loop
    writer.start()
    try:
        asked = time.monotonic()
        asyncio.run(writer.append("meta", b'{"object":"whatsapp_business_account","entry":[]}'))
        return asked
    finally:
        writer.stop()


def test_a_receipt_stored_through_another_engine_wakes_the_loop_before_its_poll(
    pg_url: str, engines: tuple[Engine, Engine]
) -> None:
    web, worker = engines
    wakeup = Wakeup()
    listener = listener_for(pg_url, RECEIPTS, wakeup.notify)
    assert isinstance(listener, PgListener)
    job = CountsReceipts(worker)
    loop = Loop(job, idle_seconds=POLL, wakeup=wakeup)
    listener.start()
    loop.start()
    try:
        job.wait_for("the first, empty round", 0, timeout=10)
        time.sleep(0.3)  # the loop is idle, its next poll about 5 s away
        asked = _append_through_writer(web)
        seen = job.wait_for("the stored receipt", 1, timeout=POLL)
        assert seen - asked < POLL - 1.0
    finally:
        loop.stop(10)
        listener.stop()


def test_a_rolled_back_notify_wakes_nobody(pg_url: str, engines: tuple[Engine, Engine]) -> None:
    web, _ = engines
    woken = threading.Event()

    listener = PgListener(pg_url, RECEIPTS, woken.set)
    listener.start()
    try:
        assert woken.wait(5)  # the one wake-up after connecting
        woken.clear()
        with web.connect() as conn, conn.begin() as tx:
            notify(conn, RECEIPTS)
            tx.rollback()
        assert not woken.wait(1.0)
        with web.begin() as conn:
            notify(conn, RECEIPTS)
        assert woken.wait(POLL)
    finally:
        listener.stop()


def test_the_listener_reconnects_after_losing_its_connection(
    pg_url: str, engines: tuple[Engine, Engine]
) -> None:
    web, worker = engines
    wakeup = Wakeup()
    listener = PgListener(pg_url, RECEIPTS, wakeup.notify)
    job = CountsReceipts(worker)
    loop = Loop(job, idle_seconds=POLL, wakeup=wakeup)
    listener.start()
    loop.start()
    try:
        job.wait_for("the first round", 0, timeout=10)
        with web.begin() as conn:  # e.g. a failover or an administrator's pg_terminate_backend
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query = :q AND datname = current_database()"
                ),
                {"q": f"LISTEN {RECEIPTS}"},
            ).scalar()
        assert killed == 1
        deadline = time.monotonic() + 10
        while listener.connections < 2:
            assert time.monotonic() < deadline, "the listener did not reconnect"
            time.sleep(0.05)
        time.sleep(0.3)
        asked = _append_through_writer(web)
        seen = job.wait_for("the receipt stored after the reconnection", 1, timeout=POLL)
        assert seen - asked < POLL - 1.0
    finally:
        loop.stop(10)
        listener.stop()


def test_sqlite_has_no_listener(tmp_path: Path) -> None:
    assert listener_for(f"sqlite:///{tmp_path}/x.db", RECEIPTS, Wakeup().notify) is None
