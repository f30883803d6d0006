"""The one place concrete adapters are chosen and wired together."""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from wacoex.config import Settings
from wacoex.services.ingest import Ingest
from wacoex.services.media import MediaFetcher
from wacoex.services.reading import Reading
from wacoex.services.receipts import ReceiptProcessor, RetryPolicy
from wacoex.store.engine import make_engine, now_ms, upgrade
from wacoex.store.ingress_priority import IngressPriority
from wacoex.store.media import SqlMediaStore
from wacoex.store.reading import SqlReading
from wacoex.store.receipt_writer import ReceiptWriter
from wacoex.store.receipts import sql_receipt_peek
from wacoex.store.uow import sql_unit_of_work
from wacoex.whatsapp.bodies import parse_bytes
from wacoex.whatsapp.media_client import ProviderMediaSource

log = logging.getLogger("wacoex")


@dataclass
class Container:
    settings: Settings
    engine: Engine
    read_engine: Engine
    writer: ReceiptWriter
    processor: ReceiptProcessor
    media_store: SqlMediaStore
    media: MediaFetcher | None
    reading: Reading
    media_source: ProviderMediaSource | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _worker: threading.Thread | None = None
    _media_thread: threading.Thread | None = None
    media_wake: threading.Event = field(default_factory=threading.Event)

    def start_worker(self) -> None:
        """Apply receipts in this process (what `wacoex serve` does; `wacoex worker` runs it alone)."""
        if self._worker is None:
            self._stop.clear()
            self._worker = threading.Thread(target=self.run_worker, name="wacoex-worker", daemon=True)
            self._worker.start()
        self.start_media()

    def start_media(self) -> None:
        """Download media in a thread of its own (`serve` and `wacoex worker` both do)."""
        if self.media is not None and self._media_thread is None:
            self._stop.clear()
            self._media_thread = threading.Thread(target=self.run_media, name="wacoex-media", daemon=True)
            self._media_thread.start()

    def run_media(self) -> None:
        """Download pending media in its own thread, so slow downloads never delay applying receipts."""
        assert self.media is not None
        while not self._stop.is_set():
            try:
                result = self.media.run_once()
                busy = result.stored + result.failed > 0
            except Exception:
                log.exception("media fetch failed; retrying")
                busy = False
            if not busy:
                self.media_wake.wait(timeout=1.0)
                self.media_wake.clear()

    def run_worker(self) -> None:
        poll = self.settings.worker_poll_seconds
        while not self._stop.is_set():
            try:
                result = self.processor.run_once(self.settings.worker_batch)
            except Exception:
                log.exception("worker batch failed; retrying")
                result = None
            if result is not None and result.done:
                self.media_wake.set()
            if result is None or result.claimed == 0:
                self.wake.wait(timeout=max(poll, 0.01) if result is not None else 1.0)
                self.wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        self.media_wake.set()
        for thread in (self._worker, self._media_thread):
            if thread is not None:
                thread.join(timeout=30)
        self._worker = self._media_thread = None
        self.writer.stop()

    def dispose(self) -> None:
        self.stop()
        if self.media_source is not None:
            self.media_source.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def build(settings: Settings, *, migrate: bool = True) -> Container:
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    # On PostgreSQL one pool serves both; on SQLite API reads must not take the write lock.
    read_engine = make_engine(settings.database_url, read_only=True) if settings.is_sqlite else engine
    parse = functools.partial(parse_bytes, max_unknown=settings.max_unknown_per_receipt)
    ingest = Ingest(parse, fetch_media=settings.fetch_media, clock=now_ms)
    policy = RetryPolicy(max_attempts=settings.max_attempts, base_seconds=settings.retry_base_seconds)
    priority = IngressPriority.for_url(settings.database_url)
    processor = ReceiptProcessor(
        sql_unit_of_work(engine, priority),
        ingest,
        policy,
        now_ms,
        peek=sql_receipt_peek(read_engine),
        lock_budget=settings.apply_lock_budget_ms / 1000,
        yield_to=priority.waiting if priority is not None else None,
    )
    wake = threading.Event()
    writer = ReceiptWriter(engine, on_commit=wake.set, priority=priority)
    media_store = SqlMediaStore(engine, settings.media_dir, read_engine=read_engine)
    media = source = None
    if settings.fetch_media:
        source = ProviderMediaSource(settings.graph_base_url, settings.dialog360_base_url)
        media = MediaFetcher(media_store, source, now_ms)
    return Container(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        writer=writer,
        processor=processor,
        media_store=media_store,
        media=media,
        media_source=source,
        wake=wake,
        reading=Reading(SqlReading(engine, read_engine), now_ms, wake=wake.set),
    )
