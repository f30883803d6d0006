"""Group commit for webhook receipts: concurrent requests share one durable transaction.

Request handlers hand (source, body) to `append()` and await the receipt id; a single writer thread
takes everything queued so far, inserts it in one transaction (one fsync), then answers them all.
Under load this turns thousands of small commits into a few large ones without delaying a lone request.
Each commit wakes the workers: `on_commit` in this process, a NOTIFY on PostgreSQL in every other.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from wacoex.store.engine import now_ms
from wacoex.store.ingress_priority import IngressPriority
from wacoex.store.notify import RECEIPTS, notify
from wacoex.store.receipts import append

log = logging.getLogger("wacoex.receipts")


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
        self.commits = 0
        self.appended = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wacoex-receipt-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

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
        try:
            with self._storing(), self._engine.begin() as conn:
                ids = append(conn, [(p.source, p.body, p.received_at) for p in batch])
                notify(conn, RECEIPTS)  # workers in other processes wake at the commit
        except Exception as exc:
            log.exception("could not store %d receipts", len(batch))
            for p in batch:
                p.loop.call_soon_threadsafe(_fail, p.future, exc)
            return
        self.commits += 1
        self.appended += len(batch)
        for p, rid in zip(batch, ids, strict=True):
            p.loop.call_soon_threadsafe(_resolve, p.future, rid)
        if self._on_commit is not None:
            self._on_commit()

    def _storing(self) -> AbstractContextManager[None]:
        return self._priority.storing() if self._priority is not None else nullcontext()


def _resolve(fut: asyncio.Future[int], value: int) -> None:
    if not fut.done():
        fut.set_result(value)


def _fail(fut: asyncio.Future[int], exc: Exception) -> None:
    if not fut.done():
        fut.set_exception(exc)
